import { describe, expect, it } from "vitest";
import { Code, FirestoreError } from "../../src/errors/index.js";
import {
  arrayRemove,
  arrayUnion,
  increment,
  maximum,
  minimum,
  requireNumericOperand,
} from "../../src/model/transforms.js";
import type { Value } from "../../src/model/types.js";

const nul: Value = { nullValue: null };
const int = (s: string | number): Value => ({ integerValue: String(s) });
const dbl = (n: number | "NaN" | "Infinity" | "-Infinity" | "-0"): Value => ({ doubleValue: n });
const str = (s: string): Value => ({ stringValue: s });
const arr = (...values: Value[]): Value => ({ arrayValue: { values } });
const map = (fields: Record<string, Value>): Value => ({ mapValue: { fields } });

const MAX = "9223372036854775807";
const MIN = "-9223372036854775808";

describe("increment", () => {
  it.each<[string, Value | undefined, Value, Value]>([
    ["absent field", undefined, int(5), int(5)],
    ["non-numeric field", str("x"), dbl(1.5), dbl(1.5)],
    ["null field", nul, int(1), int(1)],
    ["map field", map({}), int(1), int(1)],
    ["ints", int(1), int(2), int(3)],
    ["ints to zero", int(5), int(-5), int(0)],
    ["big ints", int("9000000000000000000"), int("200000000000000000"), int("9200000000000000000")],
    ["positive overflow saturates", int(MAX), int(1), int(MAX)],
    ["large positive overflow saturates", int(MAX), int(MAX), int(MAX)],
    ["negative overflow saturates", int(MIN), int(-1), int(MIN)],
    ["large negative overflow saturates", int(MIN), int(MIN), int(MIN)],
    ["max + min", int(MAX), int(MIN), int(-1)],
    ["int + double", int(1), dbl(0.5), dbl(1.5)],
    ["double + int", dbl(0.5), int(1), dbl(1.5)],
    ["int + double integral is double", int(1), dbl(2), dbl(3)],
    ["IEEE rounding", dbl(0.1), dbl(0.2), dbl(0.30000000000000004)],
    ["NaN + number", dbl("NaN"), int(1), dbl("NaN")],
    ["number + NaN", int(1), dbl("NaN"), dbl("NaN")],
    ["Infinity + -Infinity", dbl("Infinity"), dbl("-Infinity"), dbl("NaN")],
    ["double overflow to Infinity", dbl(Number.MAX_VALUE), dbl(Number.MAX_VALUE), dbl("Infinity")],
    ["-Infinity + int", dbl("-Infinity"), int(MAX), dbl("-Infinity")],
    ["-0 + -0", dbl("-0"), dbl("-0"), dbl("-0")],
    ["-0 + 0", dbl("-0"), dbl(0), dbl(0)],
    ["int 0 + -0", int(0), dbl("-0"), dbl(0)],
    ["int converted to double rounds", int("9007199254740993"), dbl(0), dbl(9007199254740992)],
    ["int max as double", int(MAX), dbl(0), dbl(2 ** 63)],
  ])("%s", (_, current, operand, expected) => {
    expect(increment(current, operand)).toEqual(expected);
  });
});

describe("maximum", () => {
  it.each<[string, Value | undefined, Value, Value]>([
    ["absent field", undefined, int(3), int(3)],
    ["non-numeric field", str("9"), dbl(1), dbl(1)],
    ["ints", int(1), int(2), int(2)],
    ["ints, current larger", int(5), int(2), int(5)],
    ["mixed: larger double wins with its type", int(1), dbl(2.5), dbl(2.5)],
    ["mixed: larger int wins with its type", dbl(2.5), int(3), int(3)],
    ["mixed: current larger", dbl(10), int(3), dbl(10)],
    ["equivalent 3 and 3.0 keeps int", int(3), dbl(3), int(3)],
    ["equivalent 3.0 and 3 keeps double", dbl(3), int(3), dbl(3)],
    ["zero int vs -0.0 keeps stored", int(0), dbl("-0"), int(0)],
    ["-0.0 vs zero int keeps stored", dbl("-0"), int(0), dbl("-0")],
    ["0.0 vs -0.0 keeps stored", dbl(0), dbl("-0"), dbl(0)],
    ["-0.0 vs 0.0 keeps stored", dbl("-0"), dbl(0), dbl("-0")],
    ["NaN operand wins", int(1), dbl("NaN"), dbl("NaN")],
    ["NaN stored stays", dbl("NaN"), int(1), dbl("NaN")],
    ["NaN vs Infinity", dbl("Infinity"), dbl("NaN"), dbl("NaN")],
    ["2^63 double beats int64 max", int(MAX), dbl(2 ** 63), dbl(2 ** 63)],
    ["int 2^53+1 beats double 2^53", dbl(9007199254740992), int("9007199254740993"), int("9007199254740993")],
    ["-Infinity loses", dbl("-Infinity"), int(-5), int(-5)],
    ["Infinity stays", dbl("Infinity"), int(MAX), dbl("Infinity")],
  ])("%s", (_, current, operand, expected) => {
    expect(maximum(current, operand)).toEqual(expected);
  });
});

