/**
 * Transactions of one database: ids, modes, expiry, and the locks read-write transactions hold.
 *
 * - Read-only transactions are a pinned read time; they take no locks and keep no state: the id
 *   itself carries the read time and start time (the server SDKs never end read-only transactions,
 *   so stored ones would pile up until they expire).
 * - Read-write transactions take a shared lock on every document they read, a predicate lock for
 *   every query, and exclusive locks on what they write at commit (locks.ts). Everything is
 *   released when the transaction ends: commit, rollback, abort or expiry.
 * - Expiry follows Firestore: 270 s after the start, or 60 s without any request.
 * - Every wait ends: deadlocks abort the youngest transaction of the cycle at once; a wait on a
 *   transaction idle for `CONTENDED_IDLE_MS` ends it, aborting the younger of the two (the idle
 *   holder, or the waiter when the holder is older; a plain write never loses); and no request
 *   waits longer than `LOCK_WAIT_MS`. Aborts say ABORTED, so clients retry. A retry that names the
 *   aborted transaction in `retryTransaction` keeps its age, so it eventually becomes the oldest.
 * - Transactions, locks and predicates are persisted (tx-store.ts); a restart restores them, and
 *   the sweeper (`sweep`, run every second while anyone waits, and by the Durable Object's alarm
 *   while transactions are open) frees whatever an ended owner still holds, and logs it.
 */
import { aborted, invalidArgument } from "../../src/errors/index.js";
import type { Micros } from "../../src/model/types.js";
import { LockManager, type LockOwner, type Mode } from "./locks.js";
import type { Image, Predicate } from "./predicates.js";
import type { TxStore } from "./tx-store.js";

export const TX_MAX_LIFETIME_MS = 270_000;
export const TX_IDLE_MS = 60_000;
export const CONTENDED_IDLE_MS = 15_000;
/** The longest a request waits for locks (all of its waits together) before it is answered ABORTED. */
export const LOCK_WAIT_MS = 60_000;
/** How long ended transactions are remembered (for precise errors and `retryTransaction`). */
const TOMBSTONE_MS = 10 * 60_000;
const SWEEP_INTERVAL_MS = 1_000;

const EXPIRED_MESSAGE = "The referenced transaction has expired or is no longer valid.";
export const DEADLOCK_MESSAGE =
  "Transaction aborted because of a deadlock with an older transaction (each waited for a document the other had locked); retry it.";
const CONTENTION_MESSAGE = "Too much contention on these documents. Please try again.";

export interface Transaction extends LockOwner {
  readOnly: boolean;
  /** Read-only transactions read at this time. */
  readTime?: Micros;
  started: number;
  lastActive: number;
  inFlight: number;
  /** A commit request is under way: a second one is refused. */
  committing?: boolean;
}

/**
 * A read's result and the predicate it read; the predicate is only worked out (it may re-read a
 * document) when a read-write transaction locks it.
 */
export interface PredicateRead<T> {
  value: T;
  predicate: () => Predicate | null;
}

/** A write under way: its owner, its documents, and what the owner held on them before. */
export interface WriteHandle {
  owner: LockOwner;
  paths: readonly string[];
  before: ReadonlyMap<string, Mode | undefined>;
  /** When the write's request must have its answer, however many waits it goes through. */
  deadline: number;
}

interface Tombstone {
  age: number;
  reason: "aborted" | "expired" | "ended";
  message: string;
  at: number;
}

