/**
 * Decoding of client-sent proto3 JSON `google.firestore.v1.Value`s into the canonical form of
 * `src/model/types.ts`. Runs on every write and every query literal, so it is plain loops and
 * string checks, no schema library.
 *
 * Accepted input (what the SDKs send, plus what proto3 JSON permits): lowerCamelCase or
 * snake_case oneof keys; `nullValue` as `null`, `"NULL_VALUE"` or `0`; int64 as string or JSON
 * number; doubles as numbers or strings (`"NaN"`, `"Infinity"`, `"-Infinity"`, `"1.5"`, `"1e3"`);
 * timestamps as RFC 3339 or `{seconds, nanos}`; bytes as standard or URL-safe base64, padding
 * optional; a proto3 `null` for a message/repeated field (`values`, `fields`, `latitude`) means
 * "default".
 *
 * Rejected: everything else, with INVALID_ARGUMENT naming the location. Decisions where
 * Firestore's behaviour is not documented:
 * - Strings, field names and references containing lone UTF-16 surrogates are rejected: they
 *   have no UTF-8 encoding, so they could be neither sized nor ordered as Firestore does.
 * - Doubles that overflow (`"1e400"`, or a JSON number that parsed to ±Infinity) are rejected,
 *   as protobuf's JSON parsers do; only the spelled-out `"Infinity"` strings denote infinity.
 * - Reserved field names (`__.*__`) are rejected at every level, except `__type__` in a map
 *   that is exactly a vector: `{__type__: "__vector__", value: [doubles...]}`. A document's
 *   top-level fields are never a vector, so `__type__` is rejected there too.
 * - Depth: a map or array may be nested inside at most 19 others (20 levels of containers
 *   counting the outermost field's own map/array), matching the backend: 20 nested maps are
 *   accepted, 21 rejected ("Property m contains an invalid nested entity").
 */
import { invalidArgument } from "../errors/index.js";
import { formatSegment } from "../model/field-path.js";
import { validatePathSegments } from "../model/path.js";
import { canonicalTimestamp } from "../model/timestamp.js";
import type { DoubleString, Fields, Value } from "../model/types.js";
import { utf8Length } from "../model/values.js";

/** Maximum nesting of maps/arrays (Firestore: "field depth in maps/arrays: 20"). */
export const MAX_VALUE_DEPTH = 20;
/** Maximum UTF-8 size of one field name. */
export const MAX_FIELD_NAME_BYTES = 1500;

type Kind =
  | "null"
  | "boolean"
  | "integer"
  | "double"
  | "timestamp"
  | "string"
  | "bytes"
  | "reference"
  | "geoPoint"
  | "array"
  | "map";

// A Map, not an object literal: a key such as "constructor" must not find Object.prototype.
const KINDS = new Map<string, Kind>();
for (const [camel, snake, kind] of [
  ["nullValue", "null_value", "null"],
  ["booleanValue", "boolean_value", "boolean"],
  ["integerValue", "integer_value", "integer"],
  ["doubleValue", "double_value", "double"],
  ["timestampValue", "timestamp_value", "timestamp"],
  ["stringValue", "string_value", "string"],
  ["bytesValue", "bytes_value", "bytes"],
  ["referenceValue", "reference_value", "reference"],
  ["geoPointValue", "geo_point_value", "geoPoint"],
  ["arrayValue", "array_value", "array"],
  ["mapValue", "map_value", "map"],
] as const) {
  KINDS.set(camel, kind);
  KINDS.set(snake, kind);
}

const RESERVED_NAME = /^__.*__$/s;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const INT_STRING = /^[+-]?\d+$/;
const DOUBLE_STRING = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const REFERENCE = /^projects\/[^/]+\/databases\/[^/]+\/documents\/(.+)$/;
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const TWO_63 = 2 ** 63; // exact as a double

