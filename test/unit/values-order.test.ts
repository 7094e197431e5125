import { describe, expect, it } from "vitest";
import type { Value } from "../../src/model/types.js";
import {
  compareBase64Bytes,
  comparePaths,
  compareSegments,
  compareUtf8Strings,
  compareValues,
  isVectorValue,
  TypeOrder,
  typeOrder,
  utf8Length,
} from "../../src/model/values.js";

// Small constructors for canonical values.
const nul: Value = { nullValue: null };
const bool = (b: boolean): Value => ({ booleanValue: b });
const int = (s: string | number): Value => ({ integerValue: String(s) });
const dbl = (n: number | "NaN" | "Infinity" | "-Infinity" | "-0"): Value => ({ doubleValue: n });
const ts = (s: string): Value => ({ timestampValue: s });
const str = (s: string): Value => ({ stringValue: s });
const bytes = (...b: number[]): Value => ({ bytesValue: btoa(String.fromCharCode(...b)) });
const ref = (path: string, db = "d"): Value => ({ referenceValue: `projects/p/databases/${db}/documents/${path}` });
const geo = (latitude: number, longitude: number): Value => ({ geoPointValue: { latitude, longitude } });
const arr = (...values: Value[]): Value => ({ arrayValue: { values } });
const map = (fields: Record<string, Value>): Value => ({ mapValue: { fields } });
const vec = (...n: number[]): Value => map({ __type__: str("__vector__"), value: arr(...n.map((x) => dbl(x))) });

/** Groups in strictly increasing order; members of one group compare equal. */
const GROUPS: Value[][] = [
  [nul],
  [bool(false)],
  [bool(true)],
  // Numbers: NaN first, then int64 and double on one line, compared exactly.
  [dbl("NaN")],
  [dbl("-Infinity")],
  [dbl(-Number.MAX_VALUE)],
  [int("-9223372036854775808"), dbl(-(2 ** 63))],
  [int("-9223372036854775807")],
  [int("-1000000000000001")],
  [dbl(-1000000000000000.5)],
  [int("-1000000000000000"), dbl(-1e15)],
  [dbl(-1.5)],
  [int(-1), dbl(-1)],
  [dbl(-Number.MIN_VALUE)],
  [int(0), dbl(0), dbl("-0")],
  [dbl(Number.MIN_VALUE)],
  [dbl(0.5)],
  [int(1), dbl(1)],
  [dbl(1.5)],
  [int(2), dbl(2)],
  [int("1000000000000000"), dbl(1e15)],
  [dbl(1000000000000000.5)],
  [int("1000000000000001")],
  [int("9007199254740992"), dbl(9007199254740992)],
  [int("9007199254740993")],
  [int("9007199254740994"), dbl(9007199254740994)],
  [int("100000000000000000"), dbl(1e17)],
  [int("100000000000000001")],
  [dbl(1e17 + 16)],
  [int("9223372036854775806")],
  [int("9223372036854775807")],
  // 2^63 as a double (9.223372036854776e18) is greater than int64 max.
  [dbl(2 ** 63)],
  [dbl(Number.MAX_VALUE)],
  [dbl("Infinity")],
  // Timestamps.
  [ts("0001-01-01T00:00:00.000000Z")],
  [ts("1969-12-31T23:59:59.999999Z")],
  [ts("1970-01-01T00:00:00.000000Z")],
  [ts("1970-01-01T00:00:00.000001Z")],
  [ts("2023-11-14T22:13:20.123456Z")],
  [ts("9999-12-31T23:59:59.999999Z")],
  // Strings in UTF-8 byte order (U+E000..U+FFFF sort before astral characters).
  [str("")],
  [str("\u0000")],
  [str("\u0001")],
  [str("A")],
  [str("a")],
  [str("aa")],
  [str("b")],
  [str("\u00e9")],
  [str("\u00ff")],
  [str("\u0100")],
  [str("\ud7ff")],
  [str("\ue000")],
  [str("\uffff")],
  [str("\u{1f600}")],
  [str("\u{1f600}a")],
  [str("\u{1f601}")],
  [str("\u{10ffff}")],
  // Bytes, bytewise on the decoded bytes.
  [bytes()],
  [bytes(0x00)],
  [bytes(0x00, 0x00)],
  [bytes(0x00, 0x01)],
  [bytes(0x01)],
  [bytes(0x01, 0x00)],
  [bytes(0x3e)],
  [bytes(0x3f)],
  [bytes(0x7f)],
  [bytes(0x80)],
  [bytes(0xfb, 0xff)],
  [bytes(0xff)],
  [bytes(0xff, 0xff)],
  // References: numeric ids first (numerically), then UTF-8 string order; prefixes first.
  [ref("c/__id-9223372036854775808__")],
  [ref("c/__id-1__")],
  [ref("c/__id2__")],
  [ref("c/__id10__")],
  [ref("c/__id9223372036854775807__")],
  [ref("c/A")],
  [ref("c/__id9223372036854775808__")],
  [ref("c/__id__x")],
  [ref("c/a")],
  [ref("c/a/sub/x")],
  [ref("c/b")],
  [ref("c/\ue000")],
  [ref("c/\u{1f600}")],
  [ref("c0/a")],
  [ref("a/b", "e")],
  // Geo points: latitude, then longitude.
  [geo(-90, -180)],
  [geo(-90, 0)],
  [geo(-90, 180)],
  [geo(-1, 5)],
  [geo(0, -180)],
  [geo(0, 0)],
  [geo(0, 1)],
  [geo(1, -100)],
  [geo(90, 180)],
  // Arrays: element-wise, then length.
  [arr()],
  [arr(nul)],
  [arr(nul, nul)],
  [arr(bool(false))],
  [arr(dbl("NaN"))],
  [arr(int(1)), arr(dbl(1))],
  [arr(int(1), str("a"))],
  [arr(int(2))],
  [arr(str("a"))],
  [arr(map({}))],
  // Vectors: dimension first, then elements.
  [vec()],
  [vec(100)],
  [vec(-1, 0), vec(-1, -0)],
  [vec(-1, 1)],
  [vec(1, 1, 1)],
  // Maps: sorted keys (UTF-8), then values, then size.
  [map({})],
  [map({ __type__: str("other") })],
  [map({ a: nul })],
  [map({ a: int(1) }), map({ a: dbl(1) })],
  [map({ a: int(1), b: nul }), map({ b: nul, a: dbl(1) })],
  [map({ a: int(2) })],
  [map({ a: str("x") })],
  [map({ b: nul })],
  [map({ "\u00e9": int(1) })],
  [map({ "\ue000": int(1) })],
  [map({ "\u{1f600}": int(1) })],
];

