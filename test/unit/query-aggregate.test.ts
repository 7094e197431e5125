import { describe, expect, it } from "vitest";
import type { Fields, Value } from "../../src/model/types.js";
import { aggregate, aggregatedFields, decodeAggregations } from "../../src/query/aggregate.js";
import { decodeAggregations as reexported } from "../../src/query/normalize.js";
import type { Aggregation } from "../../src/query/types.js";
import { arr, bool, dbl, doc, expectInvalid, int, map, nul, str } from "./query-fixtures.js";

const W = "structuredAggregationQuery.aggregations";
const decodeAgg = (json: unknown) => decodeAggregations(json, W);
const sumOf = (field: string) => ({ sum: { field: { fieldPath: field } } });
const avgOf = (field: string) => ({ avg: { field: { fieldPath: field } } });

function over(values: (Value | undefined)[]): ReturnType<typeof doc>[] {
  return values.map((v, i) => doc(`c/${i}`, v === undefined ? {} : ({ x: v } as Fields)));
}
function sumAvg(values: (Value | undefined)[]): [Value | undefined, Value | undefined] {
  const r = aggregate(over(values), [
    { alias: "s", kind: "sum", field: ["x"] },
    { alias: "a", kind: "avg", field: ["x"] },
  ]);
  return [r.s, r.a];
}

describe("decodeAggregations", () => {
  it("decodes count, count upTo, sum and avg with the SDKs' aliases", () => {
    expect(
      decodeAgg([
        { alias: "aggregate_0", count: {} },
        { alias: "aggregate_1", count: { upTo: "10" } },
        { alias: "aggregate_2", ...sumOf("a.b") },
        { alias: "aggregate_3", ...avgOf("c") },
      ]),
    ).toEqual([
      { alias: "aggregate_0", kind: "count" },
      { alias: "aggregate_1", kind: "count", upTo: 10 },
      { alias: "aggregate_2", kind: "sum", field: ["a", "b"] },
      { alias: "aggregate_3", kind: "avg", field: ["c"] },
    ]);
  });

  it("names unaliased aggregations field_1, field_2, … (query.proto example)", () => {
    const got = decodeAgg([
      { alias: "count_up_to_1", count: { upTo: 1 } },
      { count: { upTo: 2 } },
      { alias: "count_up_to_3", count: { up_to: { value: "3" } } },
      { count: {} },
    ]).map((a) => a.alias);
    expect(got).toEqual(["count_up_to_1", "field_1", "count_up_to_3", "field_2"]);
  });

  it("skips default names a client already used", () => {
    expect(decodeAgg([{ count: {} }, { alias: "field_1", count: {} }]).map((a) => a.alias)).toEqual([
      "field_2",
      "field_1",
    ]);
  });

  it("treats an upTo beyond 2^53 as unbounded", () => {
    expect(decodeAgg([{ count: { upTo: "9223372036854775807" } }])).toEqual([{ alias: "field_1", kind: "count" }]);
  });

  it("is re-exported from normalize.ts", () => {
    expect(reexported).toBe(decodeAggregations);
  });

  it.each<[string, unknown, string[]]>([
    ["no aggregations", [], ["1 to 5 aggregations, got 0"]],
    ["six aggregations", new Array(6).fill({ count: {} }), ["got 6"]],
    [
      "duplicate aliases",
      [
        { alias: "a", count: {} },
        { alias: "a", ...sumOf("x") },
      ],
      ["aliases must be unique", '"a"', "[1].alias"],
    ],
    ["a reserved alias", [{ alias: "__x__", count: {} }], ["reserved"]],
    ["no operator", [{ alias: "a" }], ["One of count, sum, avg must be set"]],
    ["two operators", [{ count: {}, ...sumOf("x") }], ["Only one of count, sum may be set"]],
    ["upTo 0", [{ count: { upTo: 0 } }], ["greater than 0"]],
    ["negative upTo", [{ count: { upTo: "-5" } }], ["greater than 0"]],
    ["upTo past int64", [{ count: { upTo: "9223372036854775808" } }], ["greater than 0 (and an int64)"]],
    ["a non-integer upTo", [{ count: { upTo: 1.5 } }], ["must be an integer"]],
    ["sum without a field", [{ sum: {} }], ["need a field"]],
    ["a bad field path", [sumOf("a..b")], ["Invalid property path"]],
    ["an unknown key", [{ count: {}, foo: 1 }], ['Unknown name "foo"']],
  ])("rejects %s", (_label, json, fragments) => {
    expectInvalid(() => decodeAgg(json), ...fragments);
  });
});

