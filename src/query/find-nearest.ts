/**
 * `StructuredQuery.FindNearest`: decoding and the distance semantics.
 *
 * Sources: the v1 REST reference (StructuredQuery.FindNearest, DistanceMeasure) and the "Search
 * with vector embeddings" guide:
 * - queryVector must be a vector value of at most 2048 dimensions; limit is 1..1000.
 * - EUCLIDEAN and COSINE distances shrink as vectors get more similar, DOT_PRODUCT grows; so the
 *   threshold keeps `distance <= t` for the first two and `distance >= t` for DOT_PRODUCT, and
 *   results come nearest first (ascending distance, or descending dot product).
 * - Only documents whose vector has the query's dimension can be returned.
 * - distanceResultField "must conform to document field name limitations"; SDKs send it as a
 *   field path (nodejs-firestore formats it with FieldPath), so it is parsed as one.
 */
import { parseFieldPath } from "../model/field-path.js";
import type { Value } from "../model/types.js";
import { doubleOf, isVectorValue } from "../model/values.js";
import { enumValue, message, str } from "../validation/proto-json.js";
import { decodeValue } from "../validation/values.js";
import { bad, decodeFieldReference, int32Wrapper } from "./decode-util.js";
import { type DistanceMeasure, type FindNearest, isKeyField } from "./types.js";

/** Maximum query-vector dimension. */
export const MAX_VECTOR_DIMENSION = 2048;
/** Maximum findNearest limit. */
export const MAX_NEAREST_LIMIT = 1000;

const MEASURES = { DISTANCE_MEASURE_UNSPECIFIED: 0, EUCLIDEAN: 1, COSINE: 2, DOT_PRODUCT: 3 };
const FIELDS = ["vectorField", "queryVector", "distanceMeasure", "limit", "distanceResultField", "distanceThreshold"];

/** The numeric components of a vector value, or undefined if `v` is not a vector of numbers. */
export function vectorComponents(v: Value | undefined): number[] | undefined {
  if (v === undefined || !isVectorValue(v)) return undefined;
  const inner = v.mapValue.fields.value;
  if (inner === undefined || !("arrayValue" in inner)) return undefined;
  const out: number[] = [];
  for (const e of inner.arrayValue.values) {
    if ("doubleValue" in e) out.push(doubleOf(e.doubleValue));
    else if ("integerValue" in e) out.push(Number(e.integerValue));
    else return undefined;
  }
  return out;
}

function decodeThreshold(json: unknown, where: string): number {
  // google.protobuf.DoubleValue: a bare number or "NaN"/"Infinity"/"-Infinity" in proto3 JSON,
  // or `{value}` from gRPC-style clients.
  const raw =
    typeof json === "object" && json !== null && !Array.isArray(json) ? message(json, where, ["value"]).value : json;
  const numeric = typeof raw === "string" && /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|-?Infinity)$/.test(raw);
  const n = typeof raw === "number" ? raw : numeric ? Number(raw) : Number.NaN;
  if (Number.isNaN(n)) throw bad(where, `distanceThreshold must be a number, got ${JSON.stringify(raw)}`);
  return n;
}

/** Decodes and validates a `FindNearest` message. */
export function decodeFindNearest(json: unknown, where: string): FindNearest {
  const msg = message(json, where, FIELDS);
  if (msg.vectorField === undefined) throw bad(where, "findNearest needs a vectorField");
  const field = decodeFieldReference(msg.vectorField, `${where}.vectorField`);
  if (isKeyField(field)) throw bad(`${where}.vectorField`, "__name__ is not a vector field");

  if (msg.queryVector === undefined) throw bad(where, "findNearest needs a queryVector");
  const qw = `${where}.queryVector`;
  const queryVector = vectorComponents(decodeValue(msg.queryVector, qw));
  if (queryVector === undefined) {
    throw bad(
      qw,
      'the query value must be of type vector ({"mapValue":{"fields":{"__type__":"__vector__","value":…}}})',
    );
  }
  if (queryVector.length === 0 || queryVector.length > MAX_VECTOR_DIMENSION) {
    throw bad(qw, `the query vector must have 1 to ${MAX_VECTOR_DIMENSION} dimensions, got ${queryVector.length}`);
  }
  if (!queryVector.every(Number.isFinite)) throw bad(qw, "the query vector's components must be finite numbers");

  const measure = enumValue(
    msg.distanceMeasure ?? 0,
    `${where}.distanceMeasure`,
    "FindNearest.DistanceMeasure",
    MEASURES,
  ) as DistanceMeasure | "DISTANCE_MEASURE_UNSPECIFIED";
  if (measure === "DISTANCE_MEASURE_UNSPECIFIED") {
    throw bad(`${where}.distanceMeasure`, "a distanceMeasure (EUCLIDEAN, COSINE or DOT_PRODUCT) is required");
  }

  if (msg.limit === undefined) throw bad(where, `findNearest needs a limit (1 to ${MAX_NEAREST_LIMIT})`);
  const limit = int32Wrapper(msg.limit, `${where}.limit`);
  if (limit < 1 || limit > MAX_NEAREST_LIMIT) {
    throw bad(`${where}.limit`, `the findNearest limit must be between 1 and ${MAX_NEAREST_LIMIT}, got ${limit}`);
  }

  const out: FindNearest = { field, queryVector, measure, limit };
  if (msg.distanceResultField !== undefined && msg.distanceResultField !== "") {
    const w = `${where}.distanceResultField`;
    const path = parseFieldPath(str(msg.distanceResultField, w), w);
    if (isKeyField(path)) throw bad(w, "the distance cannot be written to __name__");
    out.distanceResultField = path;
  }
  if (msg.distanceThreshold !== undefined) {
    out.distanceThreshold = decodeThreshold(msg.distanceThreshold, `${where}.distanceThreshold`);
  }
  return out;
}

/**
 * The distance between two vectors of equal dimension. NaN when undefined (a zero vector under
 * COSINE, or NaN components); callers skip such documents.
 */
export function vectorDistance(measure: DistanceMeasure, a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let aa = 0;
  let bb = 0;
  let sq = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    dot += x * y;
    aa += x * x;
    bb += y * y;
    sq += (x - y) * (x - y);
  }
  if (measure === "EUCLIDEAN") return Math.sqrt(sq);
  if (measure === "DOT_PRODUCT") return dot;
  // COSINE distance = 1 - cosine similarity, in [0, 2].
  const norm = Math.sqrt(aa) * Math.sqrt(bb);
  return norm === 0 ? Number.NaN : 1 - dot / norm;
}

/** Negative when distance `x` is nearer than `y` under `measure`. */
export function compareDistances(measure: DistanceMeasure, x: number, y: number): number {
  return measure === "DOT_PRODUCT" ? y - x : x - y;
}

/** Whether a distance passes the threshold (EUCLIDEAN/COSINE: <=, DOT_PRODUCT: >=). */
export function withinThreshold(measure: DistanceMeasure, distance: number, threshold: number | undefined): boolean {
  if (threshold === undefined) return true;
  return measure === "DOT_PRODUCT" ? distance >= threshold : distance <= threshold;
}
