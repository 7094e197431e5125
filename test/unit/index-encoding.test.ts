import { describe, expect, it } from "vitest";
import type { Value } from "../../src/model/types.js";
import { compareValues, TypeOrder, type TypeOrderNumber, typeOrder } from "../../src/model/values.js";
import {
  type ByteRange,
  type ComparisonOp,
  compareBytes,
  comparisonRanges,
  encodeIndexValue,
  encodeIndexValueDescending,
  IndexKeyWriter,
  IndexTag,
  invertBytes,
  MAX_KEY,
  MIN_KEY,
  prefixEnd,
  successor,
  typeOrderOfEncoding,
  typeRange,
} from "../../src/query/index-encoding.js";

// ---------------------------------------------------------------------------------------------
// Constructors

const nul: Value = { nullValue: null };
const bool = (b: boolean): Value => ({ booleanValue: b });
const int = (s: string | number | bigint): Value => ({ integerValue: String(s) });
const dbl = (n: number | "NaN" | "Infinity" | "-Infinity" | "-0"): Value => ({ doubleValue: n });
const ts = (s: string): Value => ({ timestampValue: s });
const str = (s: string): Value => ({ stringValue: s });
const bytes = (...b: number[]): Value => ({ bytesValue: btoa(String.fromCharCode(...b)) });
const ref = (path: string, db = "d"): Value => ({ referenceValue: `projects/p/databases/${db}/documents/${path}` });
const geo = (latitude: number, longitude: number): Value => ({ geoPointValue: { latitude, longitude } });
const arr = (...values: Value[]): Value => ({ arrayValue: { values } });
const map = (fields: Record<string, Value>): Value => ({ mapValue: { fields } });
const vecOf = (...values: Value[]): Value => map({ __type__: str("__vector__"), value: arr(...values) });
const vec = (...n: number[]): Value => vecOf(...n.map((x) => dbl(x)));

/** A JS number as a canonical double value. */
function d(n: number): Value {
  if (Number.isNaN(n)) return dbl("NaN");
  if (n === Infinity) return dbl("Infinity");
  if (n === -Infinity) return dbl("-Infinity");
  if (Object.is(n, -0)) return dbl("-0");
  return dbl(n);
}

const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
const enc = encodeIndexValue;
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join(" ");
const show = (v: Value): string => JSON.stringify(v);

