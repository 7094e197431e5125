/**
 * `StructuredQuery` (proto3 JSON) → `NormalizedQuery`: decoding, validation and Firestore's
 * implicit ordering. Pure: no I/O, no clock.
 *
 * Implicit ordering (query.proto `order_by` comment; firebase-js-sdk `queryNormalizedOrderBy`):
 * explicit orders as given; then every inequality field not already ordered, in field-path order,
 * with the direction of the last explicit order; then `__name__` in that direction unless it is
 * already ordered. With no explicit order the direction is ASCENDING.
 */
import { invalidArgument } from "../errors/index.js";
import { fieldPathKey, formatFieldPath } from "../model/field-path.js";
import { type DatabaseRef, validateId } from "../model/path.js";
import { bool, enumValue, int32, list, message, str } from "../validation/proto-json.js";
import { decodeValue } from "../validation/values.js";
import { bad, decodeFieldReference, int32Wrapper } from "./decode-util.js";
import { checkKeyReference, decodeFilter, inequalityFields, leafFilters, maxPerTerm } from "./filters.js";
import { decodeFindNearest } from "./find-nearest.js";
import { type Cursor, type Filter, isKeyField, KEY_FIELD, type NormalizedQuery, type Order } from "./types.js";

export { decodeAggregations } from "./aggregate.js";

/** Firestore's limit on filters + sort orders + parent (1 for a subcollection) per DNF term. */
export const MAX_QUERY_COMPLEXITY = 100;

const QUERY_FIELDS = ["select", "from", "where", "orderBy", "startAt", "endAt", "offset", "limit", "findNearest"];
const DIRECTIONS = { DIRECTION_UNSPECIFIED: 0, ASCENDING: 1, DESCENDING: 2 };

function decodeFrom(json: unknown, where: string): Pick<NormalizedQuery, "collectionId" | "allDescendants"> {
  const selectors = list(json, where);
  if (selectors.length !== 1) {
    throw bad(
      where,
      `a query must select exactly one collection (one CollectionSelector in 'from'), got ${selectors.length}`,
    );
  }
  const w = `${where}[0]`;
  const msg = message(selectors[0], w, ["collectionId", "allDescendants"]);
  const id = msg.collectionId === undefined ? "" : str(msg.collectionId, `${w}.collectionId`);
  if (id !== "") validateId(id, "collection", `Invalid query at '${w}.collectionId'`);
  const allDescendants = msg.allDescendants === undefined ? false : bool(msg.allDescendants, `${w}.allDescendants`);
  return { collectionId: id === "" ? null : id, allDescendants };
}

function decodeProjection(json: unknown, where: string): string[][] | undefined {
  const msg = message(json, where, ["fields"]);
  const refs = list(msg.fields, `${where}.fields`);
  // An empty projection means "all fields" (query.proto Projection.fields).
  if (refs.length === 0) return undefined;
  const paths = refs.map((r, i) => decodeFieldReference(r, `${where}.fields[${i}]`));
  // `__name__` asks for the name only; the name is always returned, so it selects no field.
  return paths.filter((p) => !isKeyField(p));
}

function decodeOrders(json: unknown, where: string): Order[] {
  const orders: Order[] = [];
  const seen = new Set<string>();
  list(json, where).forEach((raw, i) => {
    const w = `${where}[${i}]`;
    const msg = message(raw, w, ["field", "direction"]);
    if (msg.field === undefined) throw bad(w, "an order needs a field");
    const field = decodeFieldReference(msg.field, `${w}.field`);
    // DIRECTION_UNSPECIFIED means ASCENDING (query.proto Order.direction).
    const dir = enumValue(msg.direction ?? 0, `${w}.direction`, "Direction", DIRECTIONS);
    const key = fieldPathKey(field);
    // Both rules are backend errors ("Order by clause cannot contain duplicate fields" /
    // "... cannot contain more fields after the key").
    if (seen.has(key)) throw bad(w, `order by clause cannot contain duplicate fields (${formatFieldPath(field)})`);
    if (seen.has(KEY_FIELD)) {
      throw bad(w, `order by clause cannot contain more fields after the key __name__ (${formatFieldPath(field)})`);
    }
    seen.add(key);
    orders.push({ field, descending: dir === "DESCENDING" });
  });
  return orders;
}

/**
 * Kindless queries (no collection id: every collection under the parent, as recursiveDelete
 * sends them) may filter only on `__name__` and order only by `__name__` ascending, in Cloud
 * Firestore's words (the Datastore backend names the collection id "kind" and `__name__`
 * `__key__`). `orderBy` is the normalized order, so a descending `__name__` from the client (or
 * from limitToLast, which reverses it) is caught here too.
 */