describe("compareValues", () => {
  it("orders the equivalence groups", () => {
    const flat = GROUPS.flatMap((g, gi) => g.map((v) => ({ v, gi })));
    const failures: string[] = [];
    for (const a of flat) {
      for (const b of flat) {
        const expected = Math.sign(a.gi - b.gi);
        const actual = Math.sign(compareValues(a.v, b.v));
        if (actual !== expected)
          failures.push(`${JSON.stringify(a.v)} vs ${JSON.stringify(b.v)}: ${actual}, expected ${expected}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it("sorts a shuffled copy back into group order", () => {
    const flat = GROUPS.flatMap((g, gi) => g.map((v) => ({ v, gi })));
    const shuffled = [...flat].reverse();
    shuffled.sort((x, y) => compareValues(x.v, y.v));
    expect(shuffled.map((x) => x.gi)).toEqual(flat.map((x) => x.gi));
  });
});

describe("typeOrder", () => {
  it("ranks every type", () => {
    expect(typeOrder(nul)).toBe(0);
    expect(typeOrder(bool(true))).toBe(1);
    expect(typeOrder(int(1))).toBe(2);
    expect(typeOrder(dbl("NaN"))).toBe(2);
    expect(typeOrder(ts("1970-01-01T00:00:00.000000Z"))).toBe(3);
    expect(typeOrder(str("x"))).toBe(5);
    expect(typeOrder(bytes(1))).toBe(6);
    expect(typeOrder(ref("c/d"))).toBe(7);
    expect(typeOrder(geo(0, 0))).toBe(8);
    expect(typeOrder(arr())).toBe(9);
    expect(typeOrder(vec(1))).toBe(TypeOrder.Vector);
    expect(typeOrder(map({ __type__: str("__vector__") }))).toBe(10);
    expect(typeOrder(map({ __type__: str("x") }))).toBe(11);
    expect(typeOrder(map({}))).toBe(TypeOrder.Map);
    expect(isVectorValue(vec())).toBe(true);
    expect(isVectorValue(map({ __type__: int(1) }))).toBe(false);
  });
});

/** Deterministic pseudo-random generator for the fuzz comparisons. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function byteCompare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

describe("UTF-8 helpers", () => {
  const enc = new TextEncoder();
  const alphabet = [
    "a",
    "b",
    "\u007f",
    "\u0080",
    "\u07ff",
    "\u0800",
    "\ud7ff",
    "\ue000",
    "\uffff",
    "\u{10000}",
    "\u{1f600}",
    "\u{10ffff}",
  ];
  const random = rng(42);
  const randomString = (): string => {
    let s = "";
    const n = Math.floor(random() * 5);
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(random() * alphabet.length)];
    return s;
  };

  it("compareUtf8Strings agrees with comparing encoded bytes", () => {
    for (let i = 0; i < 3000; i++) {
      const a = randomString();
      const b = randomString();
      expect(Math.sign(compareUtf8Strings(a, b))).toBe(Math.sign(byteCompare(enc.encode(a), enc.encode(b))));
    }
  });

  it("utf8Length agrees with TextEncoder", () => {
    for (let i = 0; i < 500; i++) {
      const s = randomString();
      expect(utf8Length(s)).toBe(enc.encode(s).length);
    }
    expect(utf8Length("\ud800")).toBe(3);
  });

  it("compareBase64Bytes agrees with comparing bytes", () => {
    for (let i = 0; i < 3000; i++) {
      const a = Uint8Array.from({ length: Math.floor(random() * 5) }, () =>
        random() < 0.5 ? 0 : Math.floor(random() * 256),
      );
      const b = Uint8Array.from({ length: Math.floor(random() * 5) }, () =>
        random() < 0.5 ? 0 : Math.floor(random() * 256),
      );
      const ea = btoa(String.fromCharCode(...a));
      const eb = btoa(String.fromCharCode(...b));
      expect(Math.sign(compareBase64Bytes(ea, eb))).toBe(Math.sign(byteCompare(a, b)));
    }
  });
});

describe("path segments", () => {
  it("orders numeric ids before strings and numerically", () => {
    expect(compareSegments("__id-1__", "__id1__")).toBeLessThan(0);
    expect(compareSegments("__id9__", "__id10__")).toBeLessThan(0);
    expect(compareSegments("__id10__", "")).toBeLessThan(0);
    expect(compareSegments("__id1__", "__id1__")).toBe(0);
    // Same number, different spelling: distinct, so not equal.
    expect(compareSegments("__id5__", "__id05__")).not.toBe(0);
    expect(comparePaths("c/__id5__", "c/__id5__/x/y")).toBeLessThan(0);
    expect(comparePaths("a/b", "a/b")).toBe(0);
    expect(comparePaths("a\u0000/b", "a/b")).toBeGreaterThan(0);
  });
});
