/**
 * Ordering, equality and storage size of canonical values (see `types.ts`).
 *
 * Everything here assumes its inputs are canonical (produced by `src/validation/values.ts`), which
 * keeps the hot paths free of re-validation: integers are decimal strings, doubles are numbers or
 * one of the `DoubleString`s, timestamps are fixed-width strings, bytes are padded base64.
 */
import type { DoubleString, Fields, Value } from "./types.js";

/** Firestore's type order (firebase-js-sdk `TypeOrder`; 4 is the client-only server timestamp). */
export const TypeOrder = {
  Null: 0,
  Boolean: 1,
  Number: 2,
  Timestamp: 3,
  String: 5,
  Bytes: 6,
  Reference: 7,
  GeoPoint: 8,
  Array: 9,
  Vector: 10,
  Map: 11,
} as const;
export type TypeOrderNumber = (typeof TypeOrder)[keyof typeof TypeOrder];

/** True for a map shaped like a vector (`__type__` is the string `__vector__`). */
export function isVectorValue(v: Value): v is { mapValue: { fields: Fields } } {
  if (!("mapValue" in v)) return false;
  const t = v.mapValue.fields.__type__;
  return (
    t !== undefined &&
    Object.hasOwn(v.mapValue.fields, "__type__") &&
    "stringValue" in t &&
    t.stringValue === "__vector__"
  );
}

/** The type-order rank of a canonical value. */
export function typeOrder(v: Value): TypeOrderNumber {
  if ("nullValue" in v) return TypeOrder.Null;
  if ("booleanValue" in v) return TypeOrder.Boolean;
  if ("integerValue" in v || "doubleValue" in v) return TypeOrder.Number;
  if ("timestampValue" in v) return TypeOrder.Timestamp;
  if ("stringValue" in v) return TypeOrder.String;
  if ("bytesValue" in v) return TypeOrder.Bytes;
  if ("referenceValue" in v) return TypeOrder.Reference;
  if ("geoPointValue" in v) return TypeOrder.GeoPoint;
  if ("arrayValue" in v) return TypeOrder.Array;
  return isVectorValue(v) ? TypeOrder.Vector : TypeOrder.Map;
}

// ---------------------------------------------------------------------------------------------
// UTF-8 helpers

/** Number of bytes of `s` encoded as UTF-8 (lone surrogates count 3, as U+FFFD would). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * Compares strings by their UTF-8 bytes, i.e. by code point. JS `<` compares UTF-16 code units,
 * which disagrees only when a surrogate (a code point ≥ U+10000) meets a unit in U+E000–U+FFFF,
 * so we compare code units and fix up exactly that case.
 */
export function compareUtf8Strings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const ca = a.charCodeAt(i);
    const cb = b.charCodeAt(i);
    if (ca === cb) continue;
    const sa = ca >= 0xd800 && ca <= 0xdfff;
    const sb = cb >= 0xd800 && cb <= 0xdfff;
    if (sa === sb) return ca < cb ? -1 : 1;
    return sa ? 1 : -1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

// ---------------------------------------------------------------------------------------------
// Numbers

const TWO_63 = 2 ** 63; // exact as a double

/** The JS number a canonical double denotes (`"-0"` → -0, `"NaN"` → NaN, ...). */
export function doubleOf(d: number | string): number {
  return typeof d === "number" ? d : Number(d);
}

/** A canonical `doubleValue` for a JS number. */
export function canonicalDouble(n: number): Value {
  if (Number.isNaN(n)) return { doubleValue: "NaN" };
  if (n === Infinity) return { doubleValue: "Infinity" };
  if (n === -Infinity) return { doubleValue: "-Infinity" };
  if (Object.is(n, -0)) return { doubleValue: "-0" };
  return { doubleValue: n };
}

/** Whether `v` is an integerValue or doubleValue. */
export function isNumberValue(
  v: Value | undefined,
): v is { integerValue: string } | { doubleValue: number | DoubleString } {
  return v !== undefined && ("integerValue" in v || "doubleValue" in v);
}

/** Whether a number value is (double) NaN. */
export function isNaNValue(v: Value): boolean {
  return "doubleValue" in v && v.doubleValue === "NaN";
}

// Integers of up to 15 digits are exactly representable as doubles; this avoids BigInt on the
// common path.
function intIsSmall(s: string): boolean {
  return s.length <= 15;
}