describe("minimum", () => {
  it.each<[string, Value | undefined, Value, Value]>([
    ["absent field", undefined, dbl(-1), dbl(-1)],
    ["non-numeric field", arr(), int(1), int(1)],
    ["ints", int(1), int(2), int(1)],
    ["ints, operand smaller", int(5), int(2), int(2)],
    ["mixed: smaller double wins with its type", int(1), dbl(0.5), dbl(0.5)],
    ["mixed: smaller int wins with its type", dbl(2.5), int(2), int(2)],
    ["equivalent 3 and 3.0 keeps int", int(3), dbl(3), int(3)],
    ["equivalent 3.0 and 3 keeps double", dbl(3), int(3), dbl(3)],
    ["zero int vs -0.0 keeps stored", int(0), dbl("-0"), int(0)],
    ["-0.0 vs zero int keeps stored", dbl("-0"), int(0), dbl("-0")],
    ["0.0 vs -0.0 keeps stored", dbl(0), dbl("-0"), dbl(0)],
    ["NaN operand wins", int(1), dbl("NaN"), dbl("NaN")],
    ["NaN stored stays", dbl("NaN"), dbl("-Infinity"), dbl("NaN")],
    ["int64 min vs -2^63 double keeps stored", int(MIN), dbl(-(2 ** 63)), int(MIN)],
    ["-Infinity wins", int(MIN), dbl("-Infinity"), dbl("-Infinity")],
  ])("%s", (_, current, operand, expected) => {
    expect(minimum(current, operand)).toEqual(expected);
  });
});

describe("arrayUnion", () => {
  it.each<[string, Value | undefined, Value[], Value]>([
    ["absent field", undefined, [int(1), int(2)], arr(int(1), int(2))],
    ["non-array field", str("x"), [int(1)], arr(int(1))],
    ["null field", nul, [], arr()],
    ["appends missing in order", arr(int(1)), [int(3), int(2)], arr(int(1), int(3), int(2))],
    ["3.0 is already present as 3", arr(int(1), int(3)), [dbl(3), int(4)], arr(int(1), int(3), int(4))],
    ["only the first of equivalent inputs", arr(), [int(3), dbl(3), int(3)], arr(int(3))],
    ["first of inputs keeps its type", arr(), [dbl(3), int(3)], arr(dbl(3))],
    ["NaN equals NaN", arr(dbl("NaN")), [dbl("NaN")], arr(dbl("NaN"))],
    ["null equals null", arr(nul), [nul, nul], arr(nul)],
    ["0 equals -0", arr(int(0)), [dbl("-0"), dbl(0)], arr(int(0))],
    [
      "maps compared by equivalence",
      arr(map({ a: int(1) })),
      [map({ a: dbl(1) }), map({ a: int(2) })],
      arr(map({ a: int(1) }), map({ a: int(2) })),
    ],
    ["existing duplicates are kept", arr(int(1), int(1)), [int(2)], arr(int(1), int(1), int(2))],
    ["strings vs numbers differ", arr(str("1")), [int(1)], arr(str("1"), int(1))],
  ])("%s", (_, current, elements, expected) => {
    expect(arrayUnion(current, elements)).toEqual(expected);
  });

  it("does not mutate the current value", () => {
    const current = arr(int(1));
    arrayUnion(current, [int(2)]);
    expect(current).toEqual(arr(int(1)));
  });
});

describe("arrayRemove", () => {
  it.each<[string, Value | undefined, Value[], Value]>([
    ["absent field", undefined, [int(1)], arr()],
    ["non-array field", int(7), [int(7)], arr()],
    [
      "removes every equivalent element",
      arr(int(1), int(2), dbl(1), int(3), str("1")),
      [int(1)],
      arr(int(2), int(3), str("1")),
    ],
    ["removes by several elements", arr(int(1), int(2), int(3)), [dbl(3), int(1)], arr(int(2))],
    ["NaN removes NaN", arr(dbl("NaN"), int(1)), [dbl("NaN")], arr(int(1))],
    ["null removes null", arr(nul, int(1), nul), [nul], arr(int(1))],
    ["-0 removes 0", arr(int(0), dbl(0), dbl("-0"), int(1)), [dbl("-0")], arr(int(1))],
    ["maps by equivalence", arr(map({ a: int(1) }), map({ a: int(2) })), [map({ a: dbl(1) })], arr(map({ a: int(2) }))],
    ["nothing to remove", arr(int(1)), [], arr(int(1))],
    ["absent elements", arr(int(1)), [int(2)], arr(int(1))],
  ])("%s", (_, current, elements, expected) => {
    expect(arrayRemove(current, elements)).toEqual(expected);
  });

  it("does not mutate the current value", () => {
    const current = arr(int(1), int(2));
    arrayRemove(current, [int(2)]);
    expect(current).toEqual(arr(int(1), int(2)));
  });
});

describe("requireNumericOperand", () => {
  it("accepts numbers", () => {
    for (const v of [int(1), dbl(1.5), dbl("NaN"), dbl("-0"), dbl("Infinity")]) {
      expect(() => requireNumericOperand(v, "w")).not.toThrow();
    }
  });

  it.each<Value>([
    nul,
    str("1"),
    { booleanValue: true },
    arr(),
    map({}),
    { timestampValue: "1970-01-01T00:00:00.000000Z" },
  ])("rejects %j", (v) => {
    let caught: unknown;
    try {
      requireNumericOperand(v, "writes[0].updateTransforms[1].increment");
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(FirestoreError);
    expect((caught as FirestoreError).code).toBe(Code.INVALID_ARGUMENT);
    expect((caught as FirestoreError).message).toContain("'writes[0].updateTransforms[1].increment'");
  });
});
