/**
 * The reference evaluator: runs a NormalizedQuery over an array of documents by brute force.
 * It is the oracle for the SQLite engine and the fallback for queries no index serves, so it
 * favours being obviously right; everything is O(n log n) in the number of documents.
 *
 * Matching rules (firebase-js-sdk core/filter.ts, which mirrors the backend; Firestore docs
 * "Query operators"):
 * - A missing field matches nothing, not even `!=`, `NOT_IN` or `IS_NOT_NULL`.
 * - `==`, `<`, `<=`, `>`, `>=` are type-bracketed: they only match values of the operand's type
 *   order (ints and doubles share one, compared as numbers; NaN sorts below every number).
 * - `!=` and `NOT_IN` match values of any type except null; `NOT_IN` with null among its values
 *   matches nothing; `IS_NOT_NAN` matches every non-null value that is not NaN.
 * - Equality inside `IN`, `NOT_IN`, `ARRAY_CONTAINS(_ANY)` is `compareValues(...) === 0`, the
 *   index's notion: 1 equals 1.0, 0 equals -0, NaN equals NaN. (The SDK's local `valueEquals`
 *   is stricter about int vs double, but the backend compares index entries, where they coincide.)
 * - `ARRAY_CONTAINS(_ANY)` only match arrays.
 * - Ordering by a field requires it to exist; inequality fields are in the normalized order, so
 *   they require existence too (docs "orderBy and existence").
 */
import { getField, projectFields, setField } from "../model/field-path.js";
import type { Fields, Value } from "../model/types.js";
import { canonicalDouble, compareValues, isNaNValue, typeOrder } from "../model/values.js";
import { compareDistances, vectorComponents, vectorDistance, withinThreshold } from "./find-nearest.js";
import {
  type Cursor,
  type Filter,
  type FindNearest,
  isKeyField,
  type NormalizedQuery,
  type Order,
  type QueryDoc,
} from "./types.js";

/** What a filter or order on `field` sees: the key as a referenceValue, a field, or undefined. */
export function fieldValueOf(doc: QueryDoc, field: readonly string[]): Value | undefined {
  return isKeyField(field) ? { referenceValue: doc.name } : getField(doc.fields, field);
}

/** Whether a document path lies in the query's scope (parent, collection id, descendants). */
export function inScope(
  query: Pick<NormalizedQuery, "parent" | "collectionId" | "allDescendants">,
  path: string,
): boolean {
  const segments = path.split("/");
  if (segments.length < 2 || segments.length % 2 !== 0) return false;
  const prefix = query.parent === "" ? [] : query.parent.split("/");
  if (segments.length < prefix.length + 2) return false;
  for (let i = 0; i < prefix.length; i++) if (segments[i] !== prefix[i]) return false;
  // Direct children sit exactly two segments below the parent; descendants anywhere below it.
  if (!query.allDescendants && segments.length !== prefix.length + 2) return false;
  return query.collectionId === null || segments[segments.length - 2] === query.collectionId;
}

function same(a: Value, b: Value): boolean {
  return compareValues(a, b) === 0;
}

function operandValues(v: Value): Value[] {
  return "arrayValue" in v ? v.arrayValue.values : [];
}

