/**
 * The lock manager: Firestore's pessimistic concurrency control for one database, in memory.
 *
 * - Document locks are shared (S, taken by reads in read-write transactions) or exclusive (X, taken
 *   by every write at commit). Readers never wait for readers; a write waits until every other
 *   holder of its documents has ended. A lock on a document that does not exist works the same, so
 *   it also blocks the document's creation.
 * - Waits are FIFO per document, except that a holder upgrading S → X goes ahead of newcomers
 *   (making it wait behind requests that wait for it would be a deadlock).
 * - Predicate locks (predicates.ts) are what queries in read-write transactions read. A writer that
 *   holds its X locks checks its before/after images against every other owner's predicates and,
 *   if covered, waits (a "write" wait) until those owners end (the transaction manager has it give
 *   up its X locks meanwhile). A query first waits (a "query" wait) for writers already waiting on
 *   predicates that it would block, so a stream of queries cannot starve them.
 * - One owner may wait for several things at once (parallel reads of one transaction); every wait
 *   is a separate waiter, and an owner that ends takes all of its waiters and locks with it.
 * - Deadlocks: only a new wait or a new predicate can close a cycle, and only through its owner, so
 *   then the wait-for graph (waiting owner → the owners that block it; a queue is a chain) is
 *   searched from that owner; the youngest abortable owner of a cycle is handed to `onDeadlock`,
 *   which must end it (`release`). Older transactions therefore always win.
 *
 * Grants only go to live owners (`isLive`); persistence, expiry and timeouts are the caller's job.
 */
import { type Image, imageMatches, type Predicate } from "./predicates.js";

export type Mode = "S" | "X";

export interface LockOwner {
  id: string;
  /** Smaller is older. Older owners win deadlocks. */
  age: number;
  /** False for plain (non-transactional) writes: they only ever wait, never lose a deadlock. */
  abortable: boolean;
}

export type Wait =
  | { kind: "doc"; path: string; mode: Mode }
  | { kind: "write"; images: readonly Image[] }
  | { kind: "query"; predicate: Predicate };

interface Waiter {
  seq: number;
  owner: LockOwner;
  wait: Wait;
  since: number;
  /** When the request behind this wait must be answered (the sweeper enforces it). */
  deadline: number;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export interface LockHooks {
  /** Whether an owner may still be granted anything. */
  isLive(ownerId: string): boolean;
  /** A document lock was granted (after the in-memory state changed). */
  onGrant(ownerId: string, path: string, mode: Mode): void;
  /** `victimId` is the youngest abortable owner of a deadlock cycle: end it (call `release`). */
  onDeadlock(victimId: string): void;
  /** The error for a waiter found orphaned (its owner is gone). */
  orphanError(ownerId: string): unknown;
  /** Something that should never happen was repaired. */
  warn(message: string): void;
}

/** A waiter as seen from outside (tests, the sweeper). */
export interface WaiterInfo {
  seq: number;
  owner: LockOwner;
  wait: Wait;
  since: number;
  deadline: number;
  blockers: string[];
}

function compatible(a: Mode, b: Mode): boolean {
  return a === "S" && b === "S";
}

export class LockManager {
  /** path → owner → mode. */
  private readonly docs = new Map<string, Map<string, Mode>>();
  /** path → the owner holding it exclusively. */
  private readonly exclusive = new Map<string, string>();
  /** owner → path → mode. */
  private readonly owned = new Map<string, Map<string, Mode>>();
  private readonly predicates = new Map<string, Predicate[]>();
  /** Document waits per path, in arrival order. */
  private readonly queues = new Map<string, Waiter[]>();
  /** Predicate waits ("write" and "query"), in arrival order. */
  private readonly others: Waiter[] = [];
  private readonly byOwner = new Map<string, Set<Waiter>>();
  private seq = 0;
  private pumping = false;
  private again = false;

  constructor(
    private readonly hooks: LockHooks,
    private readonly now: () => number = Date.now,
  ) {}

  // -- introspection -----------------------------------------------------------------------------