export function checkKindless(
  query: Pick<NormalizedQuery, "collectionId" | "filter" | "orderBy" | "findNearest">,
): void {
  if (query.collectionId !== null) return;
  const leaf = query.filter === undefined ? undefined : leafFilters(query.filter).find((f) => !isKeyField(f.field));
  if (leaf !== undefined) throw invalidArgument(`kind is required for filter: ${formatFieldPath(leaf.field)}`);
  if (query.orderBy.some((o) => !isKeyField(o.field) || o.descending)) {
    throw invalidArgument("kind is required for all orders except __key__ ascending");
  }
  if (query.findNearest !== undefined) {
    throw invalidArgument("kind is required for findNearest (a vector search needs a collection id)");
  }
}

/** Completes explicit orders with the implicit ones (see the file comment). */
export function normalizeOrderBy(explicit: readonly Order[], filter: Filter | undefined): Order[] {
  const out = explicit.map((o) => ({ field: [...o.field], descending: o.descending }));
  const ordered = new Set(out.map((o) => fieldPathKey(o.field)));
  const descending = out.length > 0 && (out[out.length - 1] as Order).descending;
  for (const field of inequalityFields(filter)) {
    // The key is always last, whatever its place in field-path order (query.proto example
    // `WHERE __name__ > ... AND a > 1` → `ORDER BY a ASC, __name__ ASC`).
    if (!isKeyField(field) && !ordered.has(fieldPathKey(field))) out.push({ field, descending });
  }
  if (!ordered.has(KEY_FIELD)) out.push({ field: [KEY_FIELD], descending });
  return out;
}

function decodeCursor(json: unknown, orderBy: readonly Order[], db: DatabaseRef, where: string): Cursor {
  const msg = message(json, where, ["values", "before"]);
  const raw = list(msg.values, `${where}.values`);
  if (raw.length > orderBy.length) {
    throw bad(
      where,
      `the cursor has ${raw.length} values but the query is ordered by only ${orderBy.length} fields (${orderBy.map((o) => formatFieldPath(o.field)).join(", ")}); a cursor gives values for a prefix of the order`,
    );
  }
  const values = raw.map((v, i) => {
    const w = `${where}.values[${i}]`;
    const value = decodeValue(v, w);
    if (isKeyField((orderBy[i] as Order).field))
      checkKeyReference(value, db, w, `cursor value ${i} (ordered by __name__)`);
    return value;
  });
  return { values, before: msg.before === undefined ? false : bool(msg.before, `${where}.before`) };
}

/**
 * Decodes and validates a proto3-JSON `StructuredQuery` run under `parent` (a document path
 * relative to the database root, "" for the root) and returns its normalized form.
 */
export function decodeStructuredQuery(json: unknown, db: DatabaseRef, parent: string, where: string): NormalizedQuery {
  const msg = message(json, where, QUERY_FIELDS);
  const { collectionId, allDescendants } = decodeFrom(msg.from, `${where}.from`);
  const query: NormalizedQuery = { parent, collectionId, allDescendants, orderBy: [], offset: 0 };

  if (msg.select !== undefined) {
    const projection = decodeProjection(msg.select, `${where}.select`);
    if (projection !== undefined) query.projection = projection;
  }
  if (msg.where !== undefined) query.filter = decodeFilter(msg.where, db, `${where}.where`);
  query.orderBy = normalizeOrderBy(decodeOrders(msg.orderBy, `${where}.orderBy`), query.filter);

  if (msg.startAt !== undefined) query.startAt = decodeCursor(msg.startAt, query.orderBy, db, `${where}.startAt`);
  if (msg.endAt !== undefined) query.endAt = decodeCursor(msg.endAt, query.orderBy, db, `${where}.endAt`);

  if (msg.offset !== undefined) {
    query.offset = int32(msg.offset, `${where}.offset`);
    if (query.offset < 0) throw bad(`${where}.offset`, `offset must be >= 0, got ${query.offset}`);
  }
  if (msg.limit !== undefined) {
    query.limit = int32Wrapper(msg.limit, `${where}.limit`);
    if (query.limit < 0) throw bad(`${where}.limit`, `limit must be >= 0, got ${query.limit}`);
  }

  if (msg.findNearest !== undefined) {
    // Vector queries do not support cursors (nodejs-firestore VectorQuery: "Vector query does not
    // support cursors yet", which it attributes to the backend).
    if (query.startAt !== undefined || query.endAt !== undefined) {
      throw bad(`${where}.findNearest`, "findNearest cannot be combined with startAt/endAt cursors");
    }
    query.findNearest = decodeFindNearest(msg.findNearest, `${where}.findNearest`);
  }

  checkKindless(query);

  // Filters + sort orders + parent document, per DNF term (docs "Query limitations").
  const filters = query.filter === undefined ? 0 : maxPerTerm(query.filter, () => 1);
  const complexity = filters + query.orderBy.length + (parent === "" ? 0 : 1);
  if (complexity > MAX_QUERY_COMPLEXITY) {
    throw bad(
      where,
      `the query is too complex: filters (${filters}) + sort orders (${query.orderBy.length}) + parent (${parent === "" ? 0 : 1}) = ${complexity}, more than the limit of ${MAX_QUERY_COMPLEXITY}`,
    );
  }
  return query;
}
