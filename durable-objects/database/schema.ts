/**
 * The database's SQLite schema, versioned: `SCHEMA_VERSION` plus ordered migrations recorded in
 * the `meta` table, applied in one synchronous transaction when the object starts.
 *
 * Tables (v1):
 * - `documents`: the current state, one row per existing document, keyed by the order-preserving
 *   path encoding (`src/model/path.ts`), so `ORDER BY key` is Firestore's `__name__` order.
 * - `document_history`: superseded states, each valid in `[valid_from, valid_to)`, kept for an hour
 *   so `readTime` reads and read-only transactions see consistent snapshots (MVCC).
 * - `document_chunks`: bodies too large for one SQLite value (2 MB), keyed by (key, version).
 * - `change_log`: every document a commit touched, by commit time: the feed the Listen stream and
 *   resume tokens will read.
 * - `transactions`, `transaction_locks`: open read-write transactions (read-only ones are stateless)
 *   and the document locks they hold, persisted so a restart or eviction neither loses nor silently
 *   breaks them. `started` is the transaction's age (a retry inherits it), `aborted` the reason once
 *   it lost a deadlock (kept briefly so its next request hears ABORTED).
 * - `meta`: schema version and the last commit time (commit times are strictly increasing).
 *
 * v2 adds `index_entries`: the automatic single-field indexes (see indexes.ts).
 * v3 makes read locks shared: `transaction_locks` is keyed by (tx, path) with a mode (S or X), and
 * `transaction_predicates` holds the predicate locks of queries read in transactions (tx-store.ts).
 * v4 adds `listen_targets`: the targets of each open Listen stream, by stream id (watch.ts).
 * v5 adds `listen_callers`: who opened each Listen stream, whose targets the security rules check
 *   (a socket attachment holds at most 2 KB, less than an ID token's claims may take).
 */
import type { Fields } from "../../src/model/types.js";
import { reindex } from "./indexes.js";
import { DocumentStore } from "./store.js";

export const SCHEMA_VERSION = 5;

/** A migration: SQL statements, or a function for data backfills. */
type Migration = readonly string[] | ((sql: SqlStorage) => void);

const MIGRATIONS: readonly Migration[] = [
  // v1
  [
    `CREATE TABLE documents (
       key BLOB PRIMARY KEY,
       path TEXT NOT NULL,
       parent BLOB NOT NULL,
       collection_id TEXT NOT NULL,
       create_time INTEGER NOT NULL,
       update_time INTEGER NOT NULL,
       fields TEXT NOT NULL,
       chunks INTEGER NOT NULL DEFAULT 0
     ) WITHOUT ROWID`,
    "CREATE INDEX documents_by_parent ON documents(parent, key)",
    "CREATE INDEX documents_by_collection_id ON documents(collection_id, key)",
    `CREATE TABLE document_history (
       key BLOB NOT NULL,
       valid_from INTEGER NOT NULL,
       valid_to INTEGER NOT NULL,
       path TEXT NOT NULL,
       parent BLOB NOT NULL,
       collection_id TEXT NOT NULL,
       create_time INTEGER NOT NULL,
       fields TEXT NOT NULL,
       chunks INTEGER NOT NULL DEFAULT 0,
       PRIMARY KEY (key, valid_from)
     ) WITHOUT ROWID`,
    "CREATE INDEX document_history_by_valid_to ON document_history(valid_to)",
    "CREATE INDEX document_history_by_parent ON document_history(parent, key)",
    `CREATE TABLE document_chunks (
       key BLOB NOT NULL,
       version INTEGER NOT NULL,
       seq INTEGER NOT NULL,
       data TEXT NOT NULL,
       PRIMARY KEY (key, version, seq)
     ) WITHOUT ROWID`,
    `CREATE TABLE change_log (
       commit_time INTEGER NOT NULL,
       path TEXT NOT NULL,
       kind TEXT NOT NULL,
       PRIMARY KEY (commit_time, path)
     ) WITHOUT ROWID`,
    `CREATE TABLE transactions (
       id TEXT PRIMARY KEY,
       started INTEGER NOT NULL,
       last_active INTEGER NOT NULL,
       aborted TEXT
     ) WITHOUT ROWID`,
    `CREATE TABLE transaction_locks (
       path TEXT PRIMARY KEY,
       tx TEXT NOT NULL
     ) WITHOUT ROWID`,
  ],
  // v2: automatic single-field indexes (indexes.ts), backfilled for existing documents.
  (sql) => {
    sql.exec(`CREATE TABLE index_entries (
       parent BLOB NOT NULL,
       collection_id TEXT NOT NULL,
       field TEXT NOT NULL,
       kind INTEGER NOT NULL,
       value BLOB NOT NULL,
       key BLOB NOT NULL,
       PRIMARY KEY (parent, field, kind, value, key)
     ) WITHOUT ROWID`);
    sql.exec("CREATE INDEX index_entries_by_group ON index_entries(collection_id, field, kind, value, key)");
    const store = new DocumentStore(sql);
    for (const row of sql.exec<{ path: string }>("SELECT path FROM documents").toArray()) {
      const doc = store.getLatest(row.path);
      if (doc) reindex(sql, row.path, null, JSON.parse(doc.fields) as Fields);
    }
  },
  // v3: shared locks (many holders per path) and predicate locks. Old exclusive read locks become
  // shared ones, which is what a read means now.
  [
    "ALTER TABLE transaction_locks RENAME TO transaction_locks_v2",
    `CREATE TABLE transaction_locks (
       tx TEXT NOT NULL,
       path TEXT NOT NULL,
       mode TEXT NOT NULL,
       PRIMARY KEY (tx, path)
     ) WITHOUT ROWID`,
    "INSERT INTO transaction_locks (tx, path, mode) SELECT tx, path, 'S' FROM transaction_locks_v2",
    "DROP TABLE transaction_locks_v2",
    `CREATE TABLE transaction_predicates (
       tx TEXT NOT NULL,
       seq INTEGER NOT NULL,
       predicate TEXT NOT NULL,
       PRIMARY KEY (tx, seq)
     ) WITHOUT ROWID`,
  ],
  // v4: the targets of each open Listen stream (rebuilt after the object hibernates).
  [
    `CREATE TABLE listen_targets (
       stream TEXT NOT NULL,
       target_id INTEGER NOT NULL,
       spec TEXT NOT NULL,
       PRIMARY KEY (stream, target_id)
     ) WITHOUT ROWID`,
  ],
  // v5: the caller of each open Listen stream (watch.ts).
  ["CREATE TABLE listen_callers (stream TEXT PRIMARY KEY, caller TEXT NOT NULL) WITHOUT ROWID"],
];

/** Applies pending migrations. Call inside `transactionSync`. */
export function migrate(sql: SqlStorage): void {
  sql.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID");
  const row = sql.exec<{ value: number }>("SELECT value FROM meta WHERE key = 'schema_version'").toArray()[0];
  const current = row ? Number(row.value) : 0;
  if (current > SCHEMA_VERSION) {
    throw new Error(`database schema v${current} is newer than this code (v${SCHEMA_VERSION})`);
  }
  for (let v = current; v < SCHEMA_VERSION; v++) {
    const migration = MIGRATIONS[v];
    if (typeof migration === "function") migration(sql);
    else for (const statement of migration ?? []) sql.exec(statement);
  }
  sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)", SCHEMA_VERSION);
}