function compareBigInts(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareDoubles(a: number, b: number): number {
  if (a < b) return -1;
  if (a > b) return 1;
  if (a === b) return 0; // includes 0 vs -0
  // At least one NaN: NaN sorts before every other number and equals itself.
  return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : -1) : 1;
}

/** Exact comparison of an int64 (decimal string) with a double. */
function compareIntDouble(i: string, d: number): number {
  if (Number.isNaN(d)) return 1;
  if (intIsSmall(i)) return compareDoubles(Number(i), d);
  if (d >= TWO_63) return -1;
  if (d < -TWO_63) return 1;
  // |d| < 2^63 here, so its integer part is exact as a BigInt; the fraction breaks ties.
  const t = Math.trunc(d);
  const c = compareBigInts(BigInt(i), BigInt(t));
  if (c !== 0) return c;
  return d > t ? -1 : d < t ? 1 : 0;
}

/** Firestore's numeric order: int64 and double on one line, NaN first. */
export function compareNumbers(a: Value, b: Value): number {
  if ("integerValue" in a) {
    if ("integerValue" in b) {
      const x = a.integerValue;
      const y = b.integerValue;
      if (intIsSmall(x) && intIsSmall(y)) return compareDoubles(Number(x), Number(y));
      return compareBigInts(BigInt(x), BigInt(y));
    }
    return "doubleValue" in b ? compareIntDouble(a.integerValue, doubleOf(b.doubleValue)) : 0;
  }
  if ("doubleValue" in a) {
    if ("integerValue" in b) return -compareIntDouble(b.integerValue, doubleOf(a.doubleValue));
    if ("doubleValue" in b) return compareDoubles(doubleOf(a.doubleValue), doubleOf(b.doubleValue));
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------
// Bytes and references

const B64_RANK = new Int8Array(128).fill(-1);
"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".split("").forEach((c, i) => {
  B64_RANK[c.charCodeAt(0)] = i;
});

/**
 * Bytewise comparison of two canonical base64 strings without decoding: the sextets spell the bit
 * string, and the zero bits that pad a shorter input can only tie, in which case the shorter
 * (a byte prefix) rightly sorts first.
 */
export function compareBase64Bytes(a: string, b: string): number {
  const la = a.indexOf("=") < 0 ? a.length : a.indexOf("=");
  const lb = b.indexOf("=") < 0 ? b.length : b.indexOf("=");
  const n = Math.min(la, lb);
  for (let i = 0; i < n; i++) {
    const x = B64_RANK[a.charCodeAt(i)] ?? -1;
    const y = B64_RANK[b.charCodeAt(i)] ?? -1;
    if (x !== y) return x < y ? -1 : 1;
  }
  return la === lb ? 0 : la < lb ? -1 : 1;
}

/** Decoded byte length of a padded base64 string. */
export function base64ByteLength(b64: string): number {
  let pad = 0;
  if (b64.endsWith("==")) pad = 2;
  else if (b64.endsWith("=")) pad = 1;
  return (b64.length / 4) * 3 - pad;
}

// `__id<n>__` is the escaped form of a legacy numeric document id (same rule as `path.ts`'s key
// encoding: any decimal digits within int64).
const NUMERIC_ID = /^__id(-?\d+)__$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function numericId(segment: string): bigint | undefined {
  const m = NUMERIC_ID.exec(segment);
  if (m === null) return undefined;
  const n = BigInt(m[1] ?? "0");
  return n >= INT64_MIN && n <= INT64_MAX ? n : undefined;
}

/**
 * Document-path segment order: numeric ids first (numerically), then UTF-8 string order. Two
 * spellings of one number (`__id5__`, `__id05__`) tie-break by string so only equal strings
 * compare equal.
 */
export function compareSegments(a: string, b: string): number {
  if (a === b) return 0;
  const na = a.startsWith("__id") ? numericId(a) : undefined;
  const nb = b.startsWith("__id") ? numericId(b) : undefined;
  if (na !== undefined) {
    if (nb === undefined) return -1;
    return compareBigInts(na, nb) || compareUtf8Strings(a, b);
  }
  if (nb !== undefined) return 1;
  return compareUtf8Strings(a, b);
}

/** Compares two slash-separated paths (document paths or full resource names) segment-wise. */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  const sa = a.split("/");
  const sb = b.split("/");
  const n = Math.min(sa.length, sb.length);
  for (let i = 0; i < n; i++) {
    const c = compareSegments(sa[i] ?? "", sb[i] ?? "");
    if (c !== 0) return c;
  }
  return sa.length === sb.length ? 0 : sa.length < sb.length ? -1 : 1;
}

// ---------------------------------------------------------------------------------------------
// Comparison and equality

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

function sortedKeys(fields: Fields): string[] {
  return Object.keys(fields).sort(compareUtf8Strings);
}

function vectorElements(fields: Fields): Value[] {
  const inner = fields.value;
  return inner !== undefined && "arrayValue" in inner ? inner.arrayValue.values : [];
}

function compareArrays(a: Value[], b: Value[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const c = compareValues(a[i] as Value, b[i] as Value);
    if (c !== 0) return c;
  }
  return sign(a.length - b.length);
}

function compareMaps(a: Fields, b: Fields): number {
  const ka = sortedKeys(a);
  const kb = sortedKeys(b);
  const n = Math.min(ka.length, kb.length);
  for (let i = 0; i < n; i++) {
    const x = ka[i] as string;
    const y = kb[i] as string;
    const ck = compareUtf8Strings(x, y);
    if (ck !== 0) return ck;
    const cv = compareValues(a[x] as Value, b[y] as Value);
    if (cv !== 0) return cv;
  }
  return sign(ka.length - kb.length);
}

/** Every member of the Value union at once, for reading a value whose kind is already known. */
interface AnyValue {
  booleanValue?: boolean;
  timestampValue?: string;
  stringValue?: string;
  bytesValue?: string;
  referenceValue?: string;
  geoPointValue?: { latitude: number; longitude: number };
  arrayValue?: { values: Value[] };
  mapValue?: { fields: Fields };
}

/** Firestore's total order on values: negative, zero or positive like a sort comparator. */
export function compareValues(a: Value, b: Value): number {
  const ta = typeOrder(a);
  const tb = typeOrder(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  // Same type order, so both values carry the same member.
  const x = a as AnyValue;
  const y = b as AnyValue;
  switch (ta) {
    case TypeOrder.Null:
      return 0;
    case TypeOrder.Boolean:
      return Number(x.booleanValue) - Number(y.booleanValue);
    case TypeOrder.Number:
      return compareNumbers(a, b);
    case TypeOrder.Timestamp:
      // Canonical timestamps are fixed width, so string order is chronological.
      return x.timestampValue! < y.timestampValue! ? -1 : x.timestampValue! > y.timestampValue! ? 1 : 0;
    case TypeOrder.String:
      return compareUtf8Strings(x.stringValue!, y.stringValue!);
    case TypeOrder.Bytes:
      return compareBase64Bytes(x.bytesValue!, y.bytesValue!);
    case TypeOrder.Reference:
      return comparePaths(x.referenceValue!, y.referenceValue!);
    case TypeOrder.GeoPoint:
      return (
        compareDoubles(x.geoPointValue!.latitude, y.geoPointValue!.latitude) ||
        compareDoubles(x.geoPointValue!.longitude, y.geoPointValue!.longitude)
      );
    case TypeOrder.Array:
      return compareArrays(x.arrayValue!.values, y.arrayValue!.values);
    case TypeOrder.Vector: {
      // Vectors order by dimension first, then element-wise.
      const vx = vectorElements(x.mapValue!.fields);
      const vy = vectorElements(y.mapValue!.fields);
      return vx.length !== vy.length ? sign(vx.length - vy.length) : compareArrays(vx, vy);
    }
    default:
      return compareMaps(x.mapValue!.fields, y.mapValue!.fields);
  }
}

function fieldsEqual(a: Fields, b: Fields, eq: (x: Value, y: Value) => boolean): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    const y = b[k];
    if (y === undefined || !Object.hasOwn(b, k) || !eq(a[k] as Value, y)) return false;
  }
  return true;
}

