/**
 * Order-preserving byte encoding of Firestore values ("index keys").
 *
 * SQLite compares BLOBs with memcmp, so every indexed field value is stored as the bytes
 * `encodeIndexValue(v)`, chosen so that for all canonical values a, b:
 *
 *   sign(memcmp(enc(a), enc(b))) === sign(compareValues(a, b))
 *
 * In particular values that compare equal (int 1 and double 1.0, 0 and -0) encode to identical
 * bytes, and different ones never do. Every encoding is *self-delimiting* (prefix-free): no value's
 * encoding is a proper prefix of another's. That is what lets arrays and maps concatenate their
 * members, lets composite keys concatenate several values, and makes the byte-complement of an
 * encoding a valid descending key (`invertBytes`).
 *
 * Layout: one tag byte, then a type-specific body.
 *
 * | type       | tag  | body                                                                      |
 * |------------|------|---------------------------------------------------------------------------|
 * | null       | 0x10 | (none)                                                                    |
 * | boolean    | 0x20 | 0x00 false / 0x01 true                                                    |
 * | NaN        | 0x30 | (none) — below every other number                                        |
 * | number     | 0x31 | 8-byte ordered double D, then if D is finite and abs(D) >= 2^53 a 2-byte  |
 * |            |      | tie-break (x - D) + 0x8000 big-endian, exact value x minus its double D   |
 * | timestamp  | 0x40 | 10 bytes: the 20 digits of the canonical RFC 3339 text, packed BCD        |
 * | string     | 0x50 | UTF-8, 0x00 escaped as 0x00 0xFF, terminated by 0x00 0x01                 |
 * | bytes      | 0x60 | decoded bytes, same escaping and terminator                               |
 * | reference  | 0x70 | per segment: numeric id 0x01 + 8-byte sign-flipped int64 + escaped text,  |
 * |            |      | or 0x02 + escaped UTF-8; then 0x00                                        |
 * | geopoint   | 0x80 | 8-byte ordered latitude, 8-byte ordered longitude                         |
 * | array      | 0x90 | element encodings, then 0x00                                              |
 * | vector     | 0xA0 | ordered length (count byte + big-endian), then element encodings          |
 * | map        | 0xB0 | per key in UTF-8 order: escaped key + 0x00 0x01, value; then 0x00 0x00    |
 *
 * Tags are all in 0x10..0xB0, so 0x00 (array end) sorts below any element, and the one-byte key
 * `[0xFF]` is above every encoding (`MAX_KEY`).
 */
import type { Fields, Value } from "../model/types.js";
import { compareUtf8Strings, doubleOf, isVectorValue, TypeOrder, type TypeOrderNumber } from "../model/values.js";

// ---------------------------------------------------------------------------------------------
// Tags

export const IndexTag = {
  Null: 0x10,
  Boolean: 0x20,
  NaN: 0x30,
  Number: 0x31,
  Timestamp: 0x40,
  String: 0x50,
  Bytes: 0x60,
  Reference: 0x70,
  GeoPoint: 0x80,
  Array: 0x90,
  Vector: 0xa0,
  Map: 0xb0,
} as const;

const ARRAY_END = 0x00;
const SEGMENT_NUMERIC = 0x01;
const SEGMENT_STRING = 0x02;
const REFERENCE_END = 0x00;
const ESCAPE_NUL = 0xff; // 0x00 inside a string/bytes is written 0x00 0xFF
const TERMINATOR = 0x01; // a string/bytes ends with 0x00 0x01
const MAP_END = 0x00; // a map ends with 0x00 0x00 (no key encoding starts that way)

/** 2^53: from here on, doubles cannot represent every integer. */
const TWO_53 = 2 ** 53;
const TIEBREAK_BIAS = 0x8000;

// ---------------------------------------------------------------------------------------------
// The writer

/**
 * Appends order-preserving encodings into a growing `Uint8Array`. Use one per key (composite keys
 * write several values in a row); `finish()` returns a copy of the bytes written.
 */
export class IndexKeyWriter {
  private buf: Uint8Array;
  private len = 0;

