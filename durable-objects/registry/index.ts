/**
 * RegistryDO: which branches and databases exist (one object for the deployment). The Worker
 * records a database the first time an isolate opens it (src/middleware/registry.ts), a fork
 * records where it came from, and deleting a branch removes its rows. Listing is all it answers;
 * the databases themselves are their own objects.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../../src/routes/context.js";

export interface RegisteredDatabase {
  branch: string;
  project: string;
  database: string;
  /** When it was first recorded (ms since the epoch). */
  created: number;
  /** A fork's source, `{branch}:{project}/{database}@{readTime}`. */
  forkedFrom?: string;
}

export class RegistryDO extends DurableObject {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec(
      `CREATE TABLE IF NOT EXISTS databases (
         branch TEXT NOT NULL,
         project TEXT NOT NULL,
         database TEXT NOT NULL,
         created INTEGER NOT NULL,
         forked_from TEXT,
         PRIMARY KEY (branch, project, database)
       ) WITHOUT ROWID`,
    );
  }

  /** Records a database (again: no change, unless it now says where it was forked from). */
  async record(branch: string, project: string, database: string, forkedFrom?: string): Promise<void> {
    this.ctx.storage.sql.exec(
      `INSERT INTO databases (branch, project, database, created, forked_from) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (branch, project, database) DO UPDATE SET forked_from = coalesce(excluded.forked_from, forked_from)`,
      branch,
      project,
      database,
      Date.now(),
      forkedFrom ?? null,
    );
  }

  /** Every database, or a branch's, in (branch, project, database) order. */
  async list(branch?: string): Promise<RegisteredDatabase[]> {
    const rows = this.ctx.storage.sql
      .exec<{ branch: string; project: string; database: string; created: number; forked_from: string | null }>(
        branch === undefined
          ? "SELECT * FROM databases ORDER BY branch, project, database"
          : "SELECT * FROM databases WHERE branch = ? ORDER BY project, database",
        ...(branch === undefined ? [] : [branch]),
      )
      .toArray();
    return rows.map((r) => ({
      branch: r.branch,
      project: r.project,
      database: r.database,
      created: Number(r.created),
      ...(r.forked_from ? { forkedFrom: r.forked_from } : {}),
    }));
  }

  /** Forgets a database. */
  async forget(branch: string, project: string, database: string): Promise<void> {
    this.ctx.storage.sql.exec(
      "DELETE FROM databases WHERE branch = ? AND project = ? AND database = ?",
      branch,
      project,
      database,
    );
  }
}