function fail(where: string, detail: string): Error {
  return invalidArgument(`Invalid value at '${where}': ${detail}.`);
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

/** A short description of a JSON value for error messages. */
function show(x: unknown): string {
  if (x === undefined) return "nothing";
  if (Array.isArray(x)) return "a JSON array";
  if (x !== null && typeof x === "object") return "a JSON object";
  const s = JSON.stringify(x) ?? String(x);
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
}

function hasLoneSurrogate(s: string): boolean {
  return LONE_SURROGATE.test(s);
}

function checkOnlyKeys(o: Record<string, unknown>, allowed: readonly string[], where: string, what: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw fail(where, `unknown field "${k}" in ${what} (allowed: ${allowed.join(", ")})`);
  }
}

// --- scalars ----------------------------------------------------------------------------------

function decodeInteger(raw: unknown, where: string): string {
  if (typeof raw === "number") {
    if (!Number.isInteger(raw) || raw < -TWO_63 || raw >= TWO_63)
      throw fail(where, `integerValue must be an int64, got ${show(raw)}`);
    return BigInt(raw).toString(); // BigInt(-0) is 0n
  }
  if (typeof raw !== "string" || !INT_STRING.test(raw))
    throw fail(where, `integerValue must be an int64 (a decimal string), got ${show(raw)}`);
  const negative = raw[0] === "-";
  let start = raw[0] === "-" || raw[0] === "+" ? 1 : 0;
  while (start < raw.length - 1 && raw[start] === "0") start++;
  const digits = raw.slice(start);
  if (digits.length > 19) throw fail(where, `integerValue ${show(raw)} is out of int64 range`);
  const n = BigInt(negative ? `-${digits}` : digits);
  if (n > INT64_MAX || n < INT64_MIN) throw fail(where, `integerValue ${show(raw)} is out of int64 range`);
  return n.toString();
}

/** A finite-or-special JS number from a proto3 JSON double (number or string), or undefined. */
function parseDouble(raw: unknown): number | undefined {
  if (typeof raw === "number") return raw;
  if (typeof raw !== "string") return undefined;
  if (raw === "NaN") return Number.NaN;
  if (raw === "Infinity") return Number.POSITIVE_INFINITY;
  if (raw === "-Infinity") return Number.NEGATIVE_INFINITY;
  if (!DOUBLE_STRING.test(raw)) return undefined;
  const n = Number(raw);
  // A spelled-out number that overflows is an error, not infinity.
  return Number.isFinite(n) ? n : undefined;
}

function decodeDouble(raw: unknown, where: string): number | DoubleString {
  const n = parseDouble(raw);
  if (n === undefined)
    throw fail(where, `doubleValue must be a number or "NaN"/"Infinity"/"-Infinity", got ${show(raw)}`);
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) {
    if (raw !== "Infinity") throw fail(where, "doubleValue is out of range");
    return "Infinity";
  }
  if (n === Number.NEGATIVE_INFINITY) {
    if (raw !== "-Infinity") throw fail(where, "doubleValue is out of range");
    return "-Infinity";
  }
  return Object.is(n, -0) ? "-0" : n;
}

function decodeString(raw: unknown, where: string, what: string): string {
  if (typeof raw !== "string") throw fail(where, `${what} must be a string, got ${show(raw)}`);
  if (hasLoneSurrogate(raw)) throw fail(where, `${what} is not valid UTF-8 (lone surrogate)`);
  return raw;
}

function decodeBytes(raw: unknown, where: string): string {
  if (typeof raw !== "string") throw fail(where, `bytesValue must be a base64 string, got ${show(raw)}`);
  // URL-safe alphabet → standard alphabet; then one shape check covers both.
  const s = raw.includes("-") || raw.includes("_") ? raw.replace(/[-_]/g, (c) => (c === "-" ? "+" : "/")) : raw;
  if (!BASE64.test(s)) throw fail(where, "bytesValue is not valid base64");
  let end = s.length;
  while (end > 0 && s[end - 1] === "=") end--;
  if ((end < s.length && s.length % 4 !== 0) || end % 4 === 1)
    throw fail(where, "bytesValue is not valid base64 (bad length or padding)");
  try {
    // Re-encoding yields the canonical padded form and clears stray trailing bits.
    return btoa(atob(s.slice(0, end)));
  } catch {
    throw fail(where, "bytesValue is not valid base64");
  }
}