  constructor(initialCapacity = 64) {
    this.buf = new Uint8Array(Math.max(16, initialCapacity));
  }

  /** Number of bytes written so far. */
  get length(): number {
    return this.len;
  }

  /** Forgets everything written (keeps the buffer). */
  reset(): void {
    this.len = 0;
  }

  /** A copy of the bytes written. */
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }

  /** Appends the ascending encoding of `v`. */
  writeValue(v: Value): void {
    writeValue(this, v);
  }

  /** Appends the descending encoding of `v` (the byte-complement of the ascending one). */
  writeValueDescending(v: Value): void {
    const start = this.len;
    writeValue(this, v);
    const b = this.buf;
    for (let i = start; i < this.len; i++) b[i] = ~(b[i] as number) & 0xff;
  }

  /** Appends raw bytes (e.g. an already encoded value or document key). */
  writeRaw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.len);
    this.len += bytes.length;
  }

  /** @internal Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  /** @internal */
  byte(b: number): void {
    if (this.len === this.buf.length) this.ensure(1);
    this.buf[this.len++] = b;
  }

  /** @internal Two bytes. */
  byte2(a: number, b: number): void {
    this.ensure(2);
    this.buf[this.len++] = a;
    this.buf[this.len++] = b;
  }

  /** @internal The 8 bytes of `scratch`, each XOR `mask` (0x00 or 0xFF), first also XOR `first`. */
  scratch8(mask: number, first: number): void {
    this.ensure(8);
    const b = this.buf;
    let p = this.len;
    b[p++] = (scratchBytes[0] as number) ^ mask ^ first;
    for (let i = 1; i < 8; i++) b[p++] = (scratchBytes[i] as number) ^ mask;
    this.len = p;
  }

  /** @internal UTF-8 of `s` with 0x00 escaped, then the 0x00 0x01 terminator. */
  escapedString(s: string): void {
    const n = s.length;
    if (n > 48) {
      this.escapedLongString(s);
      return;
    }
    // Short strings: encode inline (at most 3 bytes per UTF-16 unit, + 1 per escaped NUL).
    this.ensure(n * 3 + 2);
    const b = this.buf;
    let p = this.len;
    for (let i = 0; i < n; i++) {
      let c = s.charCodeAt(i);
      if (c < 0x80) {
        if (c === 0) {
          // Escaping can exceed the 3-byte budget only for strings of NULs: re-check room.
          this.len = p;
          this.byte2(0x00, ESCAPE_NUL);
          this.escapedStringTail(s, i + 1);
          return;
        }
        b[p++] = c;
      } else if (c < 0x800) {
        b[p++] = 0xc0 | (c >> 6);
        b[p++] = 0x80 | (c & 0x3f);
      } else {
        if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
          const d = s.charCodeAt(i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
            i++;
            b[p++] = 0xf0 | (c >> 18);
            b[p++] = 0x80 | ((c >> 12) & 0x3f);
            b[p++] = 0x80 | ((c >> 6) & 0x3f);
            b[p++] = 0x80 | (c & 0x3f);
            continue;
          }
        }
        // Lone surrogates never reach here in canonical values; write them as U+FFFD like
        // TextEncoder would.
        if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
        b[p++] = 0xe0 | (c >> 12);
        b[p++] = 0x80 | ((c >> 6) & 0x3f);
        b[p++] = 0x80 | (c & 0x3f);
      }
    }
    b[p++] = 0x00;
    b[p++] = TERMINATOR;
    this.len = p;
  }

  /** The rest of a string after a NUL (rare): via TextEncoder. */
  private escapedStringTail(s: string, from: number): void {
    this.escapedLongString(s.slice(from));
  }

  private escapedLongString(s: string): void {
    this.ensure(s.length * 3 + 2);
    const start = this.len;
    const { written } = encoder.encodeInto(s, this.buf.subarray(start));
    const end = start + written;
    const zero = this.buf.subarray(start, end).indexOf(0);
    if (zero < 0) {
      this.len = end;
    } else {
      // Rewrite from the first NUL on, escaping.
      const tail = this.buf.slice(start + zero, end);
      this.len = start + zero;
      this.escapedRun(tail, 0, tail.length);
    }
    this.byte2(0x00, TERMINATOR);
  }

  /** `bytes[from, to)` with each 0x00 written as 0x00 0xFF. */
  private escapedRun(bytes: Uint8Array, from: number, to: number): void {
    this.ensure((to - from) * 2);
    const b = this.buf;
    let p = this.len;
    for (let i = from; i < to; i++) {
      const x = bytes[i] as number;
      b[p++] = x;
      if (x === 0) b[p++] = ESCAPE_NUL;
    }
    this.len = p;
  }

  /** @internal `bytes[from, to)` with 0x00 escaped, then the terminator. */
  escapedBytes(bytes: Uint8Array, from: number, to: number): void {
    this.escapedRun(bytes, from, to);
    this.byte2(0x00, TERMINATOR);
  }
}

