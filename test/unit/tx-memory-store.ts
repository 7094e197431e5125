/** An in-memory TxStore, so the transaction manager runs in plain Node (restarts share the store). */
import type { Mode } from "../../durable-objects/database/locks.js";
import type { Predicate } from "../../durable-objects/database/predicates.js";
import type { StoredTransaction, TxStore } from "../../durable-objects/database/tx-store.js";

export class MemoryTxStore implements TxStore {
  readonly transactions = new Map<string, StoredTransaction>();
  readonly locks = new Map<string, Mode>(); // `${tx}\n${path}` → mode
  readonly predicates: { tx: string; predicate: Predicate }[] = [];

  load(): ReturnType<TxStore["load"]> {
    return {
      transactions: [...this.transactions.values()].map((t) => ({ ...t })),
      locks: [...this.locks].map(([key, mode]) => {
        const [tx = "", path = ""] = key.split("\n");
        return { tx, path, mode };
      }),
      predicates: this.predicates.map((p) => ({ ...p })),
    };
  }

  insert(id: string, started: number, lastActive: number): void {
    this.transactions.set(id, { id, started, lastActive, aborted: null });
  }

  touch(id: string, lastActive: number): void {
    const t = this.transactions.get(id);
    if (t && t.aborted === null) t.lastActive = lastActive;
  }

  addLock(id: string, path: string, mode: Mode): void {
    this.locks.set(`${id}\n${path}`, mode);
  }

  removeLock(id: string, path: string): void {
    this.locks.delete(`${id}\n${path}`);
  }

  addPredicate(id: string, predicate: Predicate): void {
    this.predicates.push({ tx: id, predicate });
  }

  end(id: string, aborted: { message: string; at: number } | null): void {
    for (const key of [...this.locks.keys()]) if (key.startsWith(`${id}\n`)) this.locks.delete(key);
    for (let i = this.predicates.length - 1; i >= 0; i--)
      if (this.predicates[i]?.tx === id) this.predicates.splice(i, 1);
    const t = this.transactions.get(id);
    if (aborted && t) Object.assign(t, { aborted: aborted.message, lastActive: aborted.at });
    else this.transactions.delete(id);
  }

  forget(id: string): void {
    if (this.transactions.get(id)?.aborted !== null) this.transactions.delete(id);
  }

  clear(): void {
    this.locks.clear();
    this.predicates.length = 0;
  }
}
