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
 *   holds its X locks checks its before/after images against every other owner's predicates and
 *   waits (a "write" wait) until those owners end. A query first waits (a "query" wait) for writers
 *   already waiting on predicates that it would block, so a stream of queries cannot starve them.
 * - One owner may wait for several things at once (parallel reads of one transaction); every wait
 *   is a separate waiter, and an owner that ends takes all of its waiters and locks with it.
 * - Deadlocks: after every change, the wait-for graph (waiting owner → the owners that block it) is
 *   searched for a cycle; the youngest abortable owner in it is handed to `onDeadlock`, which must
 *   end it (`release`). Older transactions therefore always win.
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
  /** owner → path → mode. */
  private readonly owned = new Map<string, Map<string, Mode>>();
  private readonly predicates = new Map<string, Predicate[]>();
  private readonly waiters: Waiter[] = [];
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

  holdersOf(path: string): ReadonlyMap<string, Mode> {
    return this.docs.get(path) ?? new Map();
  }

  predicatesOf(ownerId: string): readonly Predicate[] {
    return this.predicates.get(ownerId) ?? [];
  }

  /** Owners that hold a document lock or a predicate. */
  owners(): Set<string> {
    return new Set([...this.owned.keys(), ...this.predicates.keys()]);
  }

  waiting(): WaiterInfo[] {
    return this.waiters.map((w) => ({
      seq: w.seq,
      owner: w.owner,
      wait: w.wait,
      since: w.since,
      deadline: w.deadline,
      blockers: [...this.blockersOf(w)],
    }));
  }

  hasWaiters(): boolean {
    return this.waiters.length > 0;
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
    const list = this.predicates.get(ownerId) ?? [];
    list.push(predicate);
    this.predicates.set(ownerId, list);
    // A new predicate can block a waiting writer, and so close a cycle.
    this.pump();
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
    this.settle((w) => w.owner.id === ownerId, error);
  }

  /** Rejects one waiter (a timed-out request). */
  rejectWaiter(seq: number, error: unknown): void {
    this.settle((w) => w.seq === seq, error);
  }

  /** Releases every lock and predicate of `ownerId` and hands locks to the next waiters. */
  release(ownerId: string): void {
    const paths = this.owned.get(ownerId);
    this.owned.delete(ownerId);
    this.predicates.delete(ownerId);
    for (const path of paths?.keys() ?? []) {
      const holders = this.docs.get(path);
      holders?.delete(ownerId);
      if (holders?.size === 0) this.docs.delete(path);
    }
    this.pump();
  }

  /** Sets `ownerId`'s lock on `path` back to `mode` (undefined: no lock) and hands it on. */
  downgrade(ownerId: string, path: string, mode: Mode | undefined): void {
    if (mode !== undefined) {
      this.grant(ownerId, path, mode);
    } else {
      this.owned.get(ownerId)?.delete(path);
      if (this.owned.get(ownerId)?.size === 0) this.owned.delete(ownerId);
      const holders = this.docs.get(path);
      holders?.delete(ownerId);
      if (holders?.size === 0) this.docs.delete(path);
    }
    this.pump();
  }

  /** Forgets every lock, predicate and waiter (rejecting the waiters with `error`). */
  clear(error: unknown): void {
    this.settle(() => true, error);
    this.docs.clear();
    this.owned.clear();
    this.predicates.clear();
  }

  // -- internals ---------------------------------------------------------------------------------

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
    this.waiters.push(waiter);
    this.pump();
    return promise;
  }

  private settle(which: (w: Waiter) => boolean, error: unknown): void {
    const gone = this.waiters.filter(which);
    if (gone.length === 0) return;
    for (const w of gone) this.waiters.splice(this.waiters.indexOf(w), 1);
    for (const w of gone) w.reject(error);
    // A withdrawn waiter may have been ahead of others in a queue.
    this.pump();
  }

  private grant(ownerId: string, path: string, mode: Mode): void {
    let holders = this.docs.get(path);
    if (!holders) {
      holders = new Map();
      this.docs.set(path, holders);
    }
    holders.set(ownerId, mode);
    let paths = this.owned.get(ownerId);
    if (!paths) {
      paths = new Map();
      this.owned.set(ownerId, paths);
    }
    paths.set(path, mode);
  }

  private grantWaiter(w: Waiter): void {
    if (w.wait.kind === "doc") {
      this.grant(w.owner.id, w.wait.path, w.wait.mode);
      this.hooks.onGrant(w.owner.id, w.wait.path, w.wait.mode);
    }
    w.resolve();
  }

  /** The owners `w` waits for. */
  private blockersOf(w: Waiter): Set<string> {
    const self = w.owner.id;
    switch (w.wait.kind) {
      case "doc": {
        const { path, mode } = w.wait;
        const out = new Set<string>();
        for (const [holder, held] of this.docs.get(path) ?? []) {
          if (holder !== self && !compatible(held, mode)) out.add(holder);
        }
        const upgrading = this.modeOf(self, path) !== undefined;
        for (const v of this.waiters) {
          if (v === w || v.wait.kind !== "doc" || v.wait.path !== path || v.owner.id === self) continue;
          const vUpgrading = this.modeOf(v.owner.id, path) !== undefined;
          // Upgrades go first; otherwise first come, first served.
          const ahead = vUpgrading !== upgrading ? vUpgrading : v.seq < w.seq;
          if (ahead && !compatible(v.wait.mode, mode)) out.add(v.owner.id);
        }
        return out;
      }
      case "write":
        return this.writeBlockers(self, w.wait.images);
      case "query": {
        const out = new Set<string>();
        for (const v of this.waiters) {
          if (v.wait.kind !== "write" || v.owner.id === self) continue;
          const images = v.wait.images;
          const predicate = w.wait.predicate;
          if (!images.some((image) => imageMatches(predicate, image))) continue;
          // A writer that already waits for us keeps waiting: going first cannot hurt it.
          if (this.writeBlockers(v.owner.id, images).has(self)) continue;
          out.add(v.owner.id);
        }
        return out;
      }
    }
  }

  /** Grants what can be granted, then breaks deadlocks, until nothing changes. */
  private pump(): void {
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.again = false;
        for (const w of [...this.waiters]) {
          if (!this.waiters.includes(w)) continue;
          if (!this.hooks.isLive(w.owner.id)) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            this.hooks.warn(`lock waiter of ended owner ${w.owner.id} withdrawn`);
            w.reject(this.hooks.orphanError(w.owner.id));
            continue;
          }
          if (this.blockersOf(w).size === 0) {
            this.waiters.splice(this.waiters.indexOf(w), 1);
            this.grantWaiter(w);
          }
        }
        const victim = this.deadlockVictim();
        if (victim !== undefined) {
          this.hooks.onDeadlock(victim);
          this.again = true;
        }
      } while (this.again);
    } finally {
      this.pumping = false;
    }
  }

  /** The youngest abortable owner on a cycle of the wait-for graph, if there is a cycle. */
  private deadlockVictim(): string | undefined {
    if (this.waiters.length === 0) return undefined;
    const edges = new Map<string, Set<string>>();
    const owners = new Map<string, LockOwner>();
    for (const w of this.waiters) {
      owners.set(w.owner.id, w.owner);
      const out = edges.get(w.owner.id) ?? new Set();
      for (const b of this.blockersOf(w)) out.add(b);
      edges.set(w.owner.id, out);
    }
    const cycle = findCycle(edges);
    if (!cycle) return undefined;
    let victim: LockOwner | undefined;
    for (const id of cycle) {
      const o = owners.get(id);
      if (o?.abortable && (victim === undefined || o.age > victim.age || (o.age === victim.age && o.id > victim.id))) {
        victim = o;
      }
    }
    if (victim) return victim.id;
    // Only plain writes in the cycle: impossible (they lock in path order and read nothing).
    // Break it anyway rather than hang: the newest of them gives up.
    const newest = cycle.map((id) => owners.get(id)).filter((o): o is LockOwner => o !== undefined);
    this.hooks.warn(`deadlock among non-abortable owners ${cycle.join(", ")}`);
    return newest[newest.length - 1]?.id;
  }
}

/** A cycle in a directed graph (as its nodes), or null. */
function findCycle(edges: ReadonlyMap<string, ReadonlySet<string>>): string[] | null {
  const state = new Map<string, 1 | 2>(); // 1: on the stack, 2: done
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    state.set(node, 1);
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      const s = state.get(next);
      if (s === 1) return stack.slice(stack.indexOf(next));
      if (s === undefined && edges.has(next)) {
        const found = visit(next);
        if (found) return found;
      }
    }
    stack.pop();
    state.set(node, 2);
    return null;
  };
  for (const node of edges.keys()) {
    if (state.has(node)) continue;
    const found = visit(node);
    if (found) return found;
  }
  return null;
}