const encoder = new TextEncoder();
const scratch = new DataView(new ArrayBuffer(8));
const scratchBytes = new Uint8Array(scratch.buffer);

// ---------------------------------------------------------------------------------------------
// Per-type encoders

/** 8 bytes whose memcmp order is the numeric order of doubles (-0 written as 0, NaN as zeros). */
function writeOrderedDouble(w: IndexKeyWriter, d: number): void {
  if (Number.isNaN(d)) {
    scratch.setFloat64(0, 0);
    w.scratch8(0, 0); // all zeros: below -Infinity (0x000FFFFF...)
    return;
  }
  scratch.setFloat64(0, d === 0 ? 0 : d);
  // Negative: complement all bits (bigger magnitude sorts lower); positive: set the sign bit.
  if ((scratchBytes[0] as number) & 0x80) w.scratch8(0xff, 0);
  else w.scratch8(0, 0x80);
}

/** A number given as a double `d` (already normalised) plus the exact offset of an integer. */
function writeNumberParts(w: IndexKeyWriter, d: number, tiebreak: number): void {
  w.byte(IndexTag.Number);
  writeOrderedDouble(w, d);
  if ((d >= TWO_53 || d <= -TWO_53) && d !== Infinity && d !== -Infinity) {
    const t = tiebreak + TIEBREAK_BIAS;
    w.byte2(t >>> 8, t & 0xff);
  }
}

function writeInteger(w: IndexKeyWriter, s: string): void {
  // Up to 15 digits the value is exactly a double below 2^53.
  if (s.length <= 15) {
    writeNumberParts(w, Number(s), 0);
    return;
  }
  const x = BigInt(s);
  // Number(bigint) rounds to the nearest double (monotone, and exact when representable).
  const d = Number(x);
  if (d < TWO_53 && d > -TWO_53) {
    writeNumberParts(w, d, 0);
    return;
  }
  // |x| <= 2^63, so |x - d| <= half an ulp at 2^63, i.e. 512: fits the 16-bit tie-break.
  writeNumberParts(w, d, Number(x - BigInt(d)));
}

function writeDouble(w: IndexKeyWriter, raw: number | string): void {
  const d = doubleOf(raw);
  if (Number.isNaN(d)) {
    w.byte(IndexTag.NaN);
    return;
  }
  writeNumberParts(w, d, 0);
}

const DIGIT_POSITIONS = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22, 23, 24, 25];

/** Canonical `YYYY-MM-DDTHH:MM:SS.ffffffZ`: its 20 digits as 10 BCD bytes (fixed width). */
function writeTimestamp(w: IndexKeyWriter, s: string): void {
  if (
    s.length !== 27 ||
    s.charCodeAt(4) !== 0x2d ||
    s.charCodeAt(7) !== 0x2d ||
    s.charCodeAt(10) !== 0x54 ||
    s.charCodeAt(13) !== 0x3a ||
    s.charCodeAt(16) !== 0x3a ||
    s.charCodeAt(19) !== 0x2e ||
    s.charCodeAt(26) !== 0x5a
  ) {
    throw new Error(`index encoding: non-canonical timestamp ${JSON.stringify(s)}`);
  }
  w.byte(IndexTag.Timestamp);
  w.ensure(10);
  for (let i = 0; i < 20; i += 2) {
    const hi = s.charCodeAt(DIGIT_POSITIONS[i] as number) - 0x30;
    const lo = s.charCodeAt(DIGIT_POSITIONS[i + 1] as number) - 0x30;
    if (hi < 0 || hi > 9 || lo < 0 || lo > 9) {
      throw new Error(`index encoding: non-canonical timestamp ${JSON.stringify(s)}`);
    }
    w.byte((hi << 4) | lo);
  }
}