export interface TransactionManagerOptions {
  now?: () => number;
  /** Run `sweep` every second while requests wait (off in model tests, which sweep themselves). */
  autoSweep?: boolean;
  log?: (message: string) => void;
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

const READ_ONLY_PREFIX = "ro/";

/** A read-only transaction's id: `ro/{readTime}/{started}/{random}`, base64-encoded. */
function readOnlyId(readTime: Micros, started: number): string {
  const nonce = Math.floor(Math.random() * 2 ** 32).toString(36);
  return btoa(`${READ_ONLY_PREFIX}${readTime}/${started}/${nonce}`);
}

function parseReadOnlyId(id: string): { readTime: Micros; started: number } | null {
  let text: string;
  try {
    text = atob(id);
  } catch {
    return null;
  }
  const m = /^ro\/(\d+)\/(\d+)\/[0-9a-z]+$/.exec(text);
  if (!m) return null;
  const readTime = Number(m[1]);
  const started = Number(m[2]);
  // Ids are opaque but forgeable: numbers past exact integers are no id of ours.
  return Number.isSafeInteger(readTime) && Number.isSafeInteger(started) ? { readTime, started } : null;
}

export class TransactionManager {
  private readonly active = new Map<string, Transaction>();
  /** Plain (non-transactional) writes currently holding or waiting for locks. */
  private readonly plain = new Map<string, LockOwner>();
  private readonly tombstones = new Map<string, Tombstone>();
  readonly locks: LockManager;
  private readonly now: () => number;
  private readonly log: (message: string) => void;
  private readonly autoSweep: boolean;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private plainSeq = 0;
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: TxStore,
    options: TransactionManagerOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.log = options.log ?? ((m) => console.warn(`flarestore: ${m}`));
    this.autoSweep = options.autoSweep ?? true;
    this.locks = new LockManager(
      {
        isLive: (id) => this.isLive(id),
        onGrant: (id, path, mode) => {
          if (this.active.has(id)) this.store.addLock(id, path, mode);
        },
        onDeadlock: (victim) => this.abortOwner(victim, DEADLOCK_MESSAGE),
        orphanError: (id) => this.endedError(id),
        warn: this.log,
      },
      this.now,
    );
    this.load();
  }

  private load(): void {
    const { transactions, locks, predicates } = this.store.load();
    for (const row of transactions) {
      if (row.aborted !== null) {
        this.tombstones.set(row.id, { age: row.started, reason: "aborted", message: row.aborted, at: row.lastActive });
        continue;
      }
      this.active.set(row.id, {
        id: row.id,
        age: row.started,
        abortable: true,
        readOnly: false,
        started: row.started,
        lastActive: row.lastActive,
        inFlight: 0,
      });
    }
    for (const { tx, path, mode } of locks) this.locks.restore(tx, path, mode);
    for (const { tx, predicate } of predicates) this.locks.restorePredicate(tx, predicate);
    // Rows of transactions that no longer exist (should not happen) are freed by the first sweep.
  }

  // -- lifecycle ---------------------------------------------------------------------------------

  /** Starts a transaction. `readTime` is required for read-only ones (callers pass now if absent). */
  begin(opts: { readOnly: true; readTime: Micros } | { readOnly: false; retryTransaction?: string }): Transaction {
    const now = this.now();
    if (opts.readOnly) {
      const id = readOnlyId(opts.readTime, now);
      return {
        id,
        age: now,
        abortable: false,
        readOnly: true,
        readTime: opts.readTime,
        started: now,
        lastActive: now,
        inFlight: 0,
      };
    }
    this.maybeSweep();
    let age = now;
    if (opts.retryTransaction !== undefined) {
      const previous = this.active.get(opts.retryTransaction) ?? this.tombstones.get(opts.retryTransaction);
      if (previous) age = Math.min(age, previous.age);
      if (this.active.has(opts.retryTransaction)) this.end(opts.retryTransaction);
    }
    const tx: Transaction = {
      id: randomId(),
      age,
      abortable: true,
      readOnly: false,
      started: now,
      lastActive: now,
      inFlight: 0,
    };
    this.active.set(tx.id, tx);
    this.store.insert(tx.id, age, now);
    return tx;
  }

