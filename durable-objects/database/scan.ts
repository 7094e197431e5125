/**
 * The access paths the query planner composes: batched, resumable scans of one index range or of
 * the documents table in key order, capped counts for cost estimates, and point probes. All take a
 * query *scope*: one collection (the `parent` column / primary key), a collection group under a
 * parent (collection id + key range), or every document under a parent (kindless queries).
 */
import { encodeKey, prefixEnd } from "../../src/model/path.js";

export type Scope =
  | { kind: "collection"; parent: ArrayBuffer }
  | { kind: "group"; collectionId: string; lower: ArrayBuffer; upper: ArrayBuffer }
  | { kind: "kindless"; lower: ArrayBuffer; upper: ArrayBuffer };

export function blob(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? (bytes.buffer as ArrayBuffer)
    : (bytes.slice().buffer as ArrayBuffer);
}

/** The scope of a query over `parent` (document path or ""), by collection id or all descendants. */
export function scopeOf(parent: string, collectionId: string | null, allDescendants: boolean): Scope {
  if (!allDescendants && collectionId !== null) {
    return { kind: "collection", parent: blob(encodeKey(parent === "" ? collectionId : `${parent}/${collectionId}`)) };
  }
  // Descendants of `parent` have keys strictly inside (key(parent), prefixEnd(key(parent))).
  const prefix = encodeKey(parent);
  const range = { lower: blob(prefix), upper: blob(prefixEnd(prefix)) };
  return collectionId === null ? { kind: "kindless", ...range } : { kind: "group", collectionId, ...range };
}

/** A half-open byte range; `undefined` bounds are open. */
export interface Range {
  lower?: ArrayBuffer;
  lowerInclusive?: boolean;
  upper?: ArrayBuffer;
  upperInclusive?: boolean;
}

export interface IndexRow {
  key: ArrayBuffer;
  /** The indexed value (for document scans: the key again). */
  value: ArrayBuffer;
  /** The document's collection key, for point probes of other fields. */
  parent: ArrayBuffer;
  /** The document path (document scans only). */
  path?: string;
}

export type Binding = ArrayBuffer | string | number;

/** SQL condition + bindings restricting index rows to a scope. */
function indexScope(scope: Scope, bindings: Binding[]): string {
  if (scope.kind === "collection") {
    bindings.push(scope.parent);
    return "parent = ?";
  }
  if (scope.kind === "group") {
    bindings.push(scope.collectionId, scope.lower, scope.upper);
    return "collection_id = ? AND key > ? AND key < ?";
  }
  bindings.push(scope.lower, scope.upper);
  return "key > ? AND key < ?";
}

function rangeSql(column: string, range: Range, bindings: Binding[]): string {
  const parts: string[] = [];
  if (range.lower !== undefined) {
    parts.push(`${column} ${range.lowerInclusive === false ? ">" : ">="} ?`);
    bindings.push(range.lower);
  }
  if (range.upper !== undefined) {
    parts.push(`${column} ${range.upperInclusive ? "<=" : "<"} ?`);
    bindings.push(range.upper);
  }
  return parts.length === 0 ? "1" : parts.join(" AND ");
}

export class Scanner {
  /** Rows read from index_entries and documents, for explain's execution stats. */
  indexEntriesScanned = 0;
  documentsScanned = 0;

  constructor(private readonly sql: SqlStorage) {}

  /**
   * Index entries of `field`/`kind` with value in `range`, in (value, key) order (or reverse),
   * strictly after `after`, at most `limit` rows.
   */
  indexScan(
    scope: Scope,
    field: string,
    kind: number,
    range: Range,
    descending: boolean,
    after: { value: ArrayBuffer; key: ArrayBuffer } | undefined,
    limit: number,
  ): IndexRow[] {
    const bindings: Binding[] = [];
    const where = [indexScope(scope, bindings), "field = ?", "kind = ?"];
    bindings.push(field, kind);
    where.push(rangeSql("value", range, bindings));
    if (after) {
      where.push(`(value, key) ${descending ? "<" : ">"} (?, ?)`);
      bindings.push(after.value, after.key);
    }
    const dir = descending ? "DESC" : "ASC";
    bindings.push(limit);
    const rows = this.sql
      .exec<{ key: ArrayBuffer; value: ArrayBuffer; parent: ArrayBuffer }>(
        `SELECT key, value, parent FROM index_entries WHERE ${where.join(" AND ")} ORDER BY value ${dir}, key ${dir} LIMIT ?`,
        ...bindings,
      )
      .toArray();
    this.indexEntriesScanned += rows.length;
    return rows;
  }

  /** How many index entries match, counting at most `cap` (cheap cost estimate). */
  countIndex(scope: Scope, field: string, kind: number, range: Range, cap: number): number {
    const bindings: Binding[] = [];
    const where = [indexScope(scope, bindings), "field = ?", "kind = ?"];
    bindings.push(field, kind);
    where.push(rangeSql("value", range, bindings));
    bindings.push(cap);
    const row = this.sql
      .exec<{ n: number }>(
        `SELECT count(*) AS n FROM (SELECT 1 FROM index_entries WHERE ${where.join(" AND ")} LIMIT ?)`,
        ...bindings,
      )
      .one();
    return Number(row.n);
  }

  /** Whether the document `key` (in collection `parent`) has this exact index entry. */
  hasEntry(parent: ArrayBuffer, field: string, kind: number, value: ArrayBuffer, key: ArrayBuffer): boolean {
    this.indexEntriesScanned++;
    return (
      this.sql
        .exec(
          "SELECT 1 FROM index_entries WHERE parent = ? AND field = ? AND kind = ? AND value = ? AND key = ?",
          parent,
          field,
          kind,
          value,
          key,
        )
        .toArray().length > 0
    );
  }

  /** Document keys of the scope in key order (or reverse), within `keys`, strictly after `after`. */
  documentScan(
    scope: Scope,
    keys: Range,
    descending: boolean,
    after: ArrayBuffer | undefined,
    limit: number,
  ): IndexRow[] {
    const bindings: Binding[] = [];
    const where = [indexScope(scope, bindings), rangeSql("key", keys, bindings)];
    if (after) {
      where.push(`key ${descending ? "<" : ">"} ?`);
      bindings.push(after);
    }
    const dir = descending ? "DESC" : "ASC";
    bindings.push(limit);
    const rows = this.sql
      .exec<{ key: ArrayBuffer; parent: ArrayBuffer; path: string }>(
        `SELECT key, parent, path FROM documents WHERE ${where.join(" AND ")} ORDER BY key ${dir} LIMIT ?`,
        ...bindings,
      )
      .toArray();
    this.indexEntriesScanned += rows.length;
    return rows.map((row) => ({ key: row.key, value: row.key, parent: row.parent, path: row.path }));
  }

  /** How many documents of the scope lie in the key range, counting at most `cap`. */
  countDocuments(scope: Scope, keys: Range, cap: number): number {
    const bindings: Binding[] = [];
    const where = [indexScope(scope, bindings), rangeSql("key", keys, bindings)];
    bindings.push(cap);
    const row = this.sql
      .exec<{ n: number }>(
        `SELECT count(*) AS n FROM (SELECT 1 FROM documents WHERE ${where.join(" AND ")} LIMIT ?)`,
        ...bindings,
      )
      .one();
    return Number(row.n);
  }
}

/** SQL condition + bindings restricting rows of `documents` or `document_history` to a scope. */
export function scopeCondition(scope: Scope, bindings: Binding[]): string {
  return indexScope(scope, bindings);
}
