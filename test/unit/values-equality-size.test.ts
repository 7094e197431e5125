import { describe, expect, it } from "vitest";
import type { Value } from "../../src/model/types.js";
import {
  base64ByteLength,
  canonicalDouble,
  documentNameSize,
  documentSize,
  fieldsSize,
  MAX_DOCUMENT_SIZE,
  valueEquals,
  valueSize,
  valuesEquivalent,
} from "../../src/model/values.js";

const nul: Value = { nullValue: null };
const bool = (b: boolean): Value => ({ booleanValue: b });
const int = (s: string | number): Value => ({ integerValue: String(s) });
const dbl = (n: number | "NaN" | "Infinity" | "-Infinity" | "-0"): Value => ({ doubleValue: n });
const ts = (s: string): Value => ({ timestampValue: s });
const str = (s: string): Value => ({ stringValue: s });
const ref = (path: string): Value => ({ referenceValue: `projects/p/databases/d/documents/${path}` });
const geo = (latitude: number, longitude: number): Value => ({ geoPointValue: { latitude, longitude } });
const arr = (...values: Value[]): Value => ({ arrayValue: { values } });
const map = (fields: Record<string, Value>): Value => ({ mapValue: { fields } });

describe("valueEquals (strict canonical equality)", () => {
  it.each<[string, Value, Value]>([
    ["null", nul, nul],
    ["booleans", bool(true), bool(true)],
    ["ints", int("123"), int("123")],
    ["doubles", dbl(1.5), dbl(1.5)],
    ["NaN", dbl("NaN"), dbl("NaN")],
    ["-0", dbl("-0"), dbl("-0")],
    ["Infinity", dbl("Infinity"), dbl("Infinity")],
    ["timestamps", ts("2023-11-14T22:13:20.123456Z"), ts("2023-11-14T22:13:20.123456Z")],
    ["strings", str("x"), str("x")],
    ["bytes", { bytesValue: "AQID" }, { bytesValue: "AQID" }],
    ["references", ref("c/d"), ref("c/d")],
    ["geo points", geo(1, 2), geo(1, 2)],
    ["arrays", arr(int(1), str("a")), arr(int(1), str("a"))],
    [
      "maps in any key order",
      map({ a: int(1), b: map({ c: nul, d: bool(false) }) }),
      map({ b: map({ d: bool(false), c: nul }), a: int(1) }),
    ],
  ])("equal: %s", (_, a, b) => {
    expect(valueEquals(a, b)).toBe(true);
    expect(valueEquals(b, a)).toBe(true);
  });

  it.each<[string, Value, Value]>([
    ["int vs double", int(1), dbl(1)],
    ["0 vs -0", dbl(0), dbl("-0")],
    ["int 0 vs -0", int(0), dbl("-0")],
    ["different ints", int(1), int(2)],
    ["NaN vs number", dbl("NaN"), dbl(0)],
    ["booleans", bool(true), bool(false)],
    ["null vs false", nul, bool(false)],
    ["strings", str("a"), str("b")],
    ["string vs bytes", str("AQID"), { bytesValue: "AQID" }],
    ["references", ref("c/d"), ref("c/e")],
    ["geo", geo(1, 2), geo(2, 1)],
    ["array order", arr(int(1), int(2)), arr(int(2), int(1))],
    ["array length", arr(int(1)), arr(int(1), int(1))],
    ["array element types", arr(int(1)), arr(dbl(1))],
    ["map sizes", map({ a: nul }), map({ a: nul, b: nul })],
    ["map keys", map({ a: nul }), map({ b: nul })],
    ["map values", map({ a: int(1) }), map({ a: dbl(1) })],
    ["array vs map", arr(), map({})],
    ["timestamps", ts("2023-11-14T22:13:20.123456Z"), ts("2023-11-14T22:13:20.123457Z")],
  ])("not equal: %s", (_, a, b) => {
    expect(valueEquals(a, b)).toBe(false);
    expect(valueEquals(b, a)).toBe(false);
  });

  it("does not find inherited keys", () => {
    expect(valueEquals(map({ constructor: nul }), map({ other: nul }))).toBe(false);
  });
});