function decodeReference(raw: unknown, where: string): string {
  const s = decodeString(raw, where, "referenceValue");
  const m = REFERENCE.exec(s);
  const segments = m?.[1]?.split("/");
  if (segments === undefined || segments.length % 2 !== 0 || segments.some((x) => x === "")) {
    throw fail(
      where,
      `referenceValue ${show(s)} is not a document name (projects/{project}/databases/{database}/documents/{collection}/{id}…)`,
    );
  }
  // The same id rules as every other document name (a reference may name another database).
  validatePathSegments(segments, s, `Invalid value at '${where}': referenceValue`);
  return s;
}

function decodeCoordinate(raw: unknown, where: string, name: string, limit: number): number {
  if (raw === undefined || raw === null) return 0;
  const n = parseDouble(raw);
  if (n === undefined || !Number.isFinite(n))
    throw fail(where, `geoPointValue.${name} must be a finite number, got ${show(raw)}`);
  if (n < -limit || n > limit)
    throw fail(where, `geoPointValue.${name} must be within [-${limit}, ${limit}], got ${n}`);
  return n === 0 ? 0 : n; // -0 → 0
}

function decodeGeoPoint(raw: unknown, where: string): Value {
  if (!isObject(raw)) throw fail(where, `geoPointValue must be an object {latitude, longitude}, got ${show(raw)}`);
  checkOnlyKeys(raw, ["latitude", "longitude"], where, "geoPointValue");
  return {
    geoPointValue: {
      latitude: decodeCoordinate(raw.latitude, where, "latitude", 90),
      longitude: decodeCoordinate(raw.longitude, where, "longitude", 180),
    },
  };
}

// --- containers -------------------------------------------------------------------------------

function tooDeep(where: string): Error {
  return fail(
    where,
    `maps and arrays may be nested at most ${MAX_VALUE_DEPTH} levels deep (the value contains an invalid nested entity)`,
  );
}

function decodeArray(raw: unknown, where: string, depth: number): Value {
  if (!isObject(raw)) throw fail(where, `arrayValue must be an object {values: [...]}, got ${show(raw)}`);
  checkOnlyKeys(raw, ["values"], where, "arrayValue");
  if (depth >= MAX_VALUE_DEPTH) throw tooDeep(where);
  const list = raw.values;
  if (list === undefined || list === null) return { arrayValue: { values: [] } };
  if (!Array.isArray(list)) throw fail(where, `arrayValue.values must be a JSON array, got ${show(list)}`);
  const values: Value[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const w = `${where}[${i}]`;
    const v = decodeValue(list[i], w, depth + 1);
    if ("arrayValue" in v) throw fail(w, "Cannot have an array directly inside an array");
    values[i] = v;
  }
  return { arrayValue: { values } };
}

function decodeMap(raw: unknown, where: string, depth: number): Value {
  if (!isObject(raw)) throw fail(where, `mapValue must be an object {fields: {...}}, got ${show(raw)}`);
  checkOnlyKeys(raw, ["fields"], where, "mapValue");
  if (depth >= MAX_VALUE_DEPTH) throw tooDeep(where);
  const fields = raw.fields;
  if (fields === undefined || fields === null) return { mapValue: { fields: {} } };
  return { mapValue: { fields: decodeFieldsIn(fields, where, depth + 1, true) } };
}

/** Whether decoded map fields are exactly a vector: `__type__: "__vector__"`, `value: [doubles]`. */
function isVectorFields(fields: Fields): boolean {
  const keys = Object.keys(fields);
  if (keys.length !== 2) return false;
  const type = fields.__type__;
  const value = fields.value;
  if (type === undefined || !("stringValue" in type) || type.stringValue !== "__vector__") return false;
  if (value === undefined || !("arrayValue" in value)) return false;
  return value.arrayValue.values.every((e) => "doubleValue" in e);
}