  modeOf(ownerId: string, path: string): Mode | undefined {
    return this.owned.get(ownerId)?.get(path);
  }

  /** Every (owner, path, mode) held. */
  holdings(): { owner: string; path: string; mode: Mode }[] {
    const out: { owner: string; path: string; mode: Mode }[] = [];
    for (const [owner, paths] of this.owned) for (const [path, mode] of paths) out.push({ owner, path, mode });
    return out;
  }

  predicatesOf(ownerId: string): readonly Predicate[] {
    return this.predicates.get(ownerId) ?? [];
  }

  /** Owners that hold a document lock or a predicate. */
  owners(): Set<string> {
    return new Set([...this.owned.keys(), ...this.predicates.keys()]);
  }

  /** Every waiter with the owners it waits for (all of them), oldest first. */
  waiting(): WaiterInfo[] {
    return this.allWaiters().map((w) => ({
      seq: w.seq,
      owner: w.owner,
      wait: w.wait,
      since: w.since,
      deadline: w.deadline,
      blockers: [...this.blockersOf(w)],
    }));
  }

  hasWaiters(): boolean {
    return this.byOwner.size > 0;
  }

  // -- requests ----------------------------------------------------------------------------------

  /**
   * Locks `path` in `mode` for `owner`. Returns null when granted at once (or already held in a
   * mode at least as strong); otherwise a promise settled when granted or when the owner ends.
   */
  acquire(owner: LockOwner, path: string, mode: Mode, deadline = Number.POSITIVE_INFINITY): Promise<void> | null {
    const held = this.modeOf(owner.id, path);
    if (held === "X" || held === mode) return null;
    return this.enqueue(owner, { kind: "doc", path, mode }, deadline);
  }

  /**
   * For a writer holding its X locks: the owners whose predicates cover one of the images (the
   * states before and after the write). Empty means the write may apply now.
   */
  writeBlockers(ownerId: string, images: readonly Image[]): Set<string> {
    const out = new Set<string>();
    for (const [other, preds] of this.predicates) {
      if (other === ownerId) continue;
      if (preds.some((p) => images.some((image) => imageMatches(p, image)))) out.add(other);
    }
    return out;
  }

  /** Waits until no other owner's predicate covers the images (see `writeBlockers`). */
  awaitPredicates(
    owner: LockOwner,
    images: readonly Image[],
    deadline = Number.POSITIVE_INFINITY,
  ): Promise<void> | null {
    return this.enqueue(owner, { kind: "write", images }, deadline);
  }

  /** Waits until no writer that is waiting on predicates (and not on `owner`) would be read by `predicate`. */
  awaitQueryTurn(owner: LockOwner, predicate: Predicate, deadline = Number.POSITIVE_INFINITY): Promise<void> | null {
    return this.enqueue(owner, { kind: "query", predicate }, deadline);
  }

  /** Records that `ownerId` read `predicate` (call synchronously with the read it covers). */
  addPredicate(ownerId: string, predicate: Predicate): void {
    this.restorePredicate(ownerId, predicate);
    // A new predicate can block a waiting writer, and so close a cycle through this owner.
    this.pump();
    this.breakDeadlocks(ownerId);
  }

  /** Records a lock held at startup (restored from storage). */
  restore(ownerId: string, path: string, mode: Mode): void {
    this.grant(ownerId, path, mode);
  }

  /** Records a predicate held at startup. */
  restorePredicate(ownerId: string, predicate: Predicate): void {
    const list = this.predicates.get(ownerId) ?? [];
    list.push(predicate);
    this.predicates.set(ownerId, list);
  }

  /** Rejects every pending wait of `ownerId` with `error`. */
  rejectWaiters(ownerId: string, error: unknown): void {
    const mine = this.byOwner.get(ownerId);
    if (!mine) return;
    for (const w of [...mine]) {
      this.remove(w);
      w.reject(error);
    }
    // A withdrawn waiter may have been ahead of others in a queue.
    this.pump();
  }

