/**
 * A randomized model-based test of the transaction manager and its lock manager: many clients run
 * read-write transactions (several concurrent reads per transaction, queries under predicate locks,
 * commits), plain writes, rollbacks in the middle of pending reads, clock jumps past every limit,
 * sweeps and restarts (a new manager over the same persisted store; requests in flight die with
 * the old one). After every step the invariants are checked:
 * - every held lock, predicate and waiter belongs to a live owner (an open transaction, or a
 *   plain write with a live request), and every waiter to a live request;
 * - nobody waits on a free lock (every waiter has a blocker); document modes are compatible;
 * - waits are FIFO per document (no later incompatible waiter is granted before an earlier one);
 * - no deadlock survives a step (the wait-for graph is acyclic);
 * - what is persisted equals what is held.
 * Safety: counters incremented by read-modify-write transactions lose no update, and a capacity
 * rule checked by a query (at most CAPACITY documents in a collection) is never broken by phantoms.
 * Liveness: once the clients stop, every request is answered and every lock is free within the
 * idle limits.
 */
import { describe, expect, it } from "vitest";
import { type Image, scopePredicate } from "../../durable-objects/database/predicates.js";
import {
  LOCK_WAIT_MS,
  type Transaction,
  TransactionManager,
  TX_IDLE_MS,
  TX_MAX_LIFETIME_MS,
  type WriteHandle,
} from "../../durable-objects/database/transactions.js";
import { Rng } from "../workers/query-random/prng.js";
import { MemoryTxStore } from "./tx-memory-store.js";

const COUNTERS = ["c/a", "c/b", "c/c", "c/d", "c/e"];
const CAPACITY = 3;
const NAME = (path: string) => `projects/p/databases/(default)/documents/${path}`;

interface Request {
  owner: string;
  gen: number;
  settled: boolean;
}

class Model {
  readonly store = new MemoryTxStore();
  now = 1_000_000;
  gen = 0;
  tm!: TransactionManager;
  /** The "database": counter values and the members of the capacity-limited collection `q`. */
  readonly counters = new Map<string, number>(COUNTERS.map((p) => [p, 0]));
  readonly members = new Set<string>();
  committedIncrements = new Map<string, number>(COUNTERS.map((p) => [p, 0]));
  readonly txIds: string[] = [];
  readonly requests: Request[] = [];
  steps = 0;
  warnings: string[] = [];
  private nextMember = 0;

  constructor(readonly random: () => number) {
    this.restart();
  }

