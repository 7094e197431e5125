/**
 * Where the transaction manager persists open read-write transactions, their document locks and
 * their predicate locks, so that a restart or an eviction of the Durable Object neither loses a
 * transaction nor lets a writer slip past what it read. An interface, so the lock model test can
 * run the same manager over an in-memory store in plain Node.
 */
import type { Mode } from "./locks.js";
import type { Predicate } from "./predicates.js";

export interface StoredTransaction {
  id: string;
  /** The transaction's age (a retry inherits its predecessor's). */
  started: number;
  lastActive: number;
  /** Set once it was aborted (kept for a while so its next request hears ABORTED). */
  aborted: string | null;
}

export interface TxStore {
  load(): {
    transactions: StoredTransaction[];
    locks: { tx: string; path: string; mode: Mode }[];
    predicates: { tx: string; predicate: Predicate }[];
  };
  insert(id: string, started: number, lastActive: number): void;
  touch(id: string, lastActive: number): void;
  addLock(id: string, path: string, mode: Mode): void;
  removeLock(id: string, path: string): void;
  addPredicate(id: string, predicate: Predicate): void;
  /** Drops the locks and predicates of `id`, then marks it aborted (message) or deletes it (null). */
  end(id: string, aborted: { message: string; at: number } | null): void;
  /** Deletes an aborted transaction's row (its tombstone expired). */
  forget(id: string): void;
  /** Drops every lock and predicate. */
  clear(): void;
}

/** The Durable Object's SQLite tables `transactions`, `transaction_locks`, `transaction_predicates`. */
export class SqlTxStore implements TxStore {
  private predicateSeq = 0;

  constructor(private readonly sql: SqlStorage) {}

  load(): ReturnType<TxStore["load"]> {
    const transactions = this.sql
      .exec("SELECT id, started, last_active, aborted FROM transactions")
      .toArray()
      .map((r) => ({
        id: String(r.id),
        started: Number(r.started),
        lastActive: Number(r.last_active),
        aborted: r.aborted === null ? null : String(r.aborted),
      }));
    const locks = this.sql
      .exec("SELECT tx, path, mode FROM transaction_locks")
      .toArray()
      .map((r) => ({ tx: String(r.tx), path: String(r.path), mode: (r.mode === "X" ? "X" : "S") as Mode }));
    const predicates = this.sql
      .exec("SELECT tx, seq, predicate FROM transaction_predicates ORDER BY tx, seq")
      .toArray()
      .map((r) => {
        this.predicateSeq = Math.max(this.predicateSeq, Number(r.seq));
        return { tx: String(r.tx), predicate: JSON.parse(String(r.predicate)) as Predicate };
      });
    return { transactions, locks, predicates };
  }

  insert(id: string, started: number, lastActive: number): void {
    this.sql.exec("INSERT INTO transactions (id, started, last_active) VALUES (?, ?, ?)", id, started, lastActive);
  }

  touch(id: string, lastActive: number): void {
    this.sql.exec("UPDATE transactions SET last_active = ? WHERE id = ? AND aborted IS NULL", lastActive, id);
  }

  addLock(id: string, path: string, mode: Mode): void {
    this.sql.exec("INSERT OR REPLACE INTO transaction_locks (tx, path, mode) VALUES (?, ?, ?)", id, path, mode);
  }

  removeLock(id: string, path: string): void {
    this.sql.exec("DELETE FROM transaction_locks WHERE tx = ? AND path = ?", id, path);
  }

  addPredicate(id: string, predicate: Predicate): void {
    this.sql.exec(
      "INSERT INTO transaction_predicates (tx, seq, predicate) VALUES (?, ?, ?)",
      id,
      ++this.predicateSeq,
      JSON.stringify(predicate),
    );
  }

  end(id: string, aborted: { message: string; at: number } | null): void {
    this.sql.exec("DELETE FROM transaction_locks WHERE tx = ?", id);
    this.sql.exec("DELETE FROM transaction_predicates WHERE tx = ?", id);
    if (aborted) {
      this.sql.exec(
        "UPDATE transactions SET aborted = ?, last_active = ? WHERE id = ?",
        aborted.message,
        aborted.at,
        id,
      );
    } else {
      this.sql.exec("DELETE FROM transactions WHERE id = ?", id);
    }
  }

  forget(id: string): void {
    this.sql.exec("DELETE FROM transactions WHERE id = ? AND aborted IS NOT NULL", id);
  }

  clear(): void {
    this.sql.exec("DELETE FROM transaction_locks");
    this.sql.exec("DELETE FROM transaction_predicates");
  }
}