  /** Rejects one waiter (a timed-out request). */
  rejectWaiter(seq: number, error: unknown): void {
    const w = this.allWaiters().find((x) => x.seq === seq);
    if (!w) return;
    this.remove(w);
    w.reject(error);
    this.pump();
  }

  /** Releases every lock and predicate of `ownerId` and hands locks to the next waiters. */
  release(ownerId: string): void {
    const paths = this.owned.get(ownerId);
    this.predicates.delete(ownerId);
    for (const path of [...(paths?.keys() ?? [])]) this.unlock(ownerId, path);
    this.pump();
  }

  /** Sets `ownerId`'s lock on `path` back to `mode` (undefined: no lock) and hands it on. */
  downgrade(ownerId: string, path: string, mode: Mode | undefined): void {
    if (mode !== undefined) this.grant(ownerId, path, mode);
    else this.unlock(ownerId, path);
    this.pump();
  }

  /** Forgets every lock, predicate and waiter (rejecting the waiters with `error`). */
  clear(error: unknown): void {
    for (const w of this.allWaiters()) {
      this.remove(w);
      w.reject(error);
    }
    this.docs.clear();
    this.exclusive.clear();
    this.owned.clear();
    this.predicates.clear();
  }

  // -- internals ---------------------------------------------------------------------------------

  private allWaiters(): Waiter[] {
    const all = [...this.others];
    for (const queue of this.queues.values()) all.push(...queue);
    return all.sort((a, b) => a.seq - b.seq);
  }

  private enqueue(owner: LockOwner, wait: Wait, deadline: number): Promise<void> | null {
    const waiter: Waiter = {
      seq: ++this.seq,
      owner,
      wait,
      since: this.now(),
      deadline,
      resolve: () => {},
      reject: () => {},
    };
    if (this.blockersOf(waiter).size === 0) {
      this.grantWaiter(waiter);
      return null;
    }
    const promise = new Promise<void>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    if (wait.kind === "doc") {
      const queue = this.queues.get(wait.path) ?? [];
      queue.push(waiter);
      this.queues.set(wait.path, queue);
    } else {
      this.others.push(waiter);
    }
    const mine = this.byOwner.get(owner.id) ?? new Set();
    mine.add(waiter);
    this.byOwner.set(owner.id, mine);
    // Only a new wait (or a new predicate) can close a cycle, and only through its owner.
    this.breakDeadlocks(owner.id);
    return promise;
  }

  private remove(w: Waiter): void {
    if (w.wait.kind === "doc") {
      const queue = this.queues.get(w.wait.path);
      const i = queue?.indexOf(w) ?? -1;
      if (queue && i >= 0) queue.splice(i, 1);
      if (queue?.length === 0) this.queues.delete(w.wait.path);
    } else {
      const i = this.others.indexOf(w);
      if (i >= 0) this.others.splice(i, 1);
    }
    const mine = this.byOwner.get(w.owner.id);
    mine?.delete(w);
    if (mine?.size === 0) this.byOwner.delete(w.owner.id);
  }

  private grant(ownerId: string, path: string, mode: Mode): void {
    let holders = this.docs.get(path);
    if (!holders) {
      holders = new Map();
      this.docs.set(path, holders);
    }
    holders.set(ownerId, mode);
    if (mode === "X") this.exclusive.set(path, ownerId);
    else if (this.exclusive.get(path) === ownerId) this.exclusive.delete(path);
    let paths = this.owned.get(ownerId);
    if (!paths) {
      paths = new Map();
      this.owned.set(ownerId, paths);
    }
    paths.set(path, mode);
  }

  private unlock(ownerId: string, path: string): void {
    const paths = this.owned.get(ownerId);
    paths?.delete(path);
    if (paths?.size === 0) this.owned.delete(ownerId);
    const holders = this.docs.get(path);
    holders?.delete(ownerId);
    if (holders?.size === 0) this.docs.delete(path);
    if (this.exclusive.get(path) === ownerId) this.exclusive.delete(path);
  }