function matchesLeaf(v: Value | undefined, f: Extract<Filter, { kind: "field" | "unary" }>): boolean {
  if (v === undefined) return false;
  const isNull = "nullValue" in v;
  if (f.kind === "unary") {
    switch (f.op) {
      case "IS_NULL":
        return isNull;
      case "IS_NAN":
        return isNaNValue(v);
      case "IS_NOT_NULL":
        return !isNull;
      case "IS_NOT_NAN":
        return !isNull && !isNaNValue(v);
    }
  }
  const operand = f.value;
  switch (f.op) {
    case "EQUAL":
    case "LESS_THAN":
    case "LESS_THAN_OR_EQUAL":
    case "GREATER_THAN":
    case "GREATER_THAN_OR_EQUAL": {
      if (typeOrder(v) !== typeOrder(operand)) return false;
      // Ranges never match null or NaN (nor take them as operand), although both sort first in an
      // order: production Firestore answers `sort <= 2` without the NaN document (nodejs-firestore
      // system test "multiple inequality can use on special values"). Equality still matches them.
      if (f.op !== "EQUAL" && (isNull || isNaNValue(v) || isNaNValue(operand) || "nullValue" in operand)) return false;
      const c = compareValues(v, operand);
      if (f.op === "EQUAL") return c === 0;
      if (f.op === "LESS_THAN") return c < 0;
      if (f.op === "LESS_THAN_OR_EQUAL") return c <= 0;
      if (f.op === "GREATER_THAN") return c > 0;
      return c >= 0;
    }
    case "NOT_EQUAL":
      return !isNull && !same(v, operand);
    case "IN":
      return operandValues(operand).some((o) => same(v, o));
    case "NOT_IN": {
      const values = operandValues(operand);
      if (values.some((o) => "nullValue" in o)) return false;
      return !isNull && !values.some((o) => same(v, o));
    }
    case "ARRAY_CONTAINS":
      return "arrayValue" in v && v.arrayValue.values.some((e) => same(e, operand));
    case "ARRAY_CONTAINS_ANY": {
      if (!("arrayValue" in v)) return false;
      const wanted = operandValues(operand);
      return v.arrayValue.values.some((e) => wanted.some((o) => same(e, o)));
    }
  }
}

/** Whether a document satisfies a filter tree. */
export function matches(doc: QueryDoc, filter: Filter): boolean {
  switch (filter.kind) {
    case "and":
      return filter.filters.every((f) => matches(doc, f));
    case "or":
      return filter.filters.some((f) => matches(doc, f));
    default:
      return matchesLeaf(fieldValueOf(doc, filter.field), filter);
  }
}

/** Whether a document has every ordered field (the key always exists). */
export function hasOrderFields(doc: QueryDoc, orderBy: readonly Order[]): boolean {
  return orderBy.every((o) => fieldValueOf(doc, o.field) !== undefined);
}

/** Sort comparator under an order; both documents must have every ordered field. */
export function compareByOrder(a: QueryDoc, b: QueryDoc, orderBy: readonly Order[]): number {
  for (const o of orderBy) {
    const c = compareValues(fieldValueOf(a, o.field) as Value, fieldValueOf(b, o.field) as Value);
    if (c !== 0) return o.descending ? -c : c;
  }
  return 0;
}

/**
 * Where the cursor position lies relative to a document, in query order: negative if the
 * position sorts first, 0 if the document equals it on the cursor's prefix of the order.
 * (firebase-js-sdk core/bound.ts `boundCompareToDocument`.)
 */
export function compareCursorToDoc(cursor: Cursor, orderBy: readonly Order[], doc: QueryDoc): number {
  for (let i = 0; i < cursor.values.length; i++) {
    const o = orderBy[i] as Order;
    const c = compareValues(cursor.values[i] as Value, fieldValueOf(doc, o.field) as Value);
    if (c !== 0) return o.descending ? -c : c;
  }
  return 0;
}

/** Whether a document is at or after a startAt cursor (documents equal to it count iff `before`). */
export function afterStart(doc: QueryDoc, cursor: Cursor, orderBy: readonly Order[]): boolean {
  const c = compareCursorToDoc(cursor, orderBy, doc);
  return cursor.before ? c <= 0 : c < 0;
}

/** Whether a document is at or before an endAt cursor (documents equal to it count iff `!before`). */
export function beforeEnd(doc: QueryDoc, cursor: Cursor, orderBy: readonly Order[]): boolean {
  const c = compareCursorToDoc(cursor, orderBy, doc);
  return cursor.before ? c > 0 : c >= 0;
}