function arraysEqual(a: Value[], b: Value[], eq: (x: Value, y: Value) => boolean): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!eq(a[i] as Value, b[i] as Value)) return false;
  return true;
}

/**
 * Strict equality of canonical forms: int 1 ≠ double 1, `"-0"` ≠ 0, NaN equals NaN, map key order
 * is irrelevant. Decides whether a write actually changed a field.
 */
export function valueEquals(a: Value, b: Value): boolean {
  if (a === b) return true;
  if ("nullValue" in a) return "nullValue" in b;
  if ("booleanValue" in a) return "booleanValue" in b && a.booleanValue === b.booleanValue;
  if ("integerValue" in a) return "integerValue" in b && a.integerValue === b.integerValue;
  if ("doubleValue" in a) return "doubleValue" in b && a.doubleValue === b.doubleValue;
  if ("timestampValue" in a) return "timestampValue" in b && a.timestampValue === b.timestampValue;
  if ("stringValue" in a) return "stringValue" in b && a.stringValue === b.stringValue;
  if ("bytesValue" in a) return "bytesValue" in b && a.bytesValue === b.bytesValue;
  if ("referenceValue" in a) return "referenceValue" in b && a.referenceValue === b.referenceValue;
  if ("geoPointValue" in a) {
    return (
      "geoPointValue" in b &&
      a.geoPointValue.latitude === b.geoPointValue.latitude &&
      a.geoPointValue.longitude === b.geoPointValue.longitude
    );
  }
  if ("arrayValue" in a) return "arrayValue" in b && arraysEqual(a.arrayValue.values, b.arrayValue.values, valueEquals);
  return "mapValue" in b && fieldsEqual(a.mapValue.fields, b.mapValue.fields, valueEquals);
}