describe("valuesEquivalent (comparison equality)", () => {
  it.each<[string, Value, Value]>([
    ["3 and 3.0", int(3), dbl(3)],
    ["0 and -0", dbl(0), dbl("-0")],
    ["int 0 and -0", int(0), dbl("-0")],
    ["NaN and NaN", dbl("NaN"), dbl("NaN")],
    ["null and null", nul, nul],
    ["strings", str("x"), str("x")],
    ["nested mixed numbers", arr(int(1), map({ a: dbl(2) })), arr(dbl(1), map({ a: int(2) }))],
    ["maps in any key order", map({ a: int(1), b: dbl(2) }), map({ b: int(2), a: dbl(1) })],
    ["big ints vs double", int("9007199254740992"), dbl(9007199254740992)],
  ])("equivalent: %s", (_, a, b) => {
    expect(valuesEquivalent(a, b)).toBe(true);
    expect(valuesEquivalent(b, a)).toBe(true);
  });

  it.each<[string, Value, Value]>([
    ["3 and 3.5", int(3), dbl(3.5)],
    ["NaN and 0", dbl("NaN"), int(0)],
    ["2^53+1 vs 2^53 double", int("9007199254740993"), dbl(9007199254740992)],
    ["int64 max vs 2^63 double", int("9223372036854775807"), dbl(2 ** 63)],
    ["null vs false", nul, bool(false)],
    ["1 vs true", int(1), bool(true)],
    ["string vs number", str("1"), int(1)],
    ["arrays of different length", arr(int(1)), arr(int(1), int(1))],
    ["maps with different keys", map({ a: int(1) }), map({ b: int(1) })],
  ])("not equivalent: %s", (_, a, b) => {
    expect(valuesEquivalent(a, b)).toBe(false);
    expect(valuesEquivalent(b, a)).toBe(false);
  });
});

describe("canonicalDouble", () => {
  it("maps special numbers to strings", () => {
    expect(canonicalDouble(Number.NaN)).toEqual(dbl("NaN"));
    expect(canonicalDouble(Number.POSITIVE_INFINITY)).toEqual(dbl("Infinity"));
    expect(canonicalDouble(Number.NEGATIVE_INFINITY)).toEqual(dbl("-Infinity"));
    expect(canonicalDouble(-0)).toEqual(dbl("-0"));
    expect(canonicalDouble(0)).toEqual(dbl(0));
    expect(canonicalDouble(2.5)).toEqual(dbl(2.5));
  });
});

describe("storage sizes", () => {
  it("sizes scalars", () => {
    expect(valueSize(nul)).toBe(1);
    expect(valueSize(bool(true))).toBe(1);
    expect(valueSize(int("-9223372036854775808"))).toBe(8);
    expect(valueSize(dbl("NaN"))).toBe(8);
    expect(valueSize(ts("2023-11-14T22:13:20.123456Z"))).toBe(8);
    expect(valueSize(geo(1, 2))).toBe(16);
    expect(valueSize(str(""))).toBe(1);
    expect(valueSize(str("Personal"))).toBe(9);
    expect(valueSize(str("héllo"))).toBe(7);
    expect(valueSize(str("\u{1f600}"))).toBe(5);
  });

  it("sizes bytes by decoded length", () => {
    expect(valueSize({ bytesValue: "" })).toBe(0);
    expect(valueSize({ bytesValue: "AQ==" })).toBe(1);
    expect(valueSize({ bytesValue: "AQI=" })).toBe(2);
    expect(valueSize({ bytesValue: "AQID" })).toBe(3);
    expect(base64ByteLength(btoa("x".repeat(1000)))).toBe(1000);
  });

  it("sizes references and document names as in the storage-size docs", () => {
    // users/jeff/tasks/my_task_id: 6 + 5 + 6 + 11 + 16 = 44.
    expect(documentNameSize("users/jeff/tasks/my_task_id")).toBe(44);
    expect(documentNameSize("projects/p/databases/(default)/documents/users/jeff/tasks/my_task_id")).toBe(44);
    expect(valueSize({ referenceValue: "projects/p/databases/(default)/documents/users/jeff/tasks/my_task_id" })).toBe(
      44,
    );
    expect(documentNameSize("c/\u00e9")).toBe(2 + 3 + 16);
  });

  it("sizes arrays and maps", () => {
    expect(valueSize(arr())).toBe(0);
    expect(valueSize(arr(str("ab"), int(1), nul))).toBe(3 + 8 + 1);
    expect(valueSize(map({}))).toBe(0);
    // "a" (2) + int (8) + "bb" (3) + ["x"] (2)
    expect(valueSize(map({ a: int(1), bb: arr(str("x")) }))).toBe(2 + 8 + 3 + 2);
    expect(fieldsSize({ a: map({ b: bool(true) }) })).toBe(2 + (2 + 1));
  });

  it("sizes the storage-size docs' example task document at 147 bytes", () => {
    const fields = {
      type: str("Personal"),
      done: bool(false),
      priority: int(1),
      description: str("Learn Cloud Firestore"),
    };
    expect(documentSize("users/jeff/tasks/my_task_id", fields)).toBe(147);
  });

  it("flags a 1 MiB string as too large", () => {
    const fields = { big: str("x".repeat(MAX_DOCUMENT_SIZE)) };
    expect(documentSize("c/d", fields)).toBeGreaterThan(MAX_DOCUMENT_SIZE);
    expect(documentSize("c/d", {})).toBe(2 + 2 + 16 + 32);
  });
});
