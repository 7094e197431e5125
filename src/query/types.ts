/**
 * The normalized query model: what `decodeStructuredQuery` produces from a proto3-JSON
 * `StructuredQuery`, and what both the SQLite planner and the reference evaluator consume.
 *
 * Everything here is plain serializable data (it crosses Durable Object RPC): no classes, no
 * Maps, no functions. Values are canonical (see `src/model/types.ts`). Field paths are segment
 * arrays; the one-segment path `["__name__"]` denotes the document key, and the values compared
 * with it are `referenceValue`s holding full resource names.
 */
import type { Fields, Value } from "../model/types.js";

/** `StructuredQuery.FieldFilter.Operator` names (the `OPERATOR_UNSPECIFIED` value is rejected). */
export type FieldOp =
  | "LESS_THAN"
  | "LESS_THAN_OR_EQUAL"
  | "GREATER_THAN"
  | "GREATER_THAN_OR_EQUAL"
  | "EQUAL"
  | "NOT_EQUAL"
  | "ARRAY_CONTAINS"
  | "IN"
  | "ARRAY_CONTAINS_ANY"
  | "NOT_IN";

/** `StructuredQuery.UnaryFilter.Operator` names. */
export type UnaryOp = "IS_NAN" | "IS_NULL" | "IS_NOT_NAN" | "IS_NOT_NULL";

/**
 * A filter tree. Normalization guarantees:
 * - `EQUAL`/`NOT_EQUAL` against `null` or NaN never appear: they become the equivalent unary
 *   filters (`IS_NULL`, `IS_NAN`, `IS_NOT_NULL`, `IS_NOT_NAN`), as the SDKs send them.
 * - `IN`, `NOT_IN` and `ARRAY_CONTAINS_ANY` carry a non-empty `arrayValue`.
 * - Composites have at least two children, and no child has the same op as its parent
 *   (nested same-op composites are flattened; single-child composites are replaced by the child).
 * - Filters on `["__name__"]` only use the comparison operators, `IN` and `NOT_IN`, with
 *   references into the queried database.
 */
export type Filter =
  | { kind: "field"; field: string[]; op: FieldOp; value: Value }
  | { kind: "unary"; field: string[]; op: UnaryOp }
  | { kind: "and" | "or"; filters: Filter[] };

/** One sort key. */
export interface Order {
  field: string[];
  descending: boolean;
}

/**
 * A query cursor, as in the proto: `values` is a prefix of the order's fields; `before` says the
 * position is just before (true) or just after (false) the given values. Concretely:
 * startAt includes documents equal to the position iff `before`; endAt includes them iff `!before`.
 */
export interface Cursor {
  values: Value[];
  before: boolean;
}

/** `FindNearest.DistanceMeasure` names. */
export type DistanceMeasure = "EUCLIDEAN" | "COSINE" | "DOT_PRODUCT";

/** A validated nearest-neighbour search. */
export interface FindNearest {
  /** The vector field searched. */
  field: string[];
  /** The query vector's components (finite numbers, 1..2048 of them). */
  queryVector: number[];
  measure: DistanceMeasure;
  /** 1..1000. */
  limit: number;
  /** Where to write the computed distance (a doubleValue) in each returned document. */
  distanceResultField?: string[];
  /** EUCLIDEAN/COSINE keep distance <= threshold; DOT_PRODUCT keeps distance >= threshold. */
  distanceThreshold?: number;
}

/** A decoded, validated and normalized `StructuredQuery`. */
export interface NormalizedQuery {
  /** Document path relative to the database root; "" for the root. */
  parent: string;
  /** The selected collection id; null for a kindless query (every collection). */
  collectionId: string | null;
  /** Whether descendant collections at any depth under `parent` are included. */
  allDescendants: boolean;
  filter?: Filter;
  /** The complete order: explicit orders, then implicit inequality fields, ending with __name__. */
  orderBy: Order[];
  startAt?: Cursor;
  endAt?: Cursor;
  /** Results to skip (>= 0). */
  offset: number;
  /** Maximum results (>= 0); absent means no limit. */
  limit?: number;
  /**
   * Fields to return. Absent: every field. `[]`: no fields (a `select` of only `__name__`).
   * Never contains `__name__`.
   */
  projection?: string[][];
  findNearest?: FindNearest;
}

/** A document as the evaluator sees it. */
export interface QueryDoc {
  /** Path relative to the database root, e.g. `"cities/SF"`. */
  path: string;
  /** Full resource name `projects/{p}/databases/{d}/documents/{path}`. */
  name: string;
  fields: Fields;
  createTime: number;
  updateTime: number;
  /**
   * Set when `fields` holds only what the query itself reads (its filter, order and vector
   * fields): an engine short of memory keeps candidates this way and reads the whole document
   * again for the ones it returns (`runQuery`'s `whole`).
   */
  partial?: true;
}

/** One decoded `StructuredAggregationQuery.Aggregation`, alias resolved. */
export type Aggregation =
  | { alias: string; kind: "count"; upTo?: number }
  | { alias: string; kind: "sum"; field: string[] }
  | { alias: string; kind: "avg"; field: string[] };

/** The one-segment path of the document key. */
export const KEY_FIELD = "__name__";

/** Whether a field path is the document key `__name__`. */
export function isKeyField(field: readonly string[]): boolean {
  return field.length === 1 && field[0] === KEY_FIELD;
}
