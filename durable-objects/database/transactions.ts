/**
 * Transactions of one database: ids, modes, expiry and the locks read-write transactions hold.
 *
 * - Read-only transactions are a pinned read time; they take no locks and keep no state: the id
 *   itself carries the read time and start time (the server SDKs never end read-only transactions,
 *   so stored ones would pile up until they expire).
 * - Read-write transactions lock every document they read (exclusively, see locks.ts) and every
 *   document they write at commit. Locks are released at commit or rollback.
 * - Expiry follows Firestore: 270 s after the start, or 60 s without any request. A transaction that
 *   is idle while another one waits for its locks is aborted after `CONTENDED_IDLE_MS` instead, so an
 *   abandoned client stalls others for seconds, not a minute (Firestore lets it stall until expiry).
 * - Deadlocks abort the youngest transaction in the cycle (ABORTED: retrying is the right answer).
 *   A retry that names the aborted transaction in `retryTransaction` keeps its age, so it
 *   eventually becomes the oldest and cannot starve.
 * - Transactions and locks are persisted, so eviction or a restart of the Durable Object neither
 *   loses a transaction nor lets another writer slip past its locks.
 */
import { aborted, invalidArgument } from "../../src/errors/index.js";
import type { Micros } from "../../src/model/types.js";
import { DeadlockVictim, type LockOwner, LockTable } from "./locks.js";

export const TX_MAX_LIFETIME_MS = 270_000;
export const TX_IDLE_MS = 60_000;
export const CONTENDED_IDLE_MS = 15_000;
/** How long ended transactions are remembered (for precise errors and `retryTransaction`). */
const TOMBSTONE_MS = 10 * 60_000;
const SWEEP_INTERVAL_MS = 1_000;

const EXPIRED_MESSAGE = "The referenced transaction has expired or is no longer valid.";

export interface Transaction extends LockOwner {
  readOnly: boolean;
  /** Read-only transactions read at this time. */
  readTime?: Micros;
  started: number;
  lastActive: number;
  inFlight: number;
}

interface Tombstone {
  age: number;
  reason: "aborted" | "expired" | "ended";
  message: string;
  at: number;
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
  return m ? { readTime: Number(m[1]), started: Number(m[2]) } : null;
}