  /** Looks up a live transaction or throws the error a client should see. */
  get(id: string): Transaction {
    const ro = parseReadOnlyId(id);
    if (ro) {
      const now = this.now();
      if (now - ro.started > TX_MAX_LIFETIME_MS || ro.started > now) throw invalidArgument(EXPIRED_MESSAGE);
      return {
        id,
        age: ro.started,
        abortable: false,
        readOnly: true,
        readTime: ro.readTime,
        started: ro.started,
        lastActive: now,
        inFlight: 0,
      };
    }
    const tx = this.active.get(id);
    if (tx) {
      if (this.expiry(tx) === null) return tx;
      this.expire(tx.id);
    }
    throw this.endedError(id);
  }

  /** Whether `id` names an open read-write transaction. */
  isActive(id: string): boolean {
    return this.active.has(id);
  }

  /** Runs `fn` as a request of `tx`, keeping it from being considered idle meanwhile. */
  async run<T>(tx: Transaction, fn: () => Promise<T> | T): Promise<T> {
    tx.inFlight++;
    tx.lastActive = this.now();
    try {
      return await fn();
    } finally {
      tx.inFlight--;
      tx.lastActive = this.now();
      // A transaction that just ended (committed, aborted) has no row left: this updates nothing.
      if (this.active.has(tx.id)) this.store.touch(tx.id, tx.lastActive);
    }
  }

  /** Ends a transaction normally (commit or rollback), releasing its locks. */
  end(id: string): void {
    this.drop(id, { reason: "ended", message: EXPIRED_MESSAGE });
  }

  /** Aborts a transaction: its pending and future requests fail with ABORTED. */
  abort(id: string, message: string): void {
    this.drop(id, { reason: "aborted", message });
  }

  private expire(id: string): void {
    this.drop(id, { reason: "expired", message: EXPIRED_MESSAGE });
  }

  /** Aborts a transaction, or makes a plain write's waits fail (it then releases its locks). */
  private abortOwner(id: string, message: string): void {
    if (this.active.has(id)) this.abort(id, message);
    else this.locks.rejectWaiters(id, aborted(CONTENTION_MESSAGE));
  }

  private drop(id: string, why: { reason: Tombstone["reason"]; message: string }): void {
    const tx = this.active.get(id);
    if (!tx) return;
    // Dead first, so nothing is granted to it while its waits are withdrawn and its locks handed on.
    this.active.delete(id);
    const now = this.now();
    this.tombstones.set(id, { age: tx.age, reason: why.reason, message: why.message, at: now });
    this.store.end(id, why.reason === "aborted" ? { message: why.message, at: now } : null);
    this.locks.rejectWaiters(id, this.endedError(id));
    this.locks.release(id);
  }

  /** Whether a tombstone says `id` was rolled back or committed already (rollback is idempotent). */
  isEnded(id: string): boolean {
    return this.tombstones.has(id) || parseReadOnlyId(id) !== null;
  }

  private endedError(id: string): Error {
    const tomb = this.tombstones.get(id);
    return tomb?.reason === "aborted" ? aborted(tomb.message) : invalidArgument(EXPIRED_MESSAGE);
  }

  /**
   * Claims `tx` for its commit: one commit per transaction, so a second, concurrent commit of the
   * same transaction is refused rather than applied twice.
   */
  claimCommit(tx: Transaction): void {
    if (tx.committing) throw invalidArgument(`Transaction ${tx.id} is already being committed.`);
    tx.committing = true;
  }

  /** Throws the right error unless `owner` (a transaction) is still open; plain writes pass. */
  ensureActive(tx: LockOwner): void {
    if (tx.abortable && !this.active.has(tx.id)) throw this.endedError(tx.id);
  }

  // -- locking -----------------------------------------------------------------------------------

  /** Takes shared locks on `paths` (in path order) for a read-write transaction. */
  async lockRead(tx: Transaction, paths: readonly string[]): Promise<void> {
    const deadline = this.now() + LOCK_WAIT_MS;
    for (const path of [...new Set(paths)].sort()) {
      await this.acquire(tx, path, "S", deadline);
      this.ensureActive(tx);
    }
  }