  private grantWaiter(w: Waiter): void {
    if (w.wait.kind === "doc") {
      this.grant(w.owner.id, w.wait.path, w.wait.mode);
      this.hooks.onGrant(w.owner.id, w.wait.path, w.wait.mode);
    }
    w.resolve();
  }

  /** Whether a holder other than `self` holds `path` in a mode incompatible with `mode`. */
  private heldAgainst(path: string, self: string, mode: Mode): boolean {
    if (mode === "S") {
      const x = this.exclusive.get(path);
      return x !== undefined && x !== self;
    }
    const holders = this.docs.get(path);
    return holders !== undefined && (holders.size > 1 || (holders.size === 1 && !holders.has(self)));
  }

  /** A path's queue in priority order: upgrades (owners already holding the path) first. */
  private prioritized(path: string): Waiter[] {
    const queue = this.queues.get(path) ?? [];
    const upgrading = (w: Waiter) => this.modeOf(w.owner.id, path) !== undefined;
    return [...queue.filter(upgrading), ...queue.filter((w) => !upgrading(w))];
  }

  /** The owners `w` waits for: every incompatible holder and every incompatible waiter ahead. */
  private blockersOf(w: Waiter): Set<string> {
    const self = w.owner.id;
    switch (w.wait.kind) {
      case "doc": {
        const { path, mode } = w.wait;
        const out = new Set<string>();
        for (const [holder, held] of this.docs.get(path) ?? []) {
          if (holder !== self && !compatible(held, mode)) out.add(holder);
        }
        const order = this.prioritized(path);
        const mine = order.indexOf(w);
        // A waiter not queued yet (being enqueued) comes last among its kind (upgrade or not).
        const upgrading = (v: Waiter) => this.modeOf(v.owner.id, path) !== undefined;
        const ahead = mine >= 0 ? order.slice(0, mine) : upgrading(w) ? order.filter(upgrading) : order;
        for (const v of ahead) {
          const vm = (v.wait as { mode: Mode }).mode;
          if (v.owner.id !== self && !compatible(vm, mode)) out.add(v.owner.id);
        }
        return out;
      }
      case "write":
        return this.writeBlockers(self, w.wait.images);
      case "query":
        return this.queryBlockers(self, w.wait.predicate);
    }
  }

  private queryBlockers(self: string, predicate: Predicate): Set<string> {
    const out = new Set<string>();
    for (const v of this.others) {
      if (v.wait.kind !== "write" || v.owner.id === self) continue;
      const images = v.wait.images;
      if (!images.some((image) => imageMatches(predicate, image))) continue;
      // A writer that already waits for us keeps waiting: going first cannot hurt it.
      if (this.writeBlockers(v.owner.id, images).has(self)) continue;
      out.add(v.owner.id);
    }
    return out;
  }

  /**
   * The owners `w` waits for, as edges of the wait-for graph: like `blockersOf`, but of the
   * waiters ahead in its queue only those back to the nearest incompatible exclusive one (which
   * itself waits for everything ahead of it), so a long queue is a chain, not a clique.
   */
  private edgesOf(w: Waiter, orders: Map<string, { order: Waiter[]; index: Map<Waiter, number> }>): Set<string> {
    if (w.wait.kind !== "doc") return this.blockersOf(w);
    const { path, mode } = w.wait;
    const self = w.owner.id;
    const out = new Set<string>();
    if (mode === "S") {
      const x = this.exclusive.get(path);
      if (x !== undefined) out.add(x);
    } else {
      for (const holder of this.docs.get(path)?.keys() ?? []) out.add(holder);
    }
    let cached = orders.get(path);
    if (!cached) {
      const order = this.prioritized(path);
      cached = { order, index: new Map(order.map((v, i) => [v, i])) };
      orders.set(path, cached);
    }
    const { order } = cached;
    for (let i = (cached.index.get(w) ?? 0) - 1; i >= 0; i--) {
      const v = order[i] as Waiter;
      const vm = (v.wait as { mode: Mode }).mode;
      if (!compatible(vm, mode)) out.add(v.owner.id);
      if (vm === "X") break;
    }
    out.delete(self);
    return out;
  }