describe("aggregate", () => {
  it("count respects upTo", () => {
    const docs = over([int(1), int(2), int(3)]);
    const aggs: Aggregation[] = [
      { alias: "all", kind: "count" },
      { alias: "two", kind: "count", upTo: 2 },
      { alias: "many", kind: "count", upTo: 10 },
    ];
    expect(aggregate(docs, aggs)).toEqual({ all: int(3), two: int(2), many: int(3) });
    expect(aggregate([], aggs)).toEqual({ all: int(0), two: int(0), many: int(0) });
  });

  it.each<[string, (Value | undefined)[], Value, Value]>([
    ["nothing", [], int(0), nul],
    ["only non-numbers", [str("1"), nul, bool(true), arr(int(1)), map({ x: int(1) }), undefined], int(0), nul],
    ["integers", [int(1), int(2), int(4)], int(7), dbl(7 / 3)],
    ["integers among other types", [int(5), str("x"), nul, undefined, int(-1)], int(4), dbl(2)],
    ["a double makes the sum a double", [int(1), dbl(2.5)], dbl(3.5), dbl(1.75)],
    ["a whole double still makes it a double", [int(1), dbl(2)], dbl(3), dbl(1.5)],
    ["int64 max exactly", [int("9223372036854775806"), int(1)], int("9223372036854775807"), dbl(2 ** 62)],
    ["overflow turns into a double", [int("9223372036854775807"), int(1)], dbl(2 ** 63), dbl(2 ** 62)],
    ["negative overflow", [int("-9223372036854775808"), int(-1)], dbl(-(2 ** 63)), dbl(-(2 ** 62))],
    [
      "intermediate overflow that comes back stays an integer",
      [int("9223372036854775807"), int(1), int(-1)],
      int("9223372036854775807"),
      dbl(Number(9223372036854775807n) / 3),
    ],
    ["NaN wins", [int(1), dbl("NaN"), dbl(2)], dbl("NaN"), dbl("NaN")],
    ["Infinity", [int(1), dbl("Infinity")], dbl("Infinity"), dbl("Infinity")],
    ["Infinity - Infinity is NaN", [dbl("Infinity"), dbl("-Infinity")], dbl("NaN"), dbl("NaN")],
    ["-0 alone stays -0", [dbl("-0")], dbl("-0"), dbl("-0")],
    ["-0 plus an integer zero is 0", [dbl("-0"), int(0)], dbl(0), dbl(0)],
  ])("sum and avg over %s", (_label, values, sum, avg) => {
    expect(sumAvg(values)).toEqual([sum, avg]);
  });

  it("reads nested fields and never sums __name__", () => {
    const docs = [
      doc("c/1", { m: map({ n: int(2) }) }),
      doc("c/2", { m: map({ n: dbl(0.5) }) }),
      doc("c/3", { m: int(1) }),
    ];
    expect(
      aggregate(docs, [
        { alias: "s", kind: "sum", field: ["m", "n"] },
        { alias: "k", kind: "sum", field: ["__name__"] },
        { alias: "a", kind: "avg", field: ["__name__"] },
      ]),
    ).toEqual({ s: dbl(2.5), k: int(0), a: nul });
  });

  it("with several aggregations, counts only documents that have every aggregated field", () => {
    const docs = [
      doc("c/a", { pages: int(100), year: int(2000) }),
      doc("c/b", { pages: int(100), year: int(2010) }),
      doc("c/c", { pages: int(100), year: int(2011) }),
      doc("c/d", { pages: int(50) }),
    ];
    expect(
      aggregate(docs, [
        { alias: "s", kind: "sum", field: ["pages"] },
        { alias: "p", kind: "avg", field: ["pages"] },
        { alias: "y", kind: "avg", field: ["year"] },
        { alias: "n", kind: "count" },
      ]),
    ).toEqual({ s: int(300), p: dbl(100), y: dbl(2007), n: int(3) });
    expect(aggregate(docs, [{ alias: "n", kind: "count" }])).toEqual({ n: int(4) });
  });

  it("lists the fields it reads", () => {
    expect(
      aggregatedFields([
        { alias: "a", kind: "count" },
        { alias: "b", kind: "sum", field: ["x"] },
        { alias: "c", kind: "avg", field: ["x"] },
        { alias: "d", kind: "avg", field: ["y", "z"] },
      ]),
    ).toEqual([["x"], ["y", "z"]]);
  });
});