const B64_RANK = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) {
  B64_RANK["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".charCodeAt(i)] = i;
}

/** Decodes padded standard base64. */
function decodeBase64(b64: string): Uint8Array {
  let n = b64.length;
  while (n > 0 && b64.charCodeAt(n - 1) === 0x3d) n--;
  const out = new Uint8Array((n * 3) >> 2);
  let acc = 0;
  let bits = 0;
  let p = 0;
  for (let i = 0; i < n; i++) {
    const r = B64_RANK[b64.charCodeAt(i)] ?? -1;
    if (r < 0) throw new Error("index encoding: invalid base64 in bytesValue");
    acc = ((acc << 6) | r) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[p++] = (acc >> bits) & 0xff;
    }
  }
  return p === out.length ? out : out.subarray(0, p);
}

// Same rule as `values.ts`'s `compareSegments`: any `__id<digits>__` within int64 is numeric.
const NUMERIC_ID = /^__id(-?\d+)__$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const SIGN_BIT = 1n << 63n;

function writeSegment(w: IndexKeyWriter, segment: string): void {
  if (segment.startsWith("__id")) {
    const m = NUMERIC_ID.exec(segment);
    if (m !== null) {
      const n = BigInt(m[1] as string);
      if (n >= INT64_MIN && n <= INT64_MAX) {
        // Numeric ids first, numerically; spellings of one number (`__id5__`, `__id05__`) then
        // order by their text, as compareSegments does.
        w.byte(SEGMENT_NUMERIC);
        scratch.setBigUint64(0, BigInt.asUintN(64, n) ^ SIGN_BIT);
        w.scratch8(0, 0);
        w.escapedString(segment);
        return;
      }
    }
  }
  w.byte(SEGMENT_STRING);
  w.escapedString(segment);
}

function writeReference(w: IndexKeyWriter, name: string): void {
  w.byte(IndexTag.Reference);
  let from = 0;
  for (;;) {
    const slash = name.indexOf("/", from);
    if (slash < 0) {
      writeSegment(w, name.slice(from));
      break;
    }
    writeSegment(w, name.slice(from, slash));
    from = slash + 1;
  }
  w.byte(REFERENCE_END);
}

/** Order-preserving unsigned length: count of bytes (0..7), then minimal big-endian bytes. */
function writeOrderedLength(w: IndexKeyWriter, n: number): void {
  let k = 0;
  for (let x = n; x > 0; x = Math.floor(x / 256)) k++;
  w.byte(k);
  for (let i = k - 1; i >= 0; i--) w.byte(Math.floor(n / 256 ** i) % 256);
}

function writeValue(w: IndexKeyWriter, v: Value): void {
  if ("nullValue" in v) {
    w.byte(IndexTag.Null);
  } else if ("booleanValue" in v) {
    w.byte2(IndexTag.Boolean, v.booleanValue ? 1 : 0);
  } else if ("integerValue" in v) {
    writeInteger(w, v.integerValue);
  } else if ("doubleValue" in v) {
    writeDouble(w, v.doubleValue);
  } else if ("timestampValue" in v) {
    writeTimestamp(w, v.timestampValue);
  } else if ("stringValue" in v) {
    w.byte(IndexTag.String);
    w.escapedString(v.stringValue);
  } else if ("bytesValue" in v) {
    w.byte(IndexTag.Bytes);
    const bytes = decodeBase64(v.bytesValue);
    w.escapedBytes(bytes, 0, bytes.length);
  } else if ("referenceValue" in v) {
    writeReference(w, v.referenceValue);
  } else if ("geoPointValue" in v) {
    w.byte(IndexTag.GeoPoint);
    writeOrderedDouble(w, v.geoPointValue.latitude);
    writeOrderedDouble(w, v.geoPointValue.longitude);
  } else if ("arrayValue" in v) {
    w.byte(IndexTag.Array);
    for (const e of v.arrayValue.values) writeValue(w, e);
    w.byte(ARRAY_END);
  } else {
    writeMapOrVector(w, v.mapValue.fields, isVectorValue(v));
  }
}