  restart(): void {
    this.gen++;
    for (const r of this.requests) r.settled = true; // they died with the process
    this.tm = new TransactionManager(this.store, {
      now: () => this.now,
      autoSweep: false,
      log: (m) => this.warnings.push(m),
    });
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.random() * xs.length)] as T;
  }

  private track(owner: string, fn: () => Promise<unknown>): void {
    const req: Request = { owner, gen: this.gen, settled: false };
    this.requests.push(req);
    fn().then(
      () => (req.settled = true),
      () => (req.settled = true),
    );
  }

  private liveTx(): Transaction | undefined {
    const open = this.txIds.filter((id) => this.tm.isActive(id));
    if (open.length === 0) return undefined;
    try {
      return this.tm.get(this.pick(open));
    } catch {
      return undefined; // expired since the last sweep: `get` just ended it
    }
  }

  begin(): void {
    const retry = this.txIds.length && this.random() < 0.3 ? this.pick(this.txIds) : undefined;
    const tx = this.tm.begin({ readOnly: false, retryTransaction: retry });
    this.txIds.push(tx.id);
    if (this.txIds.length > 40) this.txIds.shift();
  }

  /** What each transaction's client has read so far (its commit writes from this). */
  private readonly seen = new Map<string, { counters: Map<string, number>; members?: number }>();

  private client(id: string) {
    let c = this.seen.get(id);
    if (!c) {
      c = { counters: new Map() };
      this.seen.set(id, c);
    }
    return c;
  }

  /** Reads (like the server SDK's parallel `tx.get`s: one request per document, all at once). */
  read(): void {
    const tx = this.liveTx();
    if (!tx) return;
    const n = 1 + Math.floor(this.random() * 3);
    const tm = this.tm; // a request only ever talks to the process it started in
    for (let i = 0; i < n; i++) {
      const path = this.pick(COUNTERS);
      this.track(tx.id, async () => {
        await tm.run(tx, () => tm.lockRead(tx, [path]));
        this.client(tx.id).counters.set(path, this.counters.get(path) as number);
      });
    }
  }

  /** A query under a predicate lock: how many members `q` has. */
  query(): void {
    const tx = this.liveTx();
    if (!tx) return;
    const scope = scopePredicate("", "q", false);
    const tm = this.tm;
    this.track(tx.id, async () => {
      const count = await tm.run(tx, () =>
        tm.lockQuery(tx, scope, () => ({ value: this.members.size, predicate: () => scope })),
      );
      this.client(tx.id).members = count;
    });
  }

  /**
   * Commits what the client read: every counter it read, incremented from the value it saw, and
   * a new member of `q` if its query saw room for one. Later than the reads, as real clients are.
   */
  transaction(): void {
    const tx = this.liveTx();
    if (!tx) return;
    const gen = this.gen;
    const tm = this.tm;
    const client = this.client(tx.id);
    const increments = [...client.counters];
    const member = client.members !== undefined && client.members < CAPACITY ? `q/m${this.nextMember++}` : undefined;
    const paths = increments.map(([p]) => p);
    const images: Image[] = increments.map(([p]) => ({ path: p, name: NAME(p), fields: {} }));
    if (member) {
      paths.push(member);
      images.push({ path: member, name: NAME(member), fields: null }, { path: member, name: NAME(member), fields: {} });
    }
    this.track(tx.id, () =>
      this.commit(
        tm,
        tx,
        paths,
        images,
        () => {
          for (const [p, v] of increments) {
            this.counters.set(p, v + 1);
            this.committedIncrements.set(p, (this.committedIncrements.get(p) as number) + 1);
          }
          if (member) this.members.add(member);
        },
        gen,
      ),
    );
  }

  private async commit(
    tm: TransactionManager,
    tx: Transaction,
    paths: string[],
    images: Image[],
    apply: () => void,
    gen: number,
  ) {
    tm.claimCommit(tx);
    try {
      await tm.run(tx, async () => {
        const handle = await tm.beginWrite(tx, paths);
        await this.gate(tm, handle, images);
        // As in the Durable Object: check, apply and end in one synchronous step.
        tm.ensureActive(handle.owner);
        if (gen === this.gen) apply();
        tm.end(tx.id);
      });
    } finally {
      tm.end(tx.id);
    }
  }

  /** Like the Durable Object: waits while predicates block, re-checking after each wait. */
  private async gate(tm: TransactionManager, handle: WriteHandle, images: Image[]): Promise<void> {
    while (tm.writeBlocked(handle, images)) await tm.awaitPredicates(handle, images);
  }

  /** A plain write (an atomic server-side increment: it reads nothing). */
  plainWrite(): void {
    const path = this.pick(COUNTERS);
    const gen = this.gen;
    const tm = this.tm;
    this.track("plain", async () => {
      const handle = await tm.beginWrite(null, [path]);
      try {
        await this.gate(tm, handle, [{ path, name: NAME(path), fields: {} }]);
        if (gen === this.gen) {
          this.counters.set(path, (this.counters.get(path) as number) + 1);
          this.committedIncrements.set(path, (this.committedIncrements.get(path) as number) + 1);
        }
      } finally {
        tm.finishWrite(handle);
      }
    });
  }

  rollback(): void {
    const tx = this.liveTx();
    if (tx) this.tm.end(tx.id); // even while its reads are pending
  }

  advance(): void {
    const r = this.random();
    const jumps = [0, 10, 500, 1_500, 16_000, TX_IDLE_MS + 1, LOCK_WAIT_MS + 1, TX_MAX_LIFETIME_MS + 1];
    this.now += r < 0.9 ? this.pick(jumps.slice(0, 4)) : this.pick(jumps);
    this.tm.sweep();
  }

  /** The invariants that must hold after every step. */
  check(before: Before): void {
    const { tm } = this;
    const open = tm.openTransactions();
    const liveRequests = this.requests.filter((r) => !r.settled && r.gen === this.gen);
    const plainRequests = liveRequests.filter((r) => r.owner === "plain").length;
    const isLive = (id: string) => open.has(id) || (id.startsWith("write:") && plainRequests > 0);
    const plainOwners = new Set([...tm.locks.owners()].filter((id) => id.startsWith("write:")));
    for (const w of tm.locks.waiting()) if (w.owner.id.startsWith("write:")) plainOwners.add(w.owner.id);
    expect(plainOwners.size, "plain-write owners without a live request").toBeLessThanOrEqual(plainRequests);
    const holdings = tm.locks.holdings();
    for (const h of holdings) {
      expect(isLive(h.owner), `lock on ${h.path} held by ended ${h.owner}`).toBe(true);
    }
    for (const id of tm.locks.owners()) expect(isLive(id), `predicate/lock of ended ${id}`).toBe(true);
    const byPath = new Map<string, string[]>();
    for (const h of holdings) byPath.set(h.path, [...(byPath.get(h.path) ?? []), h.mode]);
    for (const [path, modes] of byPath) {
      if (modes.includes("X")) expect(modes, `incompatible holders of ${path}`).toHaveLength(1);
    }
    const waiting = tm.locks.waiting();
    const perOwner = new Map<string, number>();
    for (const w of waiting) {
      expect(isLive(w.owner.id), `waiter of ended ${w.owner.id}`).toBe(true);
      expect(w.blockers.length, `waiter ${w.seq} of ${w.owner.id} waits on nothing`).toBeGreaterThan(0);
      perOwner.set(w.owner.id, (perOwner.get(w.owner.id) ?? 0) + 1);
    }
    // No deadlock survives a step: the wait-for graph (owner → owners it waits for) is acyclic.
    const edges = new Map<string, Set<string>>();
    for (const w of waiting) {
      const out = edges.get(w.owner.id) ?? new Set<string>();
      for (const b of w.blockers) out.add(b);
      edges.set(w.owner.id, out);
    }
    const state = new Map<string, number>();
    const visit = (node: string): void => {
      state.set(node, 1);
      for (const next of edges.get(node) ?? []) {
        if (state.get(next) === 1) expect.fail(`deadlock left standing: ${node} → ${next}`);
        if (!state.has(next)) visit(next);
      }
      state.set(node, 2);
    };
    for (const node of edges.keys()) if (!state.has(node)) visit(node);
    for (const [ownerId, n] of perOwner) {
      const requests = ownerId.startsWith("write:")
        ? liveRequests.filter((r) => r.owner === "plain").length
        : liveRequests.filter((r) => r.owner === ownerId).length;
      expect(n, `${ownerId} has more waiters than live requests`).toBeLessThanOrEqual(requests);
    }
    // FIFO: a doc waiter granted in this step (gone while its owner lives) had no earlier,
    // incompatible, non-upgrading waiter on the same document that is still waiting.
    const still = new Set(waiting.map((w) => w.seq));
    const heldBefore = (owner: string, path: string) =>
      before.holdings.some((h) => h.owner === owner && h.path === path);
    for (const w of before.waiting) {
      if (w.wait.kind !== "doc" || still.has(w.seq)) continue;
      const path = w.wait.path;
      if (tm.locks.modeOf(w.owner.id, path) !== w.wait.mode) continue; // withdrawn, not granted
      const upgrading = heldBefore(w.owner.id, path);
      for (const v of before.waiting) {
        if (!still.has(v.seq) || v.wait.kind !== "doc" || v.wait.path !== path || v.owner.id === w.owner.id) continue;
        if (v.wait.mode === "S" && w.wait.mode === "S") continue;
        const vUpgrading = heldBefore(v.owner.id, path);
        const ahead = vUpgrading !== upgrading ? vUpgrading : v.seq < w.seq;
        if (ahead) expect.fail(`waiter ${w.seq} on ${path} granted before waiter ${v.seq}, which was ahead`);
      }
    }
    // Persistence mirrors memory for transactions.
    const persisted = [...this.store.locks.keys()].sort();
    const held = holdings
      .filter((h) => open.has(h.owner))
      .map((h) => `${h.owner}\n${h.path}`)
      .sort();
    expect(persisted).toEqual(held);
    expect(this.store.predicates.length).toBe(
      [...open.keys()].reduce((n, id) => n + tm.locks.predicatesOf(id).length, 0),
    );
    // Safety.
    for (const p of COUNTERS) expect(this.counters.get(p)).toBe(this.committedIncrements.get(p));
    expect(this.members.size).toBeLessThanOrEqual(CAPACITY);
  }
}

