/**
 * Exclusive document locks with FIFO waiting and deadlock detection.
 *
 * Firestore's server SDKs run read-write transactions pessimistically: reads lock documents and a
 * conflicting transaction waits. We take the lock *exclusively* at read time (like SELECT … FOR
 * UPDATE), so the common read-modify-write pattern queues instead of deadlocking on a shared→
 * exclusive upgrade. Real deadlocks (two transactions each waiting for a document the other holds)
 * are found when a wait would close a cycle in the wait-for graph; the *youngest* transaction in the
 * cycle that may be aborted is the victim. Owners are in-memory; persistence is the caller's job.
 */

export interface LockOwner {
  id: string;
  /** Smaller is older. Older owners win deadlocks. */
  age: number;
  /** False for plain (non-transactional) commits: they only ever wait, never lose a deadlock. */
  abortable: boolean;
}

interface Waiter {
  owner: LockOwner;
  path: string;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class LockTable {
  private readonly holders = new Map<string, string>();
  private readonly held = new Map<string, Set<string>>();
  private readonly queues = new Map<string, Waiter[]>();
  private readonly waiting = new Map<string, Waiter>();

  /**
   * @param onDeadlock called with the victim's id when a wait would deadlock; it must abort the
   *   victim (typically by calling `abortWaiter` and `releaseAll`). Returns nothing.
   */
  constructor(private readonly onDeadlock: (victimId: string) => void) {}

  holderOf(path: string): string | undefined {
    return this.holders.get(path);
  }

  /** Paths `ownerId` holds. */
  heldBy(ownerId: string): ReadonlySet<string> {
    return this.held.get(ownerId) ?? new Set();
  }

  /** Whether anyone is queued for a lock `ownerId` holds. */
  isBlockingOthers(ownerId: string): boolean {
    for (const path of this.heldBy(ownerId)) if ((this.queues.get(path)?.length ?? 0) > 0) return true;
    return false;
  }

  hasWaiters(): boolean {
    return this.waiting.size > 0;
  }

  /** Ids of owners that currently hold a lock someone waits for. */
  contendedHolders(): Set<string> {
    const out = new Set<string>();
    for (const [path, queue] of this.queues) {
      const holder = this.holders.get(path);
      if (holder !== undefined && queue.length > 0) out.add(holder);
    }
    return out;
  }

  /** Records a lock held at startup (restored from storage). */
  restore(ownerId: string, path: string): void {
    this.grant(ownerId, path);
  }

  /**
   * Acquires `path` for `owner`. Resolves at once when free or already held; otherwise queues.
   * Throws (synchronously, via the returned promise) when the owner itself is the deadlock victim.
   */
  acquire(owner: LockOwner, path: string, isOwnerAlive: (id: string) => LockOwner | undefined): Promise<void> | null {
    const holder = this.holders.get(path);
    if (holder === undefined) {
      this.grant(owner.id, path);
      return null;
    }
    if (holder === owner.id) return null;
    const cycle = this.cycleThrough(owner.id, holder);
    if (cycle) {
      const members = cycle.map(isOwnerAlive).filter((o): o is LockOwner => o !== undefined);
      members.push(owner);
      const victim = youngestAbortable(members);
      if (victim === undefined || victim.id === owner.id) {
        return Promise.reject(new DeadlockVictim());
      }
      this.onDeadlock(victim.id);
      // The victim's locks were released; the path may now be free or granted to someone ahead.
      return this.acquire(owner, path, isOwnerAlive) ?? Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { owner, path, resolve, reject };
      const queue = this.queues.get(path) ?? [];
      queue.push(waiter);
      this.queues.set(path, queue);
      this.waiting.set(owner.id, waiter);
    });
  }

  /** Rejects the pending wait of `ownerId`, if any, with `error`. */
  abortWaiter(ownerId: string, error: unknown): void {
    const waiter = this.waiting.get(ownerId);
    if (!waiter) return;
    this.waiting.delete(ownerId);
    const queue = this.queues.get(waiter.path);
    if (queue) {
      const i = queue.indexOf(waiter);
      if (i >= 0) queue.splice(i, 1);
      if (queue.length === 0) this.queues.delete(waiter.path);
    }
    waiter.reject(error);
  }

  /** Releases every lock of `ownerId`, handing each to the next waiter in line. Returns the paths. */
  releaseAll(ownerId: string): string[] {
    const paths = [...this.heldBy(ownerId)];
    this.held.delete(ownerId);
    for (const path of paths) {
      this.holders.delete(path);
      const queue = this.queues.get(path);
      const next = queue?.shift();
      if (queue && queue.length === 0) this.queues.delete(path);
      if (next) {
        this.waiting.delete(next.owner.id);
        this.grant(next.owner.id, path);
        next.resolve();
      }
    }
    return paths;
  }

  private grant(ownerId: string, path: string): void {
    this.holders.set(path, ownerId);
    let set = this.held.get(ownerId);
    if (!set) {
      set = new Set();
      this.held.set(ownerId, set);
    }
    set.add(path);
  }

  /** If `start` (transitively) waits for `target`, the owners on that chain (start … holder). */
  private cycleThrough(target: string, start: string): string[] | null {
    const chain: string[] = [];
    let current: string | undefined = start;
    const seen = new Set<string>();
    while (current !== undefined && !seen.has(current)) {
      if (current === target) return chain;
      seen.add(current);
      chain.push(current);
      const waiter = this.waiting.get(current);
      current = waiter ? this.holders.get(waiter.path) : undefined;
    }
    return null;
  }
}

/** Thrown to a requester that lost a deadlock. */
export class DeadlockVictim extends Error {
  constructor() {
    super("deadlock");
  }
}

function youngestAbortable(owners: LockOwner[]): LockOwner | undefined {
  let victim: LockOwner | undefined;
  for (const o of owners) if (o.abortable && (victim === undefined || o.age > victim.age)) victim = o;
  return victim;
}