function writeMapOrVector(w: IndexKeyWriter, fields: Fields, vector: boolean): void {
  if (vector) {
    // Vectors order by dimension first, then element-wise (other fields are ignored, as in
    // compareValues).
    const inner = fields.value;
    const elements = inner !== undefined && "arrayValue" in inner ? inner.arrayValue.values : [];
    w.byte(IndexTag.Vector);
    writeOrderedLength(w, elements.length);
    for (const e of elements) writeValue(w, e);
    return;
  }
  w.byte(IndexTag.Map);
  const keys = Object.keys(fields);
  if (keys.length > 1) keys.sort(compareUtf8Strings);
  for (const k of keys) {
    w.escapedString(k);
    writeValue(w, fields[k] as Value);
  }
  w.byte2(0x00, MAP_END);
}

// ---------------------------------------------------------------------------------------------
// Public API

let shared = new IndexKeyWriter(256);

/** The ascending index encoding of a canonical value (a fresh array). */
export function encodeIndexValue(v: Value): Uint8Array {
  const w = shared;
  w.reset();
  writeValue(w, v);
  const out = w.finish();
  if (out.length > 65536) shared = new IndexKeyWriter(256); // don't pin a huge buffer
  return out;
}

/** The descending index encoding (byte-complement of the ascending one). */
export function encodeIndexValueDescending(v: Value): Uint8Array {
  return invertBytes(encodeIndexValue(v));
}

/**
 * Byte-wise complement. For prefix-free sets (any set of value encodings) it reverses memcmp
 * order, also as one component of a longer composite key.
 */
export function invertBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = ~(bytes[i] as number) & 0xff;
  return out;
}

/** memcmp: negative, zero or positive (shorter first on a common prefix), like SQLite BLOBs. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = a.length < b.length ? a.length : b.length;
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (x !== y) return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** A half-open byte range `[lower, upper)` (lower inclusive, upper exclusive). */
export interface ByteRange {
  lower: Uint8Array;
  upper: Uint8Array;
}

/** Below (or equal to) every key. */
export const MIN_KEY: Uint8Array = new Uint8Array(0);
/** Above every value encoding (all tags are < 0xFF). */
export const MAX_KEY: Uint8Array = Uint8Array.of(0xff);

/**
 * The smallest byte string greater than every string that starts with `prefix`, or `undefined`
 * when there is none (`prefix` empty or all 0xFF). For a value encoding `e`, `[e, prefixEnd(e))`
 * holds exactly the keys that begin with `e` (just `e` for a single-value key, since encodings are
 * prefix-free; `e` followed by anything for composite keys).
 */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined {
  let n = prefix.length;
  while (n > 0 && prefix[n - 1] === 0xff) n--;
  if (n === 0) return undefined;
  const out = prefix.slice(0, n);
  out[n - 1] = (out[n - 1] as number) + 1;
  return out;
}

