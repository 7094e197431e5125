/**
 * Automatic single-field indexes: every field of every document (nested map fields included) is
 * indexed by its value, and every element of an array field by `array-contains` entries, in the
 * `index_entries` table, with Firestore's value order as byte order (`encodeIndexValue`).
 *
 * One row serves collection queries (primary key: parent collection, field, kind, value, key) and
 * collection-group queries (secondary index: collection id, field, kind, value, key); SQLite scans
 * both directions, so one ascending entry also serves descending orders. Maintenance diffs the old
 * and new fields of a document, so an update touches only the entries of fields that changed, and
 * runs inside the commit's `transactionSync`.
 */
import { binaryString } from "../../src/model/bytes.js";
import { formatFieldPath } from "../../src/model/field-path.js";
import { collectionIdOf, collectionOf, encodeKey } from "../../src/model/path.js";
import type { Fields, Value } from "../../src/model/types.js";
import { isVectorValue } from "../../src/model/values.js";
import { encodeIndexValue } from "../../src/query/index-encoding.js";
import { blob } from "./scan.js";

/** `kind` column: the field's own value, or one element of the array stored at the field. */
export const VALUE = 0;
export const ARRAY_ELEMENT = 1;

interface Entry {
  field: string;
  kind: number;
  value: Uint8Array;
}

/** A string uniquely identifying an entry, for diffing (bytes as a binary string). */
function entryId(e: Entry): string {
  return `${e.kind}\u0000${e.field}\u0000${binaryString(e.value)}`;
}

/** All index entries of a document's fields. */
export function indexEntries(fields: Fields): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const add = (e: Entry) => out.set(entryId(e), e);
  const walk = (map: Fields, prefix: string[]) => {
    for (const [name, value] of Object.entries(map)) {
      const path = [...prefix, name];
      const field = formatFieldPath(path);
      add({ field, kind: VALUE, value: encodeIndexValue(value) });
      if ("arrayValue" in value) {
        for (const element of value.arrayValue.values) {
          add({ field, kind: ARRAY_ELEMENT, value: encodeIndexValue(element) });
        }
      } else if ("mapValue" in value && !isVectorValue(value as Value)) {
        walk(value.mapValue.fields, path);
      }
    }
  };
  walk(fields, []);
  return out;
}

/** Brings the index entries of `path` from `before` to `after` (null: no document). */
export function reindex(sql: SqlStorage, path: string, before: Fields | null, after: Fields | null): void {
  const old = before ? indexEntries(before) : new Map<string, Entry>();
  const next = after ? indexEntries(after) : new Map<string, Entry>();
  const key = blob(encodeKey(path));
  const parent = blob(encodeKey(collectionOf(path)));
  for (const [id, e] of old) {
    if (next.has(id)) continue;
    sql.exec(
      "DELETE FROM index_entries WHERE parent = ? AND field = ? AND kind = ? AND value = ? AND key = ?",
      parent,
      e.field,
      e.kind,
      blob(e.value),
      key,
    );
  }
  if (next.size === 0) return;
  const collectionId = collectionIdOf(path);
  for (const [id, e] of next) {
    if (old.has(id)) continue;
    sql.exec(
      "INSERT OR REPLACE INTO index_entries (parent, collection_id, field, kind, value, key) VALUES (?, ?, ?, ?, ?, ?)",
      parent,
      collectionId,
      e.field,
      e.kind,
      blob(e.value),
      key,
    );
  }
}
