/**
 * Document storage over the Durable Object's SQLite: current state, MVCC history, large-body
 * chunks, the change log and the last commit time. Synchronous (SqlStorage is), so callers can
 * compose these calls inside one `transactionSync`.
 */
import { collectionIdOf, collectionOf, encodeKey, prefixEnd } from "../../src/model/path.js";
import type { Fields, Micros } from "../../src/model/types.js";
import type { QueryDoc } from "../../src/query/types.js";
import { reindex } from "./indexes.js";
import { type Binding, blob, type Scope, scopeCondition } from "./scan.js";

/** One version of a document as stored. `fields` is the canonical proto3 JSON of the fields map. */
export interface DocRow {
  path: string;
  createTime: Micros;
  updateTime: Micros;
  fields: string;
}

/** A stored document as the query evaluator sees it; `documentsRoot` is `…/databases/{d}/documents`. */
export function queryDocOf(row: DocRow, documentsRoot: string): QueryDoc {
  return {
    path: row.path,
    name: `${documentsRoot}/${row.path}`,
    fields: JSON.parse(row.fields) as Fields,
    createTime: row.createTime,
    updateTime: row.updateTime,
  };
}

/** How long superseded versions are kept for `readTime` reads (Firestore: one hour). */
export const HISTORY_RETENTION_US = 60 * 60 * 1_000_000;

/**
 * Bodies longer than this many UTF-16 code units are split over `document_chunks` rows: SQLite in
 * Durable Objects caps one value at 2 MB, and a 1 MiB Firestore document can exceed that in JSON
 * (escaped control characters, many tiny fields). 400k code units are at most 1.2 MB of UTF-8.
 */
const CHUNK_CHARS = 400_000;
/** A row's body size in characters, for SQL (chunked bodies counted at their chunk size). */
const BODY_CHARS_SQL = `CASE WHEN chunks > 0 THEN chunks * ${CHUNK_CHARS} ELSE length(fields) END`;

type Row = Record<string, SqlStorageValue>;

/** Splits a string into chunks without cutting a surrogate pair (which would corrupt UTF-8). */
function splitChunks(text: string): string[] {
  const chunks: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + CHUNK_CHARS, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    chunks.push(text.slice(start, end));
    start = end;
  }
  return chunks;
}

export class DocumentStore {
  constructor(private readonly sql: SqlStorage) {}

  // -- meta ------------------------------------------------------------------------------------

  lastCommitTime(): Micros {
    const row = this.sql.exec("SELECT value FROM meta WHERE key = 'last_commit_time'").toArray()[0];
    return row ? Number(row.value) : 0;
  }