export interface Ranked {
  doc: QueryDoc;
  distance: number;
}

/**
 * Nearest neighbours of already ordered documents: documents whose field is not a vector of the
 * query's dimension (or whose distance is undefined) are skipped, the threshold applies, and the
 * nearest `limit` come first. Equal distances keep the query order (ending with __name__), which
 * Firestore leaves unspecified, so results are deterministic.
 */
export function nearest(ordered: readonly QueryDoc[], fn: FindNearest): Ranked[] {
  const ranked: Ranked[] = [];
  for (const doc of ordered) {
    const v = vectorComponents(getField(doc.fields, fn.field));
    if (v === undefined || v.length !== fn.queryVector.length) continue;
    const distance = vectorDistance(fn.measure, v, fn.queryVector);
    if (Number.isNaN(distance) || !withinThreshold(fn.measure, distance, fn.distanceThreshold)) continue;
    ranked.push({ doc, distance });
  }
  // Array.prototype.sort is stable, so ties stay in query order.
  ranked.sort((a, b) => compareDistances(fn.measure, a.distance, b.distance));
  return ranked.slice(0, fn.limit);
}

/** A ranked document as the query returns it: projected, with its distance field if asked. */
export function output({ doc, distance }: Ranked, query: NormalizedQuery): QueryDoc {
  let fields: Fields = doc.fields;
  const target = query.findNearest?.distanceResultField;
  if (target !== undefined && !Number.isNaN(distance)) {
    // setField mutates the maps along the path, so work on a copy.
    fields = structuredClone(fields);
    setField(fields, target, canonicalDouble(distance));
  }
  // The distance is written first so a select that names distanceResultField keeps it, as the
  // vector search guide requires.
  if (query.projection !== undefined) fields = projectFields(fields, query.projection);
  return { ...doc, fields };
}

/**
 * Whether a document is in a query's result before ranking: scope, filter, ordered fields
 * present, cursors.
 */
export function selects(query: NormalizedQuery, d: QueryDoc): boolean {
  const { filter, orderBy, startAt, endAt } = query;
  return (
    inScope(query, d.path) &&
    (filter === undefined || matches(d, filter)) &&
    hasOrderFields(d, orderBy) &&
    (startAt === undefined || afterStart(d, startAt, orderBy)) &&
    (endAt === undefined || beforeEnd(d, endAt, orderBy))
  );
}

/** The fields a query reads to select and rank documents (filters, order, vector field). */
export function fieldsRead(query: NormalizedQuery): string[][] {
  const out: string[][] = query.orderBy.map((o) => o.field);
  const walk = (f: Filter) => {
    if (f.kind === "field" || f.kind === "unary") out.push(f.field);
    else f.filters.forEach(walk);
  };
  if (query.filter !== undefined) walk(query.filter);
  if (query.findNearest !== undefined) out.push(query.findNearest.field);
  return out.filter((f) => !isKeyField(f));
}

/**
 * A normalized query's result before its output shape: scope, filter, order (documents missing
 * an ordered field are dropped), cursors, findNearest, offset, limit.
 */
export function rankQuery(query: NormalizedQuery, docs: readonly QueryDoc[]): Ranked[] {
  const selected = docs.filter((d) => selects(query, d));
  selected.sort((a, b) => compareByOrder(a, b, query.orderBy));
  const ranked: Ranked[] =
    query.findNearest === undefined
      ? selected.map((doc) => ({ doc, distance: Number.NaN }))
      : nearest(selected, query.findNearest);
  const end = query.limit === undefined ? undefined : query.offset + query.limit;
  return ranked.slice(query.offset, end);
}

/** Runs a normalized query: `rankQuery`, then projection (and the distance field). */
export function runQuery(query: NormalizedQuery, docs: readonly QueryDoc[]): QueryDoc[] {
  return rankQuery(query, docs).map((r) => output(r, query));
}