  /**
   * Runs a query of a read-write transaction under a predicate lock: waits for writers it must
   * not overtake, then runs `exec` and records the predicate it read in the same synchronous
   * step, so no write can fall between the read and its lock.
   */
  async lockQuery<T>(tx: Transaction, predicate: Predicate, exec: () => PredicateRead<T>): Promise<T> {
    this.ensureActive(tx);
    const wait = this.locks.awaitQueryTurn(tx, predicate, this.now() + LOCK_WAIT_MS);
    if (wait) await this.waitFor(wait);
    this.ensureActive(tx);
    const out = exec();
    const read = out.predicate();
    if (read) this.addPredicate(tx, read);
    return out.value;
  }

  private addPredicate(tx: Transaction, predicate: Predicate): void {
    const json = JSON.stringify(predicate);
    if (this.locks.predicatesOf(tx.id).some((p) => JSON.stringify(p) === json)) return;
    this.store.addPredicate(tx.id, predicate);
    this.locks.addPredicate(tx.id, predicate);
  }

  /**
   * Starts a write of `paths`: exclusive locks for the transaction, or for a new plain-write owner
   * when `tx` is null (call `finishWrite` with the handle afterwards, whatever happens).
   */
  async beginWrite(tx: Transaction | null, paths: readonly string[]): Promise<WriteHandle> {
    const owner: LockOwner = tx ?? { id: `write:${++this.plainSeq}`, age: Number.NEGATIVE_INFINITY, abortable: false };
    if (!tx) this.plain.set(owner.id, owner);
    const sorted = [...new Set(paths)].sort();
    const handle: WriteHandle = {
      owner,
      paths: sorted,
      before: new Map(sorted.map((p) => [p, this.locks.modeOf(owner.id, p)])),
      deadline: this.now() + LOCK_WAIT_MS,
    };
    try {
      await this.lockForWrite(handle);
    } catch (e) {
      this.finishWrite(handle);
      throw e;
    }
    return handle;
  }

  private async lockForWrite(handle: WriteHandle): Promise<void> {
    for (const path of handle.paths) {
      await this.acquire(handle.owner, path, "X", handle.deadline);
      this.ensureActive(handle.owner);
    }
  }

  /** Whether another owner's predicate lock covers one of a write's before/after images. */
  writeBlocked(handle: WriteHandle, images: readonly Image[]): boolean {
    return this.locks.writeBlockers(handle.owner.id, images).size > 0;
  }

  /**
   * Waits until no other owner's predicate lock covers the images, then takes the write's
   * exclusive locks again. It gives them up meanwhile (back to what it held before the write):
   * the transaction it waits for may need one of them to commit, which would be a deadlock.
   */
  async awaitPredicates(handle: WriteHandle, images: readonly Image[]): Promise<void> {
    const { owner } = handle;
    this.ensureActive(owner);
    for (const [path, mode] of handle.before) {
      if (this.locks.modeOf(owner.id, path) === mode) continue;
      if (this.active.has(owner.id)) {
        if (mode === undefined) this.store.removeLock(owner.id, path);
        else this.store.addLock(owner.id, path, mode);
      }
      this.locks.downgrade(owner.id, path, mode);
    }
    const wait = this.locks.awaitPredicates(owner, images, handle.deadline);
    if (wait) await this.waitFor(wait);
    this.ensureActive(owner);
    await this.lockForWrite(handle);
  }

  /** Releases a plain write's locks (transactions release theirs when they end). */
  finishWrite(handle: WriteHandle): void {
    const id = handle.owner.id;
    if (!this.plain.delete(id)) return;
    this.locks.rejectWaiters(id, aborted(CONTENTION_MESSAGE));
    this.locks.release(id);
  }

  private async acquire(owner: LockOwner, path: string, mode: Mode, deadline: number): Promise<void> {
    this.ensureActive(owner); // never queue for an owner that has ended
    const wait = this.locks.acquire(owner, path, mode, deadline);
    if (wait) await this.waitFor(wait);
  }

  private async waitFor(wait: Promise<void>): Promise<void> {
    this.startSweeper();
    await wait;
  }