  setLastCommitTime(t: Micros): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('last_commit_time', ?)", t);
  }

  // -- point reads -------------------------------------------------------------------------------

  /** The current version of a document, or null when it does not exist. */
  getLatest(path: string): DocRow | null {
    const row = this.sql
      .exec("SELECT create_time, update_time, fields, chunks FROM documents WHERE key = ?", blob(encodeKey(path)))
      .toArray()[0];
    return row ? this.toDoc(path, row, Number(row.update_time)) : null;
  }

  /**
   * The largest stored body among (at most) the first `n` documents of a scope, in UTF-16 code
   * units (chunked bodies counted at their chunk size): an estimate of its documents' size.
   */
  sampleBodySize(scope: Scope, n = 50): number {
    const bindings: Binding[] = [];
    const where = scopeCondition(scope, bindings);
    const row = this.sql
      .exec(
        `SELECT max(${BODY_CHARS_SQL}) AS size
           FROM (SELECT fields, chunks FROM documents WHERE ${where} LIMIT ?)`,
        ...bindings,
        n,
      )
      .toArray()[0];
    return Number(row?.size ?? 0);
  }

  /**
   * The documents changed by commits after `readTime`, or null when there are more than `cap`
   * (callers then read the past another way).
   */
  changedSince(readTime: Micros, cap: number): Set<string> | null {
    const rows = this.sql
      .exec("SELECT DISTINCT path FROM change_log WHERE commit_time > ? LIMIT ?", readTime, cap + 1)
      .toArray();
    return rows.length > cap ? null : new Set(rows.map((r) => String(r.path)));
  }

  /** The version of a document visible at `readTime`, or null when it did not exist then. */
  getAt(path: string, readTime: Micros): DocRow | null {
    const key = blob(encodeKey(path));
    const current = this.sql
      .exec(
        "SELECT create_time, update_time, fields, chunks FROM documents WHERE key = ? AND update_time <= ?",
        key,
        readTime,
      )
      .toArray()[0];
    if (current) return this.toDoc(path, current, Number(current.update_time));
    const old = this.sql
      .exec(
        `SELECT create_time, valid_from AS update_time, fields, chunks FROM document_history
         WHERE key = ? AND valid_from <= ? AND valid_to > ?`,
        key,
        readTime,
        readTime,
      )
      .toArray()[0];
    return old ? this.toDoc(path, old, Number(old.update_time)) : null;
  }

  /** The current version of the document with this key (from an index entry), or null. */
  getByKey(key: ArrayBuffer): DocRow | null {
    const row = this.sql
      .exec("SELECT path, create_time, update_time, fields, chunks FROM documents WHERE key = ?", key)
      .toArray()[0];
    return row ? this.toDoc(String(row.path), row, Number(row.update_time)) : null;
  }

  /**
   * Every document of a query scope as it was at `readTime` (point-in-time queries), in key
   * order, read `batch` at a time so that only a batch is in memory.
   */
  *scopeAt(scope: Scope, readTime: Micros, batch = 256): Generator<DocRow> {
    let after = new ArrayBuffer(0); // every key sorts after the empty one
    for (;;) {
      const current: Binding[] = [];
      const old: Binding[] = [];
      const rows = this.sql
        .exec(
          `SELECT key, path, create_time, update_time, fields, chunks FROM documents
             WHERE ${scopeCondition(scope, current)} AND key > ? AND update_time <= ?
           UNION ALL
           SELECT key, path, create_time, valid_from AS update_time, fields, chunks FROM document_history
             WHERE ${scopeCondition(scope, old)} AND key > ? AND valid_from <= ? AND valid_to > ?
           ORDER BY key LIMIT ?`,
          ...current,
          after,
          readTime,
          ...old,
          after,
          readTime,
          readTime,
          batch,
        )
        .toArray();
      for (const row of rows) yield this.toDoc(String(row.path), row, Number(row.update_time));
      if (rows.length < batch) return;
      after = rows[rows.length - 1]?.key as ArrayBuffer;
    }
  }

  // -- writes ----------------------------------------------------------------------------------

  /**
   * Stores a new version of `path` at `commitTime`; the current version (when `existed`) moves to
   * history. Called at most once per document per commit (the commit pipeline folds repeated
   * writes to one document first), so (key, commitTime) identifies the version.
   *
   * An imported document keeps its own update time (`commitTime`, its version) while the commit
   * that imports it happens at `loggedAt`: the current version's history ends there, and the
   * change feed (Listen resume tokens) records it there.
   */
  put(
    path: string,
    fields: string,
    createTime: Micros,
    commitTime: Micros,
    existed: boolean,
    loggedAt = commitTime,
  ): void {
    const key = blob(encodeKey(path));
    if (existed) this.retire(key, loggedAt);
    const chunks = fields.length > CHUNK_CHARS ? splitChunks(fields) : null;
    if (chunks) {
      for (const [seq, data] of chunks.entries()) {
        this.sql.exec(
          "INSERT OR REPLACE INTO document_chunks (key, version, seq, data) VALUES (?, ?, ?, ?)",
          key,
          commitTime,
          seq,
          data,
        );
      }
    }
    this.sql.exec(
      `INSERT OR REPLACE INTO documents (key, path, parent, collection_id, create_time, update_time, fields, chunks)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      key,
      path,
      blob(encodeKey(collectionOf(path))),
      collectionIdOf(path),
      createTime,
      commitTime,
      chunks ? "" : fields,
      chunks ? chunks.length : 0,
    );
    this.logChange(loggedAt, path, existed ? "update" : "create");
  }

  /** Deletes the current version of `path` at `commitTime` (it moves to history). */
  delete(path: string, commitTime: Micros): void {
    const key = blob(encodeKey(path));
    this.retire(key, commitTime);
    this.sql.exec("DELETE FROM documents WHERE key = ?", key);
    this.logChange(commitTime, path, "delete");
  }

  private retire(key: ArrayBuffer, commitTime: Micros): void {
    // The chunks of `prev` (if any) stay where they are: they are keyed by (key, version).
    this.sql.exec(
      `INSERT OR REPLACE INTO document_history
         (key, valid_from, valid_to, path, parent, collection_id, create_time, fields, chunks)
       SELECT key, update_time, ?, path, parent, collection_id, create_time, fields, chunks
       FROM documents WHERE key = ?`,
      commitTime,
      key,
    );
  }

  private logChange(commitTime: Micros, path: string, kind: "create" | "update" | "delete"): void {
    this.sql.exec(
      "INSERT OR REPLACE INTO change_log (commit_time, path, kind) VALUES (?, ?, ?)",
      commitTime,
      path,
      kind,
    );
  }

  /** Updates the index entries of `path` from its old fields to its new ones (null: no document). */
  reindex(path: string, before: Fields | null, after: Fields | null): void {
    reindex(this.sql, path, before, after);
  }

  /** Drops history and change-log entries that ended before `before`. */
  prune(before: Micros): void {
    const expired = this.sql
      .exec<{ key: ArrayBuffer; valid_from: number; chunks: number }>(
        "SELECT key, valid_from, chunks FROM document_history WHERE valid_to < ? AND chunks > 0",
        before,
      )
      .toArray();
    for (const row of expired) {
      this.sql.exec("DELETE FROM document_chunks WHERE key = ? AND version = ?", row.key, row.valid_from);
    }
    this.sql.exec("DELETE FROM document_history WHERE valid_to < ?", before);
    this.sql.exec("DELETE FROM change_log WHERE commit_time < ?", before);
  }

  /** Empties the database (the emulator's DELETE …/documents). */
  /** Whether no document exists now. */
  isEmpty(): boolean {
    return this.sql.exec("SELECT 1 FROM documents LIMIT 1").toArray().length === 0;
  }

  clear(): void {
    for (const table of ["documents", "document_history", "document_chunks", "change_log", "index_entries"]) {
      this.sql.exec(`DELETE FROM ${table}`);
    }
  }

  // -- scans -----------------------------------------------------------------------------------

  /**
   * Documents directly inside the collection `collectionPath`, in key order (or reverse), visible
   * at `readTime` (or the latest state when `readTime` is undefined), strictly after `afterPath`.
   */
  listCollection(
    collectionPath: string,
    opts: { readTime?: Micros; afterPath?: string; limit?: number; descending?: boolean; maxChars?: number },
  ): DocRow[] {
    const parent = blob(encodeKey(collectionPath));
    const desc = opts.descending === true;
    const after = blob(
      opts.afterPath !== undefined ? encodeKey(opts.afterPath) : desc ? Uint8Array.of(0xff) : new Uint8Array(0),
    );
    const cmp = desc ? "<" : ">";
    const dir = desc ? "DESC" : "ASC";
    const select = (columns: string, limit: number) =>
      opts.readTime === undefined
        ? this.sql
            .exec(
              `SELECT ${columns} FROM documents WHERE parent = ? AND key ${cmp} ? ORDER BY key ${dir} LIMIT ?`,
              parent,
              after,
              limit,
            )
            .toArray()
        : this.sql
            .exec(
              `SELECT key, ${columns} FROM documents
                 WHERE parent = ?1 AND key ${cmp} ?2 AND update_time <= ?3
               UNION ALL
               SELECT key, ${columns.replace("update_time", "valid_from AS update_time")} FROM document_history
                 WHERE parent = ?1 AND key ${cmp} ?2 AND valid_from <= ?3 AND valid_to > ?3
               ORDER BY key ${dir} LIMIT ?4`,
              parent,
              after,
              opts.readTime,
              limit,
            )
            .toArray();
    let limit = opts.limit ?? -1;
    if (opts.maxChars !== undefined) {
      // Sizes first, so that no more bodies are read than fit (at least one).
      const sizes = select(`${BODY_CHARS_SQL} AS size`, limit);
      let total = 0;
      let fit = 0;
      while (fit < sizes.length && (fit === 0 || total < opts.maxChars)) total += Number(sizes[fit++]?.size);
      limit = fit;
    }
    const rows = limit === 0 ? [] : select("path, create_time, update_time, fields, chunks", limit);
    return rows.map((row) => this.toDoc(String(row.path), row, Number(row.update_time)));
  }

  /**
   * The ids directly under `collectionPath` that have a document or descendants at `readTime`,
   * in order, starting strictly after `afterId`: each with the document, or null when only
   * descendants exist (a "missing" document). Skip-scans the key index: O(log n) per id.
   */
  listIdsWithMissing(
    collectionPath: string,
    opts: { readTime?: Micros; afterId?: string; limit: number; maxChars?: number },
  ): { path: string; doc: DocRow | null }[] {
    const prefix = encodeKey(collectionPath);
    const end = blob(prefixEnd(prefix));
    let lower: ArrayBuffer = blob(
      opts.afterId === undefined ? prefix : prefixEnd(encodeKey(`${collectionPath}/${opts.afterId}`)),
    );
    const out: { path: string; doc: DocRow | null }[] = [];
    const depth = collectionPath.split("/").length;
    let chars = 0;
    while (out.length < opts.limit && (opts.maxChars === undefined || chars < opts.maxChars)) {
      const next = this.firstPathInRange(lower, end, opts.readTime);
      if (next === null) break;
      const id = next.split("/")[depth] as string;
      const docPath = `${collectionPath}/${id}`;
      const doc = opts.readTime === undefined ? this.getLatest(docPath) : this.getAt(docPath, opts.readTime);
      out.push({ path: docPath, doc });
      chars += docPath.length + (doc?.fields.length ?? 0);
      lower = blob(prefixEnd(encodeKey(docPath)));
    }
    return out;
  }

  /**
   * Collection ids directly under a document (or the root, `""`), sorted, visible at `readTime`,
   * starting strictly after `afterId`. Skip-scans the key index: O(log n) per collection id.
   */
  collectionIds(parentPath: string, opts: { readTime?: Micros; afterId?: string; limit?: number } = {}): string[] {
    const child = (id: string) => (parentPath === "" ? id : `${parentPath}/${id}`);
    const prefix = encodeKey(parentPath);
    const end = blob(prefixEnd(prefix));
    const depth = parentPath === "" ? 0 : parentPath.split("/").length;
    const limit = opts.limit ?? Number.POSITIVE_INFINITY;
    const ids: string[] = [];
    // Keys strictly greater than the parent's own key (and below `end`) are its descendants.
    let lower: ArrayBuffer = blob(opts.afterId === undefined ? prefix : prefixEnd(encodeKey(child(opts.afterId))));
    while (ids.length < limit) {
      const next = this.firstPathInRange(lower, end, opts.readTime);
      if (next === null) break;
      const id = next.split("/")[depth] as string;
      ids.push(id);
      lower = blob(prefixEnd(encodeKey(child(id))));
    }
    return ids;
  }

  /** The smallest path with key in (lower, end) visible at `readTime`. */
  private firstPathInRange(lower: ArrayBuffer, end: ArrayBuffer, readTime?: Micros): string | null {
    const row =
      readTime === undefined
        ? this.sql
            .exec(`SELECT path FROM documents WHERE key > ? AND key < ? ORDER BY key LIMIT 1`, lower, end)
            .toArray()[0]
        : this.sql
            .exec(
              `SELECT key, path FROM documents WHERE key > ?1 AND key < ?2 AND update_time <= ?3
               UNION ALL
               SELECT key, path FROM document_history
                 WHERE key > ?1 AND key < ?2 AND valid_from <= ?3 AND valid_to > ?3
               ORDER BY key LIMIT 1`,
              lower,
              end,
              readTime,
            )
            .toArray()[0];
    return row ? String(row.path) : null;
  }

  private toDoc(path: string, row: Row, updateTime: Micros): DocRow {
    const chunks = Number(row.chunks ?? 0);
    const fields = chunks > 0 ? this.loadChunks(path, updateTime) : String(row.fields);
    return { path, createTime: Number(row.create_time), updateTime, fields };
  }

  private loadChunks(path: string, version: Micros): string {
    return this.sql
      .exec<{ data: string }>(
        "SELECT data FROM document_chunks WHERE key = ? AND version = ? ORDER BY seq",
        blob(encodeKey(path)),
        version,
      )
      .toArray()
      .map((r) => r.data)
      .join("");
  }
}
