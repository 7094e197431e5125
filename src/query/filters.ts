/**
 * Decoding, normalization and validation of `StructuredQuery.Filter` trees.
 *
 * Sources for the rules (google/firestore/v1/query.proto operator comments; "Query limitations"
 * and "Limits on OR queries" in the Firestore docs; firebase-js-sdk `lite-api/query.ts`
 * `conflictingOps`, `remote/serializer.ts` `toUnaryOrFieldFilter`):
 * - `IN`, `NOT_IN`, `ARRAY_CONTAINS_ANY` need a non-empty `arrayValue`; `NOT_IN` at most 10 values.
 * - At most one of `NOT_EQUAL`, `NOT_IN`, `IS_NOT_NULL`, `IS_NOT_NAN` per query.
 * - `NOT_IN` cannot be combined with `IN`, `ARRAY_CONTAINS_ANY` or `OR`.
 * - At most 30 disjunctions in disjunctive normal form (`IN`/`ARRAY_CONTAINS_ANY` with n values
 *   count as an OR of n equalities).
 * - At most one `ARRAY_CONTAINS`/`ARRAY_CONTAINS_ANY` per disjunction (DNF term).
 * - At most 10 distinct range/inequality fields.
 * The messages of these rules are Cloud Firestore's (as its INVALID_ARGUMENT answers word them).
 */
import { invalidArgument } from "../errors/index.js";
import { fieldPathKey, formatFieldPath } from "../model/field-path.js";
import { type DatabaseRef, parseDocumentName } from "../model/path.js";
import type { Value } from "../model/types.js";
import { compareSegments, isNaNValue } from "../model/values.js";
import { enumValue, list, message, oneof } from "../validation/proto-json.js";
import { decodeValue } from "../validation/values.js";
import { bad, decodeFieldReference } from "./decode-util.js";
import { type FieldOp, type Filter, isKeyField, type UnaryOp } from "./types.js";

/** Firestore's limit on disjunctions in a query's disjunctive normal form. */
export const MAX_DISJUNCTIONS = 30;
/** Firestore's limit on `NOT_IN` values. */
export const MAX_NOT_IN_VALUES = 10;
/** Firestore's limit on distinct range/inequality fields. */
export const MAX_INEQUALITY_FIELDS = 10;

const COMPOSITE_OPS = { OPERATOR_UNSPECIFIED: 0, AND: 1, OR: 2 };
const FIELD_OPS = {
  OPERATOR_UNSPECIFIED: 0,
  LESS_THAN: 1,
  LESS_THAN_OR_EQUAL: 2,
  GREATER_THAN: 3,
  GREATER_THAN_OR_EQUAL: 4,
  EQUAL: 5,
  NOT_EQUAL: 6,
  ARRAY_CONTAINS: 7,
  IN: 8,
  ARRAY_CONTAINS_ANY: 9,
  NOT_IN: 10,
};
const UNARY_OPS = { OPERATOR_UNSPECIFIED: 0, IS_NAN: 2, IS_NULL: 3, IS_NOT_NAN: 4, IS_NOT_NULL: 5 };

const ARRAY_OPERAND_OPS: ReadonlySet<FieldOp> = new Set(["IN", "NOT_IN", "ARRAY_CONTAINS_ANY"]);
const RANGE_OPS: ReadonlySet<string> = new Set([
  "LESS_THAN",
  "LESS_THAN_OR_EQUAL",
  "GREATER_THAN",
  "GREATER_THAN_OR_EQUAL",
]);
/** The "not equal" family: only one of these per query (query.proto, NOT_EQUAL/IS_NOT_* notes). */
const NOT_EQUAL_LIKE: ReadonlySet<string> = new Set(["NOT_EQUAL", "NOT_IN", "IS_NOT_NULL", "IS_NOT_NAN"]);

/** Checks that a `__name__` operand is a reference to a document of the queried database. */
export function checkKeyReference(v: Value, db: DatabaseRef, where: string, what: string): void {
  if (!("referenceValue" in v)) {
    throw bad(where, `${what} on __name__ must be a referenceValue (a full document name), not ${Object.keys(v)[0]}`);
  }
  parseDocumentName(v.referenceValue, db, where);
}

function decodeArrayOperand(json: unknown, op: FieldOp, where: string): Value[] {
  const isObject = typeof json === "object" && json !== null && !Array.isArray(json);
  const keys = isObject ? Object.keys(json) : [];
  const key = keys.length === 1 ? keys[0] : undefined;
  if (key !== "arrayValue" && key !== "array_value") {
    throw bad(where, `${op} requires an arrayValue operand (the values to match), e.g. {"arrayValue":{"values":[…]}}`);
  }
  const inner = message((json as Record<string, unknown>)[key], `${where}.arrayValue`, ["values"]);
  const raw = list(inner.values, `${where}.arrayValue.values`);
  if (raw.length === 0) throw bad(where, `${op} requires a non-empty array of values`);
  if (op === "NOT_IN" && raw.length > MAX_NOT_IN_VALUES) {
    throw invalidArgument(`'NOT_IN' supports up to ${MAX_NOT_IN_VALUES} comparison values.`);
  }
  // Decoded one by one: IN/NOT_IN may compare against whole arrays ("in [[1, 2]]"), which a
  // single decodeValue of the operand would refuse as an array directly inside an array.
  return raw.map((e, i) => {
    const w = `${where}.arrayValue.values[${i}]`;
    const v = decodeValue(e, w, 1);
    if (op === "ARRAY_CONTAINS_ANY" && "arrayValue" in v) {
      throw bad(w, "ARRAY_CONTAINS_ANY values cannot be arrays (array elements are never arrays)");
    }
    return v;
  });
}