function decodeFieldsIn(json: unknown, where: string, depth: number, inValue: boolean): Fields {
  if (!isObject(json)) throw fail(where, `fields must be an object mapping field names to Values, got ${show(json)}`);
  const out: Fields = {};
  let typeKey = false;
  for (const key of Object.keys(json)) {
    const w = `${where}.${formatSegment(key)}`;
    // `__type__` inside a value is checked once the whole map is known (it may be a vector).
    if (inValue && key === "__type__") typeKey = true;
    else validateFieldName(key, w);
    out[key] = decodeValue(json[key], w, depth);
  }
  if (typeKey && !isVectorFields(out)) {
    const type = out.__type__;
    const w = `${where}.__type__`;
    if (type !== undefined && "stringValue" in type && type.stringValue === "__vector__") {
      throw fail(w, 'a vector value must be a map of exactly {__type__: "__vector__", value: <array of doubleValue>}');
    }
    validateFieldName("__type__", w);
  }
  return out;
}

// --- public API -------------------------------------------------------------------------------

/**
 * Validates one field name (a map key): non-empty, at most 1,500 UTF-8 bytes, valid UTF-16, and
 * not reserved (`__.*__`; the only exception, a vector's `__type__`, is handled by decodeValue).
 */
export function validateFieldName(name: string, where: string): void {
  if (typeof name !== "string" || name === "") throw fail(where, "field names must not be empty");
  if (RESERVED_NAME.test(name))
    throw fail(where, `field name "${name}" is reserved (names matching __.*__ are not allowed)`);
  // Each UTF-16 unit is at most 3 UTF-8 bytes, so short names need no counting.
  if (name.length > MAX_FIELD_NAME_BYTES / 3 && utf8Length(name) > MAX_FIELD_NAME_BYTES) {
    throw fail(where, `field names must be at most ${MAX_FIELD_NAME_BYTES} bytes`);
  }
  if (hasLoneSurrogate(name)) throw fail(where, "field name is not valid UTF-8 (lone surrogate)");
}

/**
 * Converts one proto3 JSON Value into canonical form, rejecting anything invalid with
 * INVALID_ARGUMENT naming `where`. `depth` is the number of maps/arrays enclosing the value
 * (0 for a document's top-level field).
 */
export function decodeValue(json: unknown, where: string, depth = 0): Value {
  if (!isObject(json)) throw fail(where, `expected a Value object, got ${show(json)}`);
  let kind: Kind | undefined;
  let raw: unknown;
  for (const key of Object.keys(json)) {
    const k = KINDS.get(key);
    if (k === undefined) throw fail(where, `unknown Value field "${key}"`);
    if (kind !== undefined) throw fail(where, "a Value must set exactly one value type, but sets more than one");
    kind = k;
    raw = json[key];
  }
  switch (kind) {
    case undefined:
      throw fail(where, "a Value must set exactly one value type, but sets none");
    case "null":
      if (raw === null || raw === "NULL_VALUE" || raw === 0) return { nullValue: null };
      throw fail(where, `nullValue must be null or "NULL_VALUE", got ${show(raw)}`);
    case "boolean":
      if (typeof raw === "boolean") return { booleanValue: raw };
      throw fail(where, `booleanValue must be true or false, got ${show(raw)}`);
    case "integer":
      return { integerValue: decodeInteger(raw, where) };
    case "double":
      return { doubleValue: decodeDouble(raw, where) };
    case "timestamp":
      return { timestampValue: canonicalTimestamp(raw, where) };
    case "string":
      return { stringValue: decodeString(raw, where, "stringValue") };
    case "bytes":
      return { bytesValue: decodeBytes(raw, where) };
    case "reference":
      return { referenceValue: decodeReference(raw, where) };
    case "geoPoint":
      return decodeGeoPoint(raw, where);
    case "array":
      return decodeArray(raw, where, depth);
    case "map":
      return decodeMap(raw, where, depth);
  }
}

/**
 * Converts a document's `fields` map (field name → Value JSON). Names are validated with
 * validateFieldName; each value is decoded at `where.<name>` with the given depth.
 */
export function decodeFields(json: unknown, where: string, depth = 0): Fields {
  return decodeFieldsIn(json, where, depth, false);
}