/** The smallest byte string strictly greater than `bytes` (`bytes` + 0x00). */
export function successor(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

const TAG_OF_TYPE: Record<TypeOrderNumber, number> = {
  [TypeOrder.Null]: IndexTag.Null,
  [TypeOrder.Boolean]: IndexTag.Boolean,
  [TypeOrder.Number]: IndexTag.Number,
  [TypeOrder.Timestamp]: IndexTag.Timestamp,
  [TypeOrder.String]: IndexTag.String,
  [TypeOrder.Bytes]: IndexTag.Bytes,
  [TypeOrder.Reference]: IndexTag.Reference,
  [TypeOrder.GeoPoint]: IndexTag.GeoPoint,
  [TypeOrder.Array]: IndexTag.Array,
  [TypeOrder.Vector]: IndexTag.Vector,
  [TypeOrder.Map]: IndexTag.Map,
};

/**
 * The byte range holding exactly the encodings of one type order. For numbers NaN is included
 * unless `excludeNaN` (range filters never match NaN; orderBy and `==`/`!=` do).
 */
export function typeRange(order: TypeOrderNumber, options?: { excludeNaN?: boolean }): ByteRange {
  const tag = TAG_OF_TYPE[order];
  const lower = order === TypeOrder.Number && options?.excludeNaN !== true ? IndexTag.NaN : tag;
  return { lower: Uint8Array.of(lower), upper: Uint8Array.of(tag + 1) };
}

/** Comparison operators of `StructuredQuery.FieldFilter` that map to key ranges. */
export type ComparisonOp =
  | "LESS_THAN"
  | "LESS_THAN_OR_EQUAL"
  | "GREATER_THAN"
  | "GREATER_THAN_OR_EQUAL"
  | "EQUAL"
  | "NOT_EQUAL";

/**
 * The key ranges (disjoint, ascending) of the values `x` that `x op value` matches, with
 * Firestore's semantics:
 * - range operators are type-bracketed (`x > 5` matches numbers only; int and double are one
 *   type) and never match null or NaN: with a null or NaN operand they match nothing;
 * - `EQUAL` matches the values comparing equal (`1 == 1.0`, `NaN == NaN`, `null == null`);
 * - `NOT_EQUAL` matches every non-null value not equal to `value` (any type).
 * Each range is `[lower, upper)` over ascending single-value keys; because it is built with
 * `prefixEnd`, it also covers composite keys that start with the value (value, then doc key).
 */
export function comparisonRanges(op: ComparisonOp, value: Value): ByteRange[] {
  const enc = encodeIndexValue(value);
  // Never undefined: the tag is below 0xFF.
  const after = prefixEnd(enc) as Uint8Array;
  if (op === "EQUAL") return [{ lower: enc, upper: after }];
  const nonNull = Uint8Array.of(IndexTag.Null + 1);
  if (op === "NOT_EQUAL") {
    if ("nullValue" in value) return [{ lower: nonNull, upper: MAX_KEY }];
    return [
      { lower: nonNull, upper: enc },
      { lower: after, upper: MAX_KEY },
    ];
  }
  if ("nullValue" in value || ("doubleValue" in value && Number.isNaN(doubleOf(value.doubleValue)))) return [];
  const t = typeRange(typeOrderOfEncoding(enc), { excludeNaN: true });
  let range: ByteRange;
  switch (op) {
    case "LESS_THAN":
      range = { lower: t.lower, upper: enc };
      break;
    case "LESS_THAN_OR_EQUAL":
      range = { lower: t.lower, upper: after };
      break;
    case "GREATER_THAN":
      range = { lower: after, upper: t.upper };
      break;
    default:
      range = { lower: enc, upper: t.upper };
      break;
  }
  return compareBytes(range.lower, range.upper) < 0 ? [range] : [];
}

/** The type order of an encoded value, read from its tag byte (ascending encodings only). */
export function typeOrderOfEncoding(enc: Uint8Array): TypeOrderNumber {
  const tag = enc[0];
  switch (tag) {
    case IndexTag.Null:
      return TypeOrder.Null;
    case IndexTag.Boolean:
      return TypeOrder.Boolean;
    case IndexTag.NaN:
    case IndexTag.Number:
      return TypeOrder.Number;
    case IndexTag.Timestamp:
      return TypeOrder.Timestamp;
    case IndexTag.String:
      return TypeOrder.String;
    case IndexTag.Bytes:
      return TypeOrder.Bytes;
    case IndexTag.Reference:
      return TypeOrder.Reference;
    case IndexTag.GeoPoint:
      return TypeOrder.GeoPoint;
    case IndexTag.Array:
      return TypeOrder.Array;
    case IndexTag.Vector:
      return TypeOrder.Vector;
    case IndexTag.Map:
      return TypeOrder.Map;
    default:
      throw new Error(`index encoding: unknown tag ${String(tag)}`);
  }
}