/**
 * Firestore's comparison equality (arrayUnion/arrayRemove membership): 3 equals 3.0, 0 equals
 * -0, NaN equals NaN, null equals null; containers compare element-wise.
 */
export function valuesEquivalent(a: Value, b: Value): boolean {
  if (isNumberValue(a)) return isNumberValue(b) && compareNumbers(a, b) === 0;
  if ("arrayValue" in a)
    return "arrayValue" in b && arraysEqual(a.arrayValue.values, b.arrayValue.values, valuesEquivalent);
  if ("mapValue" in a) return "mapValue" in b && fieldsEqual(a.mapValue.fields, b.mapValue.fields, valuesEquivalent);
  return valueEquals(a, b);
}

// ---------------------------------------------------------------------------------------------
// Storage size (https://firebase.google.com/docs/firestore/storage-size)

const DOCUMENTS_SEGMENT = "/documents/";

/**
 * Size of a document name: each collection/document id's UTF-8 bytes + 1, plus 16. Accepts a
 * full resource name (the `projects/…/documents/` prefix is not counted) or a relative path.
 */
export function documentNameSize(name: string): number {
  let path = name;
  if (name.startsWith("projects/")) {
    const i = name.indexOf(DOCUMENTS_SEGMENT);
    path = i < 0 ? "" : name.slice(i + DOCUMENTS_SEGMENT.length);
  }
  let size = 16;
  if (path === "") return size;
  for (const seg of path.split("/")) size += utf8Length(seg) + 1;
  return size;
}

/** Storage size of one value. */
export function valueSize(v: Value): number {
  if ("nullValue" in v || "booleanValue" in v) return 1;
  if ("integerValue" in v || "doubleValue" in v || "timestampValue" in v) return 8;
  if ("stringValue" in v) return utf8Length(v.stringValue) + 1;
  if ("bytesValue" in v) return base64ByteLength(v.bytesValue);
  if ("referenceValue" in v) return documentNameSize(v.referenceValue);
  if ("geoPointValue" in v) return 16;
  if ("arrayValue" in v) {
    let n = 0;
    for (const e of v.arrayValue.values) n += valueSize(e);
    return n;
  }
  return fieldsSize(v.mapValue.fields);
}

/** Size of a fields map: Σ (field name UTF-8 bytes + 1 + value size). */
export function fieldsSize(fields: Fields): number {
  let n = 0;
  for (const k in fields) {
    if (!Object.hasOwn(fields, k)) continue;
    n += utf8Length(k) + 1 + valueSize(fields[k] as Value);
  }
  return n;
}

/** Storage size of a document: name size + fields + 32 (compare against 1 MiB). */
export function documentSize(path: string, fields: Fields): number {
  return documentNameSize(path) + fieldsSize(fields) + 32;
}

/** Firestore's maximum document size in bytes. */
export const MAX_DOCUMENT_SIZE = 1_048_576;
