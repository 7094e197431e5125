/**
 * Forking: this database becomes a copy of another (any branch) as of one read time, the copy
 * pulled page by page from the source's object (`exportPage`) and written with each document's own
 * times (`importDocuments`' path). The source goes on serving meanwhile: it only answers reads at
 * the fork's read time, which its history keeps for an hour.
 *
 * The copy runs in the object's alarm, a few pages per run, so a database of any size forks
 * without one long request: the state (source, read time, last document copied, count) is in the
 * `meta` table, and survives a restart. A fork is refused when the database holds documents.
 */
import { failedPrecondition } from "../../src/errors/index.js";
import type { Micros } from "../../src/model/types.js";

/** Where a fork copies from. */
export interface ForkSource {
  branch: string;
  project: string;
  database: string;
}

export interface ForkStatus {
  state: "copying" | "done" | "failed";
  source: ForkSource;
  /** The source as of this read time. */
  readTime: Micros;
  /** Documents copied so far. */
  copied: number;
  /** The last document copied (its path), where the next page starts after. */
  after?: string;
  /** Why it failed. */
  error?: string;
  /** This database, as the registry knows it. */
  target: ForkSource;
}

const KEY = "fork_state";

export class ForkState {
  /** The stored status, read once (every read-write transaction's alarm scheduling asks `pending`). */
  private status: ForkStatus | null;

  constructor(private readonly sql: SqlStorage) {
    const row = sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = ?", KEY).toArray()[0];
    this.status = row ? (JSON.parse(row.value) as ForkStatus) : null;
  }

  get(): ForkStatus | null {
    return this.status;
  }

  set(status: ForkStatus): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", KEY, JSON.stringify(status));
    this.status = status;
  }

  clear(): void {
    this.sql.exec("DELETE FROM meta WHERE key = ?", KEY);
    this.status = null;
  }

  /** Whether a fork is copying (the alarm has work). */
  get pending(): boolean {
    return this.status?.state === "copying";
  }

  /** Refuses a new fork while one copies, or when the database is not empty. */
  checkCanStart(empty: boolean): void {
    if (this.pending) throw failedPrecondition("A fork into this database is copying already; wait for it to finish.");
    if (!empty) {
      throw failedPrecondition(
        "This database holds documents: a fork copies into an empty database (clear it, or delete the branch, first).",
      );
    }
  }
}