  /** Grants what can be granted, in queue order, until nothing changes. */
  private pump(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        for (const path of [...this.queues.keys()]) this.pumpPath(path);
        for (const w of [...this.others]) {
          if (!this.others.includes(w)) continue;
          if (!this.hooks.isLive(w.owner.id)) this.withdraw(w);
          else if (this.blockersOf(w).size === 0) {
            this.remove(w);
            this.grantWaiter(w);
          } else continue;
          // A writer gone from the list can unblock a query that came before it: walk again.
          this.again = true;
        }
      } while (this.again);
    } finally {
      this.pumping = false;
    }
  }

  /** Walks one document's queue in priority order, granting every waiter nothing blocks. */
  private pumpPath(path: string): void {
    // Owners with a waiter earlier in the walk (any mode / exclusive), which later ones queue behind.
    const aheadAll = new Set<string>();
    const aheadX = new Set<string>();
    const other = (set: Set<string>, self: string) => set.size > 1 || (set.size === 1 && !set.has(self));
    for (const w of this.prioritized(path)) {
      if (w.wait.kind !== "doc") continue;
      const self = w.owner.id;
      if (!this.hooks.isLive(self)) {
        this.withdraw(w);
        continue;
      }
      const { mode } = w.wait;
      const blocked =
        this.heldAgainst(path, self, mode) || (mode === "X" ? other(aheadAll, self) : other(aheadX, self));
      if (blocked) {
        aheadAll.add(self);
        if (mode === "X") aheadX.add(self);
        continue;
      }
      this.remove(w);
      this.grantWaiter(w);
    }
  }

  private withdraw(w: Waiter): void {
    this.remove(w);
    this.hooks.warn(`lock waiter of ended owner ${w.owner.id} withdrawn`);
    w.reject(this.hooks.orphanError(w.owner.id));
  }

  /** Aborts the youngest abortable owner of every wait-for cycle through `start`. */
  private breakDeadlocks(start: string): void {
    for (let guard = 0; guard < 1000; guard++) {
      const cycle = this.cycleThrough(start);
      if (!cycle) return;
      const owners = new Map<string, LockOwner>();
      for (const w of this.allWaiters()) owners.set(w.owner.id, w.owner);
      let victim: LockOwner | undefined;
      for (const id of cycle) {
        const o = owners.get(id);
        if (
          o?.abortable &&
          (victim === undefined || o.age > victim.age || (o.age === victim.age && o.id > victim.id))
        ) {
          victim = o;
        }
      }
      if (!victim) {
        // Only plain writes in the cycle: impossible (they lock in path order and read nothing).
        // Break it anyway rather than hang: the newest of them gives up.
        this.hooks.warn(`deadlock among non-abortable owners ${cycle.join(", ")}`);
        victim = owners.get(cycle[cycle.length - 1] as string);
        if (!victim) return;
      }
      this.hooks.onDeadlock(victim.id);
      if (victim.id === start) return;
    }
  }

  /** A cycle of the wait-for graph through `start` (its owners, starting with `start`), or null. */
  private cycleThrough(start: string): string[] | null {
    // Queue orders are computed once per search: the graph does not change during it.
    const orders = new Map<string, { order: Waiter[]; index: Map<Waiter, number> }>();
    const edges = (owner: string): Set<string> => {
      const out = new Set<string>();
      for (const w of this.byOwner.get(owner) ?? []) for (const b of this.edgesOf(w, orders)) out.add(b);
      return out;
    };
    const parent = new Map<string, string>();
    const seen = new Set<string>([start]);
    const stack = [start];
    while (stack.length > 0) {
      const node = stack.pop() as string;
      for (const next of edges(node)) {
        if (next === start) {
          const cycle = [node];
          while (cycle[0] !== start) cycle.unshift(parent.get(cycle[0] as string) as string);
          return cycle;
        }
        if (seen.has(next) || !this.byOwner.has(next)) continue;
        seen.add(next);
        parent.set(next, node);
        stack.push(next);
      }
    }
    return null;
  }
}