function decodeFieldFilter(json: unknown, db: DatabaseRef, where: string): Filter {
  const msg = message(json, where, ["field", "op", "value"]);
  if (msg.field === undefined) throw bad(where, "a fieldFilter needs a field");
  const field = decodeFieldReference(msg.field, `${where}.field`);
  const op = enumValue(msg.op ?? 0, `${where}.op`, "FieldFilter.Operator", FIELD_OPS) as
    | FieldOp
    | "OPERATOR_UNSPECIFIED";
  if (op === "OPERATOR_UNSPECIFIED") throw bad(`${where}.op`, "the fieldFilter operator must be set");
  if (msg.value === undefined)
    throw bad(where, `a fieldFilter needs a value to compare ${formatFieldPath(field)} with`);
  const vw = `${where}.value`;
  const key = isKeyField(field);
  if (ARRAY_OPERAND_OPS.has(op)) {
    if (key && op === "ARRAY_CONTAINS_ANY") throw bad(`${where}.op`, "ARRAY_CONTAINS_ANY cannot be used on __name__");
    const values = decodeArrayOperand(msg.value, op, vw);
    if (key) {
      for (const [i, v] of values.entries()) checkKeyReference(v, db, `${vw}.arrayValue.values[${i}]`, `${op} values`);
    }
    return { kind: "field", field, op, value: { arrayValue: { values } } };
  }
  const value = decodeValue(msg.value, vw);
  if (key) {
    if (op === "ARRAY_CONTAINS") throw bad(`${where}.op`, "ARRAY_CONTAINS cannot be used on __name__");
    checkKeyReference(value, db, vw, "a filter value");
    return { kind: "field", field, op, value };
  }
  if (op === "ARRAY_CONTAINS" && "arrayValue" in value) {
    throw bad(vw, "ARRAY_CONTAINS cannot look for an array (array elements are never arrays)");
  }
  // `== null`, `== NaN`, `!= null`, `!= NaN` are the unary filters the SDKs send for them
  // (firebase-js-sdk serializer toUnaryOrFieldFilter); one spelling keeps the planner simple.
  if (op === "EQUAL" || op === "NOT_EQUAL") {
    const eq = op === "EQUAL";
    if ("nullValue" in value) return { kind: "unary", field, op: eq ? "IS_NULL" : "IS_NOT_NULL" };
    if (isNaNValue(value)) return { kind: "unary", field, op: eq ? "IS_NAN" : "IS_NOT_NAN" };
  }
  return { kind: "field", field, op, value };
}

function decodeUnaryFilter(json: unknown, where: string): Filter {
  const msg = message(json, where, ["op", "field"]);
  const op = enumValue(msg.op ?? 0, `${where}.op`, "UnaryFilter.Operator", UNARY_OPS) as
    | UnaryOp
    | "OPERATOR_UNSPECIFIED";
  if (op === "OPERATOR_UNSPECIFIED") throw bad(`${where}.op`, "the unaryFilter operator must be set");
  if (msg.field === undefined) throw bad(where, "a unaryFilter needs a field");
  const field = decodeFieldReference(msg.field, `${where}.field`);
  if (isKeyField(field)) throw bad(where, `${op} cannot be applied to __name__ (a document name is never null or NaN)`);
  return { kind: "unary", field, op };
}

/** Flattens nested same-op composites and unwraps single-child composites (semantics unchanged). */
function simplify(kind: "and" | "or", children: Filter[]): Filter {
  const out: Filter[] = [];
  for (const c of children) {
    if (c.kind === kind) out.push(...c.filters);
    else out.push(c);
  }
  return out.length === 1 ? (out[0] as Filter) : { kind, filters: out };
}

function decodeFilterNode(json: unknown, db: DatabaseRef, where: string): Filter {
  const msg = message(json, where, ["compositeFilter", "fieldFilter", "unaryFilter"]);
  const which = oneof(msg, ["compositeFilter", "fieldFilter", "unaryFilter"], where);
  const w = `${where}.${which}`;
  if (which === "fieldFilter") return decodeFieldFilter(msg.fieldFilter, db, w);
  if (which === "unaryFilter") return decodeUnaryFilter(msg.unaryFilter, w);
  const comp = message(msg.compositeFilter, w, ["op", "filters"]);
  const op = enumValue(comp.op ?? 0, `${w}.op`, "CompositeFilter.Operator", COMPOSITE_OPS);
  if (op === "OPERATOR_UNSPECIFIED") throw bad(`${w}.op`, "the compositeFilter operator must be AND or OR");
  const raw = list(comp.filters, `${w}.filters`);
  if (raw.length === 0) throw bad(w, "a compositeFilter needs at least one filter");
  const children = raw.map((f, i) => decodeFilterNode(f, db, `${w}.filters[${i}]`));
  return simplify(op === "AND" ? "and" : "or", children);
}