function isProperPrefix(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length >= b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Checks one pair; returns a description of the disagreement or undefined. */
function checkPair(a: Value, b: Value, ea = enc(a), eb = enc(b)): string | undefined {
  const want = sign(compareValues(a, b));
  const got = sign(compareBytes(ea, eb));
  if (want !== got) {
    return `compareValues=${want} memcmp=${got}\n  a=${show(a)}\n    ${hex(ea)}\n  b=${show(b)}\n    ${hex(eb)}`;
  }
  if (got !== 0 && (isProperPrefix(ea, eb) || isProperPrefix(eb, ea))) {
    return `encoding is a prefix of another\n  a=${show(a)}\n  b=${show(b)}`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The table

const TWO_53 = 2 ** 53;
const TWO_63 = 2 ** 63;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const LONG = "x".repeat(60);

/** Groups in strictly increasing order; members of one group compare equal. */
const GROUPS: Value[][] = [
  [nul],
  [bool(false)],
  [bool(true)],
  // Numbers
  [dbl("NaN")],
  [dbl("-Infinity")],
  [d(-Number.MAX_VALUE)],
  [d(-1e19)],
  [int(I64_MIN), d(-TWO_63)],
  [int(I64_MIN + 1n)],
  [int(I64_MIN + 511n)],
  [int(I64_MIN + 512n)], // rounds (ties-to-even) down to -2^63
  [int(I64_MIN + 513n)], // rounds up to -2^63 + 1024
  [int(I64_MIN + 1023n)],
  [int(I64_MIN + 1024n), d(-TWO_63 + 1024)],
  [int(I64_MIN + 1025n)],
  [d(-1e18), int("-1000000000000000000")],
  [int(-(2n ** 53n) - 3n)],
  [int(-(2n ** 53n) - 2n), d(-TWO_53 - 2)],
  [int(-(2n ** 53n) - 1n)],
  [int(-(2n ** 53n)), d(-TWO_53)],
  [int(Number.MIN_SAFE_INTEGER), d(Number.MIN_SAFE_INTEGER)],
  [d(-1e15 - 0.5)],
  [int(-1e15), d(-1e15)],
  [d(-1.5)],
  [int(-1), d(-1)],
  [d(-0.5)],
  [d(-2.2250738585072014e-308)],
  [d(-Number.MIN_VALUE)],
  [int(0), d(0), dbl("-0")],
  [d(Number.MIN_VALUE)],
  [d(2.225073858507201e-308)], // largest denormal
  [d(2.2250738585072014e-308)], // smallest normal
  [d(0.5)],
  [int(1), d(1)],
  [d(1.0000000000000002)],
  [int(2), d(2)],
  [int(999999999999999), d(999999999999999)],
  [int(1e15), d(1e15)],
  [d(1e15 + 0.5)],
  [int(Number.MAX_SAFE_INTEGER), d(Number.MAX_SAFE_INTEGER)],
  [int(2n ** 53n), d(TWO_53)],
  [int(2n ** 53n + 1n)],
  [int(2n ** 53n + 2n), d(TWO_53 + 2)],
  [int(2n ** 53n + 3n)], // ties-to-even: rounds up to 2^53 + 4
  [int(2n ** 53n + 4n), d(TWO_53 + 4)],
  [int(1e18), d(1e18)],
  [int(2n ** 63n - 1024n), d(TWO_63 - 1024)],
  [int(I64_MAX - 1022n)],
  [int(I64_MAX - 512n)], // 2^63 - 513: rounds down
  [int(I64_MAX - 511n)], // 2^63 - 512: ties to even, rounds up to 2^63
  [int(I64_MAX - 1n)],
  [int(I64_MAX)],
  [d(TWO_63)],
  [d(TWO_63 + 2048)],
  [d(1e19)],
  [d(Number.MAX_VALUE)],
  [dbl("Infinity")],
  // Timestamps
  [ts("0001-01-01T00:00:00.000000Z")],
  [ts("1969-12-31T23:59:59.999999Z")],
  [ts("1970-01-01T00:00:00.000000Z")],
  [ts("1970-01-01T00:00:00.000001Z")],
  [ts("2023-11-14T22:13:20.123000Z")],
  [ts("2023-11-14T22:13:21.000000Z")],
  [ts("9999-12-31T23:59:59.999999Z")],
  // Strings (UTF-8 order, NUL inside, long strings that take the TextEncoder path)
  [str("")],
  [str("\0")],
  [str("\0\0")],
  [str("\0\x01")],
  [str("\0a")],
  [str("\x01")],
  [str(`\x01${LONG}`)],
  [str("a")],
  [str("a\0")],
  [str("a\0\0")],
  [str("a\0b")],
  [str("a\x01")],
  [str("ab")],
  [str("b")],
  [str(LONG)],
  [str(`${LONG}\0`)],
  [str(`${LONG}\0\0`)],
  [str(`${LONG}\0a`)],
  [str(`${LONG}\0é`)],
  [str(`${LONG}a`)],
  [str(`${LONG}x`)],
  [str(`${LONG}é`)],
  [str("é")],
  [str("\u0800")],
  [str("\uD7FF")],
  [str("\uE000")],
  [str("\uFFFF")],
  [str(`\uFFFF${LONG}`)],
  [str("\u{10000}")],
  [str("😀")],
  [str("😀\0")],
  [str("😀a")],
  [str(`😀${LONG}`)],
  [str("\u{10FFFF}")],
  // Bytes
  [bytes()],
  [bytes(0)],
  [bytes(0, 0)],
  [bytes(0, 1)],
  [bytes(0, 255)],
  [bytes(1)],
  [bytes(1, 0)],
  [bytes(127)],
  [bytes(128)],
  [bytes(255)],
  [bytes(255, 0)],
  [bytes(255, 255)],
  [bytes(255, 255, 255)],
  // References (numeric ids first, numerically; spellings of one number by text)
  [{ referenceValue: "projects/p/databases/d/documents" }],
  [ref("c")],
  [ref("c/__id-9223372036854775808__")],
  [ref("c/__id-5__")],
  [ref("c/__id-5__/x/y")],
  [ref("c/__id-0__")],
  [ref("c/__id00__")],
  [ref("c/__id0__")],
  [ref("c/__id5__")],
  [ref("c/__id10__")],
  [ref("c/__id9223372036854775807__")],
  [ref("c/")],
  [ref("c/A")],
  [ref("c/__id9223372036854775808__")], // out of int64: an ordinary string id
  [ref("c/__idx__")],
  [ref("c/a")],
  [ref("c/a/b/__id1__")],
  [ref("c/a/b/c")],
  [ref("c/a\0")],
  [ref("c/a\0/b/c")],
  [ref("c/ab")],
  [ref("c/é")],
  [ref("c/😀")],
  [ref("c0/a")],
  [ref("d/a")],
  [ref("a/b", "e")],
  // Geopoints (latitude, then longitude; -0 == 0)
  [geo(-90, -180)],
  [geo(-90, 180)],
  [geo(-1e-300, 0)],
  [geo(0, -180)],
  [geo(0, -Number.MIN_VALUE)],
  [geo(0, 0), geo(-0, 0), geo(0, -0)],
  [geo(0, Number.MIN_VALUE)],
  [geo(Number.MIN_VALUE, -180)],
  [geo(45.5, 3)],
  [geo(90, 180)],
  // Arrays (element-wise, then shorter first)
  [arr()],
  [arr(nul)],
  [arr(nul, nul)],
  [arr(nul, int(1))],
  [arr(bool(false))],
  [arr(dbl("NaN"))],
  [arr(int(1)), arr(d(1))],
  [arr(int(1), nul)],
  [arr(int(1), int(2)), arr(d(1), d(2))],
  [arr(int(2))],
  [arr(int(2n ** 53n + 1n))],
  [arr(str(""))],
  [arr(str(""), str(""))],
  [arr(str("a"))],
  [arr(str("a"), str("b"))],
  [arr(str("a\0"))],
  [arr(str("ab"))],
  [arr(str("z"), nul)],
  [arr(bytes(0))],
  [arr(ref("c/a"))],
  [arr(arr())],
  [arr(arr(), str("z"))],
  [arr(arr(), arr())],
  [arr(arr(nul))],
  [arr(arr(arr()))],
  [arr(vec())],
  [arr(map({}))],
  [arr(map({}), nul)],
  [arr(map({ a: nul }))],
  // Vectors (dimension first, then elements)
  [vec(), vecOf(), map({ __type__: str("__vector__") })],
  [vec(-Infinity)],
  [vec(-1)],
  [vec(1), vecOf(int(1)), map({ __type__: str("__vector__"), value: arr(d(1)), extra: str("ignored") })],
  [vec(100)],
  [vec(-5, 0)],
  [vec(1, 0)],
  [vec(1, 2)],
  [vec(0, 0, 0)],
  [vec(...Array.from({ length: 300 }, () => 0))],
  // Maps (keys in UTF-8 order, then values, then size)
  [map({})],
  [map({ "": nul })],
  [map({ "": nul, a: nul })],
  [map({ "": bool(false) })],
  [map({ "\0": nul })],
  [map({ "\0a": nul })],
  [map({ A: nul })],
  [map({ __type__: str("__vector") })], // not a vector
  [map({ __type__: str("__vector__x") })],
  [map({ a: nul })],
  [map({ a: nul, b: nul })],
  [map({ a: int(1) }), map({ a: d(1) })],
  [map({ a: int(1), b: nul })],
  [map({ a: int(1), b: int(2) }), map({ b: d(2), a: d(1) })],
  [map({ a: int(2) })],
  [map({ a: str("") })],
  [map({ a: arr() })],
  [map({ a: arr(), b: nul })],
  [map({ a: map({}) })],
  [map({ a: map({ b: int(1) }) })],
  [map({ a: map({ b: int(1) }), c: nul })],
  [map({ "a\0": nul })],
  [map({ ab: nul })],
  [map({ b: nul })],
  [map({ é: nul })],
  [map({ "\uFFFF": nul })],
  [map({ "😀": nul })],
];

describe("index encoding: hand-made table", () => {
  const flat: { v: Value; g: number; e: Uint8Array }[] = [];
  GROUPS.forEach((group, g) => {
    for (const v of group) flat.push({ v, g, e: enc(v) });
  });

  it("the table itself is ordered by compareValues", () => {
    const bad: string[] = [];
    for (let i = 0; i < flat.length; i++) {
      for (let j = 0; j < flat.length; j++) {
        const a = flat[i]!;
        const b = flat[j]!;
        if (sign(compareValues(a.v, b.v)) !== sign(a.g - b.g)) bad.push(`${show(a.v)} vs ${show(b.v)}`);
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it(`every pair orders like compareValues (${flat.length} values, ${flat.length ** 2} pairs)`, () => {
    const bad: string[] = [];
    for (const a of flat) {
      for (const b of flat) {
        const err = checkPair(a.v, b.v, a.e, b.e);
        if (err !== undefined) bad.push(err);
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it("equal values encode to identical bytes", () => {
    for (const group of GROUPS) {
      const first = hex(enc(group[0]!));
      for (const v of group) expect(hex(enc(v)), show(v)).toBe(first);
    }
  });

  it("descending encodings reverse the order", () => {
    const bad: string[] = [];
    for (const a of flat) {
      const da = encodeIndexValueDescending(a.v);
      for (const b of flat) {
        const db = encodeIndexValueDescending(b.v);
        if (sign(compareBytes(da, db)) !== sign(b.g - a.g)) bad.push(`${show(a.v)} vs ${show(b.v)}`);
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it("has the documented layout", () => {
    expect(hex(enc(nul))).toBe("10");
    expect(hex(enc(bool(false)))).toBe("20 00");
    expect(hex(enc(bool(true)))).toBe("20 01");
    expect(hex(enc(dbl("NaN")))).toBe("30");
    expect(hex(enc(int(0)))).toBe("31 80 00 00 00 00 00 00 00");
    expect(hex(enc(dbl("-0")))).toBe("31 80 00 00 00 00 00 00 00");
    expect(hex(enc(int(1)))).toBe("31 bf f0 00 00 00 00 00 00");
    expect(hex(enc(int(-1)))).toBe("31 40 0f ff ff ff ff ff ff");
    expect(hex(enc(dbl("-Infinity")))).toBe("31 00 0f ff ff ff ff ff ff");
    // Beyond 2^53: the double, then the exact offset of the integer from it.
    expect(hex(enc(int(2n ** 53n + 1n)))).toBe("31 c3 40 00 00 00 00 00 00 80 01");
    expect(hex(enc(d(TWO_53)))).toBe("31 c3 40 00 00 00 00 00 00 80 00");
    expect(hex(enc(int(I64_MAX)))).toBe("31 c3 e0 00 00 00 00 00 00 7f ff");
    expect(hex(enc(ts("2023-11-14T22:13:20.123000Z")))).toBe("40 20 23 11 14 22 13 20 12 30 00");
    expect(hex(enc(str("a\0")))).toBe("50 61 00 ff 00 01");
    expect(hex(enc(bytes(0, 255)))).toBe("60 00 ff ff 00 01");
    expect(hex(enc({ referenceValue: "a/__id-1__" }))).toBe(
      "70 02 61 00 01 01 7f ff ff ff ff ff ff ff 5f 5f 69 64 2d 31 5f 5f 00 01 00",
    );
    expect(hex(enc(geo(0, 0)))).toBe("80 80 00 00 00 00 00 00 00 80 00 00 00 00 00 00 00");
    expect(hex(enc(arr(nul, bool(true))))).toBe("90 10 20 01 00");
    expect(hex(enc(vec(1)))).toBe("a0 01 01 31 bf f0 00 00 00 00 00 00");
    expect(hex(enc(vec()))).toBe("a0 00");
    expect(hex(enc(map({ b: nul, a: bool(true) })))).toBe("b0 61 00 01 20 01 62 00 01 10 00 00");
    expect(hex(enc(map({})))).toBe("b0 00 00");
  });

  it("encodes long and non-ASCII strings as UTF-8", () => {
    const utf8 = new TextEncoder();
    for (const s of ["héllo wörld 😀", "\uFFFF\u{10000}", LONG, `${LONG}é😀`, `ab${"é".repeat(40)}`]) {
      expect(hex(enc(str(s)))).toBe(hex(Uint8Array.of(0x50, ...utf8.encode(s), 0, 1)));
    }
    const many = "\0".repeat(100);
    expect(enc(str(many)).length).toBe(1 + 200 + 2);
    expect(enc(str("a".repeat(20) + many)).length).toBe(1 + 20 + 200 + 2);
  });

  it("handles large values (buffer growth) and stays correct afterwards", () => {
    const big = "é".repeat(100_000);
    const e = enc(str(big));
    expect(e.length).toBe(1 + 200_000 + 2);
    const bigArr = arr(...Array.from({ length: 20_000 }, (_, i) => int(i)));
    expect(enc(bigArr).length).toBe(1 + 20_000 * 9 + 1);
    expect(hex(enc(str("a")))).toBe("50 61 00 01");
  });

  it("rejects non-canonical timestamps instead of misordering them", () => {
    expect(() => enc(ts("2023-11-14T22:13:20Z"))).toThrow();
    expect(() => enc(ts("2023-11-14T22:13:2x.123000Z"))).toThrow();
  });
});

// ---------------------------------------------------------------------------------------------
// Random values

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  constructor(private readonly rnd: () => number) {}

  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }

  /** A random double from its bit pattern (finite or not). */
  anyDouble(): number {
    const view = new DataView(new ArrayBuffer(8));
    view.setUint32(0, this.int(2 ** 32));
    view.setUint32(4, this.int(2 ** 32));
    return view.getFloat64(0);
  }

  /** A random int64. */
  anyInt64(): bigint {
    const hi = BigInt(this.int(2 ** 32));
    const lo = BigInt(this.int(2 ** 32));
    return BigInt.asIntN(64, (hi << 32n) | lo);
  }

  /** Doubles stepped a few ulps from `x`. */
  nearDouble(x: number): number {
    const view = new DataView(new ArrayBuffer(8));
    view.setFloat64(0, x);
    const bits = view.getBigUint64(0) + BigInt(this.int(7) - 3);
    view.setBigUint64(0, BigInt.asUintN(64, bits));
    return view.getFloat64(0);
  }

  clampInt64(x: bigint): bigint {
    return x < I64_MIN ? I64_MIN : x > I64_MAX ? I64_MAX : x;
  }

  /** Numbers crowded around the places where int64 and double disagree. */
  number(): Value {
    const bases = [0, 1, TWO_53, -TWO_53, TWO_63, -TWO_63, 2 ** 62, -(2 ** 62), 2 ** 60 + 2 ** 40, 1e18, -1e18];
    switch (this.int(10)) {
      case 0:
        return this.pick([dbl("NaN"), dbl("Infinity"), dbl("-Infinity"), dbl("-0"), d(0), d(Number.MIN_VALUE)]);
      case 1:
        return this.rnd() < 0.5 ? int(this.int(7) - 3) : d(this.int(7) - 3);
      case 2:
        return d(this.anyDouble());
      case 3:
        return int(this.anyInt64());
      case 4: {
        // An int64 within ±1100 of a double (hits exact ties and both rounding directions).
        const base = this.rnd() < 0.5 ? this.pick(bases) : this.pick([1, -1]) * 2 ** (53 + this.rnd() * 10);
        const b = base >= TWO_63 ? I64_MAX : base <= -TWO_63 ? I64_MIN : BigInt(Math.trunc(base));
        return int(this.clampInt64(b + BigInt(this.int(2201) - 1100)));
      }
      case 5: {
        // Doubles a few ulps from the bases, sometimes as the equal integer.
        const x = this.nearDouble(this.pick(bases));
        if (Number.isInteger(x) && x > -TWO_63 - 1 && x < TWO_63 && this.rnd() < 0.5) return int(BigInt(x));
        return d(x);
      }
      case 6: {
        const x = this.nearDouble(this.rnd() * 4 - 2);
        return d(x);
      }
      case 7: {
        // Integers around 2^53 exactly.
        const b = this.pick([2n ** 53n, -(2n ** 53n)]) + BigInt(this.int(9) - 4);
        return this.rnd() < 0.7 ? int(b) : d(Number(b));
      }
      case 8:
        return int(this.pick([I64_MIN, I64_MAX, I64_MIN + 1n, I64_MAX - 1n, 0n]));
      default:
        return d(this.pick([0.5, -0.5, 1.5, 1e-300, -1e-300, 1e300, 2.225073858507201e-308]));
    }
  }

  string(): string {
    const atoms = ["", "a", "b", "\0", "\x01", "é", "\uFFFF", "\uE000", "\uD7FF", "😀", "\u{10FFFF}", "~", "ab"];
    let s = "";
    const n = this.int(4);
    for (let i = 0; i < n; i++) s += this.pick(atoms);
    if (this.rnd() < 0.1) s = s.repeat(30) + this.pick(atoms);
    return s;
  }

  timestamp(): string {
    const two = (n: number): string => String(n).padStart(2, "0");
    const year = this.pick([1, 1969, 1970, 2023, 9999]);
    return `${String(year).padStart(4, "0")}-${two(1 + this.int(2))}-${two(1 + this.int(2))}T${two(this.int(2) * 23)}:${two(
      this.int(2) * 59,
    )}:${two(this.int(2) * 59)}.${String(this.pick([0, 1, 123000, 999999])).padStart(6, "0")}Z`;
  }

  reference(): string {
    const segs = ["a", "b", "", "__id1__", "__id-1__", "__id01__", "__id0__", "__id-0__", "a\0", "😀", "é"];
    const more = ["__id9223372036854775808__", "__id-9223372036854775808__", "__id9223372036854775807__"];
    const n = 1 + this.int(4);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(this.rnd() < 0.1 ? this.pick(more) : this.pick(segs));
    return `projects/p/databases/${this.pick(["d", "e"])}/documents/${parts.join("/")}`;
  }

  value(depth: number): Value {
    const kind = this.int(depth > 0 ? 12 : 9);
    switch (kind) {
      case 0:
        return this.rnd() < 0.3 ? nul : bool(this.rnd() < 0.5);
      case 1:
      case 2:
        return this.number();
      case 3:
        return ts(this.timestamp());
      case 4:
        return str(this.string());
      case 5:
        return bytes(...Array.from({ length: this.int(4) }, () => this.pick([0, 1, 127, 128, 255])));
      case 6:
        return { referenceValue: this.reference() };
      case 7: {
        const coords = [-90, -1, -0, 0, 1e-300, Number.MIN_VALUE, 1, 90];
        return geo(this.pick(coords), this.pick(coords));
      }
      case 8:
        return vecOf(...Array.from({ length: this.int(3) }, () => this.number()));
      case 9:
        return arr(...Array.from({ length: this.int(4) }, () => this.value(depth - 1)));
      default: {
        const keys = ["", "a", "b", "ab", "\0", "é", "😀", "\uFFFF", "__type__", "value"];
        const fields: Record<string, Value> = {};
        const n = this.int(4);
        for (let i = 0; i < n; i++) fields[this.pick(keys)] = this.value(depth - 1);
        return map(fields);
      }
    }
  }
}

function randomValues(seed: number, n: number, depth: number): { v: Value; e: Uint8Array }[] {
  const g = new Gen(prng(seed));
  return Array.from({ length: n }, () => {
    const v = g.value(depth);
    return { v, e: enc(v) };
  });
}

describe("index encoding: randomized properties", () => {
  it.each([1, 2, 3, 4])("random nested values, seed %i: memcmp agrees with compareValues", (seed) => {
    const values = randomValues(seed, 3000, 3);
    const rnd = prng(seed * 7919);
    const bad: string[] = [];
    let equalPairs = 0;
    // Random pairs, plus each value against its neighbours in generation order.
    for (let k = 0; k < 40_000; k++) {
      const a = values[Math.floor(rnd() * values.length)]!;
      const b = values[Math.floor(rnd() * values.length)]!;
      const err = checkPair(a.v, b.v, a.e, b.e);
      if (err !== undefined) bad.push(err);
      if (compareValues(a.v, b.v) === 0) equalPairs++;
    }
    // Sorted by compareValues, consecutive encodings must be strictly increasing or identical
    // exactly when the values are equal (by transitivity this covers all pairs).
    const sorted = [...values].sort((x, y) => compareValues(x.v, y.v));
    for (let i = 1; i < sorted.length; i++) {
      const err = checkPair(sorted[i - 1]!.v, sorted[i]!.v, sorted[i - 1]!.e, sorted[i]!.e);
      if (err !== undefined) bad.push(err);
      if (compareValues(sorted[i - 1]!.v, sorted[i]!.v) === 0) equalPairs++;
    }
    expect(bad.slice(0, 3)).toEqual([]);
    expect(equalPairs).toBeGreaterThan(100); // the generator does produce ties
  });

  it("random numbers near 2^53 / 2^63 and random bit patterns: exact int64/double order", () => {
    const g = new Gen(prng(42));
    const nums = Array.from({ length: 6000 }, () => g.number());
    const encs = nums.map(enc);
    const bad: string[] = [];
    let ties = 0;
    for (let i = 0; i < nums.length; i++) {
      for (let k = 0; k < 20; k++) {
        const j = g.int(nums.length);
        const err = checkPair(nums[i]!, nums[j]!, encs[i], encs[j]);
        if (err !== undefined) bad.push(err);
        if (i !== j && compareValues(nums[i]!, nums[j]!) === 0) ties++;
      }
    }
    const order = nums.map((_, i) => i).sort((x, y) => compareValues(nums[x]!, nums[y]!));
    for (let i = 1; i < order.length; i++) {
      const x = order[i - 1]!;
      const y = order[i]!;
      const err = checkPair(nums[x]!, nums[y]!, encs[x], encs[y]);
      if (err !== undefined) bad.push(err);
    }
    expect(bad.slice(0, 3)).toEqual([]);
    expect(ties).toBeGreaterThan(100);
  });

  it("every int64 offset around a double rounds into the right slot", () => {
    // Exhaustive around a few doubles: each integer in [D - 1100, D + 1100] against D itself,
    // its neighbours and each other.
    const bad: string[] = [];
    for (const center of [2n ** 53n, 2n ** 62n, I64_MAX - 1100n, I64_MIN + 1100n, -(2n ** 60n) - 12345n]) {
      const vals: Value[] = [];
      for (let k = -1100n; k <= 1100n; k++) vals.push(int(center + k));
      const encs = vals.map(enc);
      for (let i = 1; i < vals.length; i++) {
        if (compareBytes(encs[i - 1]!, encs[i]!) >= 0) bad.push(`${show(vals[i - 1]!)} !< ${show(vals[i]!)}`);
      }
      for (const x of [Number(center - 1100n), Number(center), Number(center + 1100n)]) {
        for (const y of [x, g1(x, -1), g1(x, 1)]) {
          const dv = d(y);
          for (let i = 0; i < vals.length; i += 7) {
            const err = checkPair(vals[i]!, dv, encs[i], enc(dv));
            if (err !== undefined) bad.push(err);
          }
        }
      }
    }
    expect(bad.slice(0, 3)).toEqual([]);
  });

  it("composite keys: (a descending, b ascending) order lexicographically", () => {
    const values = randomValues(99, 400, 2);
    const rnd = prng(5);
    const bad: string[] = [];
    for (let k = 0; k < 20_000; k++) {
      const [a1, b1, a2, b2] = [0, 0, 0, 0].map(() => values[Math.floor(rnd() * values.length)]!.v) as [
        Value,
        Value,
        Value,
        Value,
      ];
      const k1 = new IndexKeyWriter(4);
      k1.writeValueDescending(a1);
      k1.writeValue(b1);
      const k2 = new IndexKeyWriter();
      k2.writeValueDescending(a2);
      k2.writeValue(b2);
      const want = sign(compareValues(a2, a1) || compareValues(b1, b2));
      const got = sign(compareBytes(k1.finish(), k2.finish()));
      if (want !== got) bad.push(`(${show(a1)}, ${show(b1)}) vs (${show(a2)}, ${show(b2)})`);
    }
    expect(bad.slice(0, 3)).toEqual([]);
  });
});

/** The double `n` ulps from x. */
function g1(x: number, n: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const bits = view.getBigInt64(0);
  view.setBigInt64(0, x >= 0 ? bits + BigInt(n) : bits - BigInt(n));
  return view.getFloat64(0);
}

// ---------------------------------------------------------------------------------------------
// Range helpers

const inRange = (e: Uint8Array, r: ByteRange): boolean => compareBytes(r.lower, e) <= 0 && compareBytes(e, r.upper) < 0;
const inRanges = (e: Uint8Array, rs: ByteRange[]): boolean => rs.some((r) => inRange(e, r));
const isNaNValue = (v: Value): boolean => "doubleValue" in v && v.doubleValue === "NaN";

const ALL_TYPES: TypeOrderNumber[] = [
  TypeOrder.Null,
  TypeOrder.Boolean,
  TypeOrder.Number,
  TypeOrder.Timestamp,
  TypeOrder.String,
  TypeOrder.Bytes,
  TypeOrder.Reference,
  TypeOrder.GeoPoint,
  TypeOrder.Array,
  TypeOrder.Vector,
  TypeOrder.Map,
];

/** What `x op operand` matches in Firestore. */
function matches(op: ComparisonOp, x: Value, operand: Value): boolean {
  const c = compareValues(x, operand);
  if (op === "EQUAL") return c === 0;
  if (op === "NOT_EQUAL") return !("nullValue" in x) && c !== 0;
  if ("nullValue" in operand || isNaNValue(operand) || isNaNValue(x)) return false;
  if (typeOrder(x) !== typeOrder(operand)) return false;
  switch (op) {
    case "LESS_THAN":
      return c < 0;
    case "LESS_THAN_OR_EQUAL":
      return c <= 0;
    case "GREATER_THAN":
      return c > 0;
    default:
      return c >= 0;
  }
}

describe("index encoding: range helpers", () => {
  const values = [...GROUPS.flat(), ...randomValues(7, 1500, 2).map((x) => x.v)];
  const encs = values.map(enc);

  it("typeRange brackets exactly the encodings of one type order", () => {
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      const e = encs[i]!;
      expect(typeOrderOfEncoding(e)).toBe(typeOrder(v));
      for (const t of ALL_TYPES) {
        expect(inRange(e, typeRange(t)), `${show(v)} in type ${t}`).toBe(typeOrder(v) === t);
        expect(inRange(e, typeRange(t, { excludeNaN: true }))).toBe(typeOrder(v) === t && !isNaNValue(v));
      }
      expect(inRange(e, { lower: MIN_KEY, upper: MAX_KEY })).toBe(true);
    }
    // Ranges follow type order and do not overlap.
    for (let i = 1; i < ALL_TYPES.length; i++) {
      const prev = typeRange(ALL_TYPES[i - 1]!);
      const cur = typeRange(ALL_TYPES[i]!);
      expect(compareBytes(prev.upper, cur.lower)).toBeLessThanOrEqual(0);
    }
    expect(hex(typeRange(TypeOrder.Number).lower)).toBe(hex(Uint8Array.of(IndexTag.NaN)));
    expect(hex(typeRange(TypeOrder.Number, { excludeNaN: true }).lower)).toBe(hex(Uint8Array.of(IndexTag.Number)));
  });

  it("comparisonRanges match exactly the values each operator selects", () => {
    const ops: ComparisonOp[] = [
      "LESS_THAN",
      "LESS_THAN_OR_EQUAL",
      "GREATER_THAN",
      "GREATER_THAN_OR_EQUAL",
      "EQUAL",
      "NOT_EQUAL",
    ];
    const rnd = prng(11);
    const bad: string[] = [];
    let hits = 0;
    let checks = 0;
    const operands = [...GROUPS.flat(), ...values.filter(() => rnd() < 0.1)];
    // The bare key, and composite keys that continue after the value (value, then doc key).
    const keys = encs.map((e) => [e, Uint8Array.of(...e, 0x00), Uint8Array.of(...e, 0xff, 0xff)]);
    for (const operand of operands) {
      for (const op of ops) {
        const rs = comparisonRanges(op, operand);
        for (let k = 1; k < rs.length; k++) expect(compareBytes(rs[k - 1]!.upper, rs[k]!.lower)).toBeLessThanOrEqual(0);
        for (let i = 0; i < values.length; i += 3) {
          const want = matches(op, values[i]!, operand);
          checks++;
          if (want) hits++;
          for (const key of keys[i]!) {
            if (inRanges(key, rs) !== want) bad.push(`${show(values[i]!)} ${op} ${show(operand)}: want ${want}`);
          }
        }
      }
    }
    expect(bad.slice(0, 5)).toEqual([]);
    expect(hits).toBeGreaterThan(checks / 10);
  });

  it("range operators with null or NaN match nothing; EQUAL NaN matches NaN only", () => {
    for (const op of ["LESS_THAN", "LESS_THAN_OR_EQUAL", "GREATER_THAN", "GREATER_THAN_OR_EQUAL"] as const) {
      expect(comparisonRanges(op, nul)).toEqual([]);
      expect(comparisonRanges(op, dbl("NaN"))).toEqual([]);
    }
    const [eqNaN] = comparisonRanges("EQUAL", dbl("NaN"));
    expect(inRange(enc(dbl("NaN")), eqNaN!)).toBe(true);
    expect(inRange(enc(dbl("-Infinity")), eqNaN!)).toBe(false);
    // x < 5 is numbers only, NaN excluded.
    const [lt] = comparisonRanges("LESS_THAN", int(5));
    expect(inRange(enc(dbl("-Infinity")), lt!)).toBe(true);
    expect(inRange(enc(d(4.999999)), lt!)).toBe(true);
    expect(inRange(enc(d(5)), lt!)).toBe(false);
    expect(inRange(enc(dbl("NaN")), lt!)).toBe(false);
    expect(inRange(enc(bool(true)), lt!)).toBe(false);
    // 2^63 - 1 < 2^63 (as double) exactly.
    const [gt] = comparisonRanges("GREATER_THAN", int(I64_MAX));
    expect(inRange(enc(d(TWO_63)), gt!)).toBe(true);
    expect(inRange(enc(int(I64_MAX)), gt!)).toBe(false);
  });

  it("prefixEnd and successor", () => {
    expect(prefixEnd(new Uint8Array(0))).toBeUndefined();
    expect(prefixEnd(Uint8Array.of(0xff, 0xff))).toBeUndefined();
    expect(hex(prefixEnd(Uint8Array.of(1, 2, 0xff))!)).toBe("01 03");
    expect(hex(prefixEnd(Uint8Array.of(1, 0xfe))!)).toBe("01 ff");
    expect(hex(prefixEnd(Uint8Array.of(0))!)).toBe("01");
    expect(hex(successor(Uint8Array.of(1, 0xff)))).toBe("01 ff 00");
    // Random byte strings: [p, prefixEnd(p)) is exactly "starts with p".
    const rnd = prng(3);
    const randomBytes = (): Uint8Array =>
      Uint8Array.from({ length: Math.floor(rnd() * 4) }, () => [0, 1, 0xfe, 0xff][Math.floor(rnd() * 4)]!);
    for (let k = 0; k < 5000; k++) {
      const p = randomBytes();
      const s = randomBytes();
      const end = prefixEnd(p);
      const starts = s.length >= p.length && p.every((x, i) => s[i] === x);
      const within = compareBytes(p, s) <= 0 && (end === undefined || compareBytes(s, end) < 0);
      expect(within, `${hex(p)} / ${hex(s)}`).toBe(starts);
      expect(compareBytes(p, successor(p))).toBeLessThan(0);
      if (compareBytes(p, s) < 0) expect(compareBytes(successor(p), s)).toBeLessThanOrEqual(0);
    }
  });

  it("invertBytes and IndexKeyWriter", () => {
    expect(hex(invertBytes(Uint8Array.of(0, 0x0f, 0xff)))).toBe("ff f0 00");
    const w = new IndexKeyWriter(1);
    w.writeValue(str("a"));
    w.writeRaw(Uint8Array.of(9, 9));
    w.writeValueDescending(nul);
    expect(hex(w.finish())).toBe("50 61 00 01 09 09 ef");
    expect(w.length).toBe(7);
    w.reset();
    expect(w.finish().length).toBe(0);
  });
});