interface Before {
  waiting: ReturnType<TransactionManager["locks"]["waiting"]>;
  holdings: ReturnType<TransactionManager["locks"]["holdings"]>;
}

const flush = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

async function runModel(seed: number, steps: number): Promise<Model> {
  const rng = new Rng(seed);
  const m = new Model(() => rng.next());
  for (let i = 0; i < steps; i++) {
    const before: Before = { waiting: m.tm.locks.waiting(), holdings: m.tm.locks.holdings() };
    const r = m.random();
    if (r < 0.12) m.begin();
    else if (r < 0.3) m.read();
    else if (r < 0.4) m.query();
    else if (r < 0.6) m.transaction();
    else if (r < 0.7) m.plainWrite();
    else if (r < 0.76) m.rollback();
    else if (r < 0.995) m.advance();
    else m.restart();
    await flush();
    m.steps++;
    try {
      m.check(before);
    } catch (e) {
      throw new Error(`seed ${seed}, step ${i}: ${(e as Error).message}`);
    }
    // The members collection drains now and then, so inserts keep competing.
    if (m.members.size === CAPACITY && m.random() < 0.05) m.members.clear();
  }
  // The clients stop: every request is answered, then every lock frees within the idle limits.
  const stopped = m.now;
  while (m.requests.some((r) => !r.settled && r.gen === m.gen)) {
    m.now += 1_000;
    m.tm.sweep();
    await flush();
    expect(m.now - stopped, "a request still waits").toBeLessThanOrEqual(LOCK_WAIT_MS + 2_000);
  }
  const answered = m.now;
  while (m.tm.locks.owners().size > 0 || m.tm.openTransactions().size > 0) {
    m.now += 1_000;
    m.tm.sweep();
    await flush();
    expect(m.now - answered, "locks outlive the idle limit").toBeLessThanOrEqual(TX_IDLE_MS + 1_000);
  }
  expect(m.tm.locks.hasWaiters()).toBe(false);
  expect(m.store.locks.size).toBe(0);
  expect(m.store.predicates).toHaveLength(0);
  return m;
}

describe("lock model (randomized)", () => {
  // LOCK_MODEL_SEEDS / LOCK_MODEL_STEPS run it longer; LOCK_MODEL_FIRST_SEED picks where to start.
  const seeds = Number(process.env.LOCK_MODEL_SEEDS ?? 12);
  const steps = Number(process.env.LOCK_MODEL_STEPS ?? 2_500);
  const first = Number(process.env.LOCK_MODEL_FIRST_SEED ?? 1);
  it(
    `keeps every invariant over ${seeds} seeds × ${steps} steps, and frees everything when clients stop`,
    async () => {
      let total = 0;
      for (let seed = first; seed < first + seeds; seed++) {
        const m = await runModel(seed * 7919, steps);
        total += m.steps;
        expect(m.warnings, `seed ${seed}`).toEqual([]);
      }
      expect(total).toBe(seeds * steps);
    },
    Math.max(120_000, seeds * steps * 0.2),
  );
});