/** Every field/unary filter of a tree, depth first. */
export function leafFilters(filter: Filter): Extract<Filter, { kind: "field" | "unary" }>[] {
  if (filter.kind === "field" || filter.kind === "unary") return [filter];
  return filter.filters.flatMap(leafFilters);
}

/** Whether a leaf filter is a range/inequality (implies ordering by, and existence of, its field). */
export function isInequality(f: Extract<Filter, { kind: "field" | "unary" }>): boolean {
  return RANGE_OPS.has(f.op) || NOT_EQUAL_LIKE.has(f.op);
}

/** Compares field paths segment-wise (firebase-js-sdk `FieldPath.comparator`). */
export function compareFieldPaths(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareSegments(a[i] as string, b[i] as string);
    if (c !== 0) return c;
  }
  return a.length - b.length;
}

/** Distinct inequality fields of a filter, sorted by field path. */
export function inequalityFields(filter: Filter | undefined): string[][] {
  if (filter === undefined) return [];
  const seen = new Map<string, string[]>();
  for (const f of leafFilters(filter)) if (isInequality(f)) seen.set(fieldPathKey(f.field), f.field);
  return [...seen.values()].sort(compareFieldPaths);
}

/** Number of disjunctions in DNF (capped, so deep trees cannot overflow). */
export function countDisjunctions(f: Filter): number {
  const CAP = 1e9;
  if (f.kind === "unary") return 1;
  if (f.kind === "field") {
    return (f.op === "IN" || f.op === "ARRAY_CONTAINS_ANY") && "arrayValue" in f.value
      ? f.value.arrayValue.values.length
      : 1;
  }
  if (f.kind === "or")
    return Math.min(
      CAP,
      f.filters.reduce((n, c) => n + countDisjunctions(c), 0),
    );
  return Math.min(
    CAP,
    f.filters.reduce((n, c) => n * countDisjunctions(c), 1),
  );
}

/** The largest value of a per-leaf measure over the DNF terms (AND adds up, OR takes the max). */
export function maxPerTerm(f: Filter, leaf: (f: Extract<Filter, { kind: "field" | "unary" }>) => number): number {
  if (f.kind === "field" || f.kind === "unary") return leaf(f);
  const parts = f.filters.map((c) => maxPerTerm(c, leaf));
  return f.kind === "and" ? parts.reduce((a, b) => a + b, 0) : Math.max(...parts);
}

/**
 * The backend's combination and limit rules. Their messages are Cloud Firestore's own wording
 * (clients and tests match on it), so they carry no location: each rule is about the whole query.
 */
function validateFilterRules(filter: Filter): void {
  const leaves = leafFilters(filter);
  const notEqual = leaves.filter((f) => NOT_EQUAL_LIKE.has(f.op));
  if (notEqual.length > 1) {
    throw invalidArgument(
      "Only a single 'NOT_EQUAL', 'NOT_IN', 'IS_NOT_NAN', or 'IS_NOT_NULL' filter allowed per query.",
    );
  }
  if (
    notEqual[0]?.op === "NOT_IN" &&
    (hasOr(filter) || leaves.some((f) => f.op === "IN" || f.op === "ARRAY_CONTAINS_ANY"))
  ) {
    throw invalidArgument("'NOT_IN' cannot be used in the same query with 'IN', 'ARRAY_CONTAINS_ANY' or 'OR'.");
  }
  const disjunctions = countDisjunctions(filter);
  if (disjunctions > MAX_DISJUNCTIONS) {
    throw invalidArgument(
      `Too many disjunctions after normalization. Result had ${disjunctions} disjunctions which is more than the maximum of ${MAX_DISJUNCTIONS}`,
    );
  }
  const arrayContains = (f: Extract<Filter, { kind: "field" | "unary" }>) =>
    f.op === "ARRAY_CONTAINS" || f.op === "ARRAY_CONTAINS_ANY" ? 1 : 0;
  if (maxPerTerm(filter, arrayContains) > 1) {
    throw invalidArgument("A maximum of 1 'ARRAY_CONTAINS' filter is allowed per disjunction.");
  }
  const inequalities = inequalityFields(filter);
  if (inequalities.length > MAX_INEQUALITY_FIELDS) {
    throw invalidArgument(
      `The query contains ${inequalities.length} distinct inequality fields: [${inequalities.map(formatFieldPath).join(", ")}]. A query may not have more than ${MAX_INEQUALITY_FIELDS} distinct inequality fields.`,
    );
  }
}

function hasOr(f: Filter): boolean {
  return f.kind === "or" || (f.kind === "and" && f.filters.some(hasOr));
}

/** Decodes, normalizes and validates a `StructuredQuery.where` filter. */
export function decodeFilter(json: unknown, db: DatabaseRef, where: string): Filter {
  const filter = decodeFilterNode(json, db, where);
  validateFilterRules(filter);
  return filter;
}