export class TransactionManager {
  private readonly active = new Map<string, Transaction>();
  private readonly tombstones = new Map<string, Tombstone>();
  private readonly locks = new LockTable((victim) => this.abort(victim, deadlockMessage()));
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private commitSeq = 0;
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly sql: SqlStorage,
    private readonly now: () => number = Date.now,
  ) {
    this.load();
  }

  private load(): void {
    for (const row of this.sql.exec("SELECT * FROM transactions").toArray()) {
      const id = String(row.id);
      if (row.aborted !== null) {
        this.tombstones.set(id, {
          age: Number(row.started),
          reason: "aborted",
          message: String(row.aborted),
          at: Number(row.last_active),
        });
        continue;
      }
      this.active.set(id, {
        id,
        age: Number(row.started),
        abortable: true,
        readOnly: false,
        started: Number(row.started),
        lastActive: Number(row.last_active),
        inFlight: 0,
      });
    }
    for (const row of this.sql.exec("SELECT path, tx FROM transaction_locks").toArray()) {
      this.locks.restore(String(row.tx), String(row.path));
    }
  }

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
    this.maybeExpireIdle();
    let age = now;
    if (!opts.readOnly && opts.retryTransaction !== undefined) {
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
    this.sql.exec("INSERT INTO transactions (id, started, last_active) VALUES (?, ?, ?)", tx.id, age, now);
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
      const reason = this.expiry(tx);
      if (reason === null) return tx;
      this.expire(tx.id);
    }
    const tomb = this.tombstones.get(id);
    if (tomb?.reason === "aborted") throw aborted(tomb.message);
    throw invalidArgument(EXPIRED_MESSAGE);
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
      this.sql.exec("UPDATE transactions SET last_active = ? WHERE id = ? AND aborted IS NULL", tx.lastActive, tx.id);
    }
  }

  /** Locks `paths` (in sorted order) for a read-write transaction, waiting for other holders. */
  async lock(tx: Transaction, paths: readonly string[]): Promise<void> {
    for (const path of [...new Set(paths)].sort()) {
      if (this.locks.holderOf(path) === tx.id) continue;
      await this.acquire(tx, path);
      if (!this.active.has(tx.id)) throw this.endedError(tx.id);
      this.sql.exec("INSERT OR REPLACE INTO transaction_locks (path, tx) VALUES (?, ?)", path, tx.id);
    }
  }

  /**
   * Waits until a plain (non-transactional) commit may write `paths`, holding them meanwhile.
   * Plain commits never lose a deadlock. Call `releaseCommit` afterwards.
   */
  async lockForCommit(paths: readonly string[]): Promise<string | null> {
    const contended = paths.some((p) => this.locks.holderOf(p) !== undefined);
    if (!contended) return null;
    const owner: LockOwner = { id: `commit:${++this.commitSeq}`, age: Number.NEGATIVE_INFINITY, abortable: false };
    try {
      for (const path of [...new Set(paths)].sort()) await this.acquire(owner, path);
    } catch (e) {
      this.locks.releaseAll(owner.id);
      throw e;
    }
    return owner.id;
  }

  releaseCommit(ownerId: string | null): void {
    if (ownerId !== null) this.locks.releaseAll(ownerId);
  }

  private async acquire(owner: LockOwner, path: string): Promise<void> {
    const wait = this.locks.acquire(owner, path, (id) => this.active.get(id) ?? this.plainOwner(id));
    if (wait === null) return;
    this.startSweeper();
    try {
      await wait;
    } catch (e) {
      if (e instanceof DeadlockVictim) {
        this.abort(owner.id, deadlockMessage());
        throw aborted(deadlockMessage());
      }
      throw e;
    }
  }

  private plainOwner(id: string): LockOwner | undefined {
    return id.startsWith("commit:") ? { id, age: Number.NEGATIVE_INFINITY, abortable: false } : undefined;
  }

  /** Ends a transaction normally (commit or rollback), releasing its locks. */
  end(id: string): void {
    this.drop(id, { reason: "ended", message: EXPIRED_MESSAGE });
  }

  /** Aborts a transaction: its pending and future requests fail with ABORTED. */
  abort(id: string, message: string): void {
    this.locks.abortWaiter(id, aborted(message));
    this.drop(id, { reason: "aborted", message });
  }

  private expire(id: string): void {
    this.locks.abortWaiter(id, invalidArgument(EXPIRED_MESSAGE));
    this.drop(id, { reason: "expired", message: EXPIRED_MESSAGE });
  }

  private drop(id: string, why: { reason: Tombstone["reason"]; message: string }): void {
    const tx = this.active.get(id);
    if (!tx) return;
    this.active.delete(id);
    this.locks.releaseAll(id);
    this.sql.exec("DELETE FROM transaction_locks WHERE tx = ?", id);
    if (why.reason === "aborted") {
      this.sql.exec("UPDATE transactions SET aborted = ?, last_active = ? WHERE id = ?", why.message, this.now(), id);
    } else {
      this.sql.exec("DELETE FROM transactions WHERE id = ?", id);
    }
    this.tombstones.set(id, { age: tx.age, reason: why.reason, message: why.message, at: this.now() });
  }

  /** Whether a tombstone says `id` was rolled back or committed already (rollback is idempotent). */
  isEnded(id: string): boolean {
    return this.tombstones.has(id) || parseReadOnlyId(id) !== null;
  }

  private endedError(id: string): Error {
    const tomb = this.tombstones.get(id);
    return tomb?.reason === "aborted" ? aborted(tomb.message) : invalidArgument(EXPIRED_MESSAGE);
  }

  private expiry(tx: Transaction): string | null {
    const now = this.now();
    if (now - tx.started > TX_MAX_LIFETIME_MS) return "lifetime";
    if (tx.inFlight === 0 && now - tx.lastActive > TX_IDLE_MS) return "idle";
    return null;
  }

  /** `expireIdle`, at most once per sweep interval (it walks every open transaction). */
  private maybeExpireIdle(): void {
    if (this.now() - this.lastSweep >= SWEEP_INTERVAL_MS) this.expireIdle();
  }

  /** Expires idle transactions, forgets old tombstones, aborts idle lock holders others wait for. */
  private expireIdle(): void {
    const now = this.now();
    this.lastSweep = now;
    for (const tx of [...this.active.values()]) if (this.expiry(tx) !== null) this.expire(tx.id);
    for (const id of this.locks.contendedHolders()) {
      const tx = this.active.get(id);
      if (tx && tx.inFlight === 0 && now - tx.lastActive > CONTENDED_IDLE_MS) {
        this.abort(
          id,
          `Transaction aborted: it held locks that other requests waited for while idle for more than ${CONTENDED_IDLE_MS / 1000} s; retry it.`,
        );
      }
    }
    for (const [id, tomb] of this.tombstones) {
      if (now - tomb.at > TOMBSTONE_MS) {
        this.tombstones.delete(id);
        if (tomb.reason === "aborted") this.sql.exec("DELETE FROM transactions WHERE id = ?", id);
      }
    }
  }

  private startSweeper(): void {
    if (this.sweeper !== undefined) return;
    this.sweeper = setInterval(() => {
      this.expireIdle();
      if (!this.locks.hasWaiters()) {
        clearInterval(this.sweeper);
        this.sweeper = undefined;
      }
    }, SWEEP_INTERVAL_MS);
  }

  /** Drops every transaction (the emulator's database reset). */
  clear(): void {
    for (const id of [...this.active.keys()]) this.abort(id, "Transaction aborted: the database was reset.");
    this.sql.exec("DELETE FROM transaction_locks");
  }
}

function deadlockMessage(): string {
  return "Transaction aborted because of a deadlock with an older transaction (each waited for a document the other had locked); retry it.";
}