  // -- sweeping ----------------------------------------------------------------------------------

  /** `sweep`, at most once per sweep interval (it walks every open transaction). */
  private maybeSweep(): void {
    if (this.now() - this.lastSweep >= SWEEP_INTERVAL_MS) this.sweep();
  }

  /**
   * Ends what must end: expired transactions, waits on idle transactions, waits past
   * `LOCK_WAIT_MS`; frees locks of owners that no longer exist; forgets old tombstones.
   */
  sweep(): void {
    const now = this.now();
    this.lastSweep = now;
    for (const tx of [...this.active.values()]) if (this.expiry(tx) !== null) this.expire(tx.id);
    for (const w of this.locks.waiting()) {
      if (!this.isLive(w.owner.id)) continue; // withdrawn already by an abort above
      if (now > w.deadline) {
        const message = `Transaction lock timeout: waited more than ${LOCK_WAIT_MS / 1000} s for a lock held by another transaction; retry it.`;
        if (this.active.has(w.owner.id)) this.abort(w.owner.id, message);
        else this.locks.rejectWaiter(w.seq, aborted(CONTENTION_MESSAGE));
        continue;
      }
      for (const id of w.blockers) {
        const holder = this.active.get(id);
        if (!holder || holder.inFlight > 0 || now - holder.lastActive <= CONTENDED_IDLE_MS) continue;
        if (w.owner.abortable && w.owner.age > holder.age) {
          // Firestore aborts the younger one: here the waiter, once it has waited that long too.
          if (now - w.since >= CONTENDED_IDLE_MS && this.active.has(w.owner.id)) {
            this.abort(
              w.owner.id,
              `Transaction lock timeout: an older transaction holding a lock it needs was idle for more than ${CONTENDED_IDLE_MS / 1000} s; retry it.`,
            );
          }
        } else {
          this.abort(
            id,
            `Transaction aborted: it held locks that other requests waited for while idle for more than ${CONTENDED_IDLE_MS / 1000} s; retry it.`,
          );
        }
        break;
      }
    }
    // Defense in depth: nothing may stay locked by an owner that is gone.
    for (const id of this.locks.owners()) {
      if (!this.isLive(id)) {
        this.log(`freed the locks of ended owner ${id}`);
        this.store.end(id, null);
        this.locks.release(id);
      }
    }
    for (const [id, tomb] of this.tombstones) {
      if (now - tomb.at > TOMBSTONE_MS) {
        this.tombstones.delete(id);
        if (tomb.reason === "aborted") this.store.forget(id);
      }
    }
  }

  private isLive(id: string): boolean {
    return this.active.has(id) || this.plain.has(id);
  }

  private expiry(tx: Transaction): string | null {
    const now = this.now();
    if (now - tx.started > TX_MAX_LIFETIME_MS) return "lifetime";
    if (tx.inFlight === 0 && now - tx.lastActive > TX_IDLE_MS) return "idle";
    return null;
  }

  /** When the next open transaction may expire (for the Durable Object's alarm), or null. */
  nextExpiry(): number | null {
    let next: number | null = null;
    for (const tx of this.active.values()) {
      const at = Math.min(tx.started + TX_MAX_LIFETIME_MS, tx.lastActive + TX_IDLE_MS) + 1;
      if (next === null || at < next) next = at;
    }
    return next;
  }

  private startSweeper(): void {
    if (!this.autoSweep || this.sweeper !== undefined) return;
    this.sweeper = setInterval(() => {
      this.sweep();
      if (!this.locks.hasWaiters()) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, SWEEP_INTERVAL_MS);
  }

  /** Drops every transaction (the emulator's database reset). */
  clear(): void {
    for (const id of [...this.active.keys()]) this.abort(id, "Transaction aborted: the database was reset.");
    this.locks.clear(aborted("The database was reset."));
    this.store.clear();
  }

  /** Open read-write transactions (for tests and invariants). */
  openTransactions(): ReadonlyMap<string, Transaction> {
    return this.active;
  }
}
