/**
 * Matching semantics per operator over a fixed set of mixed-type documents. Every case goes
 * through decodeStructuredQuery (so the null/NaN → unary rewrites are exercised) and runQuery.
 */
import { describe, expect, it } from "vitest";
import type { Fields } from "../../src/model/types.js";
import { matches } from "../../src/query/evaluate.js";
import {
  arr,
  arrayJson,
  bool,
  dbl,
  doc,
  fieldFilter,
  int,
  map,
  nul,
  ref,
  run,
  str,
  unary,
  vec,
} from "./query-fixtures.js";

/** The field `a` of each document; `missing` has no `a`. */
const A: Record<string, Fields> = {
  missing: { b: int(1) },
  null: { a: nul },
  nan: { a: dbl("NaN") },
  negInf: { a: dbl("-Infinity") },
  negZero: { a: dbl("-0") },
  zero: { a: int(0) },
  one: { a: int(1) },
  oneD: { a: dbl(1) },
  onePointFive: { a: dbl(1.5) },
  big: { a: int("9007199254740993") }, // 2^53 + 1: distinct from the double 2^53
  inf: { a: dbl("Infinity") },
  false: { a: bool(false) },
  true: { a: bool(true) },
  empty: { a: str("") },
  strA: { a: str("a") },
  strB: { a: str("b") },
  ref: { a: ref("c/x") },
  emptyArr: { a: arr() },
  arr: { a: arr(int(1), str("a")) },
  arrNull: { a: arr(dbl(1), nul) },
  map: { a: map({ x: int(1) }) },
  vec: { a: vec(1, 2) },
};
const DOCS = Object.entries(A).map(([id, fields]) => doc(`c/${id}`, fields));
const ALL = Object.keys(A);
const EXISTING = ALL.filter((k) => k !== "missing");
const NON_NULL = EXISTING.filter((k) => k !== "null");
const NUMBERS = ["nan", "negInf", "negZero", "zero", "one", "oneD", "onePointFive", "big", "inf"];

function except(base: string[], ...drop: string[]): string[] {
  return base.filter((k) => !drop.includes(k));
}

const I = (n: number | string) => ({ integerValue: String(n) });
const D = (n: number | string) => ({ doubleValue: n });
const S = (s: string) => ({ stringValue: s });
const N = { nullValue: null };

type Case = [string, string, unknown, string[]];
const CASES: Case[] = [
  // == is type-bracketed; ints and doubles compare as numbers, -0 equals 0.
  ["==", "EQUAL", I(1), ["one", "oneD"]],
  ["==", "EQUAL", D(1), ["one", "oneD"]],
  ["==", "EQUAL", D("-0"), ["negZero", "zero"]],
  ["==", "EQUAL", I("9007199254740993"), ["big"]],
  ["==", "EQUAL", D(2 ** 53), []],
  ["==", "EQUAL", S("a"), ["strA"]],
  ["==", "EQUAL", S("1"), []],
  ["==", "EQUAL", { booleanValue: false }, ["false"]],
  ["==", "EQUAL", arrayJson(D(1), S("a")), ["arr"]],
  ["==", "EQUAL", { arrayValue: {} }, ["emptyArr"]],
  ["==", "EQUAL", { mapValue: { fields: { x: D(1) } } }, ["map"]],
  [
    "== vector",
    "EQUAL",
    { mapValue: { fields: { __type__: S("__vector__"), value: arrayJson(D(1), D(2)) } } },
    ["vec"],
  ],
  ["== null (→ IS_NULL)", "EQUAL", N, ["null"]],
  ["== NaN (→ IS_NAN)", "EQUAL", D("NaN"), ["nan"]],
  // Ranges stay inside the operand's type and never match NaN or null (production Firestore:
  // nodejs-firestore system test "multiple inequality can use on special values").
  ["<", "LESS_THAN", I(1), ["negInf", "negZero", "zero"]],
  ["<=", "LESS_THAN_OR_EQUAL", I(1), ["negInf", "negZero", "zero", "one", "oneD"]],
  [">", "GREATER_THAN", I(1), ["onePointFive", "big", "inf"]],
  [">=", "GREATER_THAN_OR_EQUAL", D(1), ["one", "oneD", "onePointFive", "big", "inf"]],
  [">", "GREATER_THAN", D("NaN"), []],
  [">=", "GREATER_THAN_OR_EQUAL", D("-Infinity"), except(NUMBERS, "nan")],
  ["<", "LESS_THAN", D("NaN"), []],
  [">=", "GREATER_THAN_OR_EQUAL", S(""), ["empty", "strA", "strB"]],
  ["<", "LESS_THAN", S("b"), ["empty", "strA"]],
  [">", "GREATER_THAN", { booleanValue: false }, ["true"]],
  ["<=", "LESS_THAN_OR_EQUAL", N, []],
  ["<", "LESS_THAN", N, []],
  [">", "GREATER_THAN", { arrayValue: {} }, ["arr", "arrNull"]],
  [">", "GREATER_THAN", { mapValue: {} }, ["map"]],
  // != matches every existing non-null value of any type.
  ["!=", "NOT_EQUAL", I(1), except(NON_NULL, "one", "oneD")],
  ["!=", "NOT_EQUAL", S("a"), except(NON_NULL, "strA")],
  ["!= null (→ IS_NOT_NULL)", "NOT_EQUAL", N, NON_NULL],
  ["!= NaN (→ IS_NOT_NAN)", "NOT_EQUAL", D("NaN"), except(NON_NULL, "nan")],
  // IN: equality against each value; arrays compare whole.
  ["in", "IN", arrayJson(I(1), S("b")), ["one", "oneD", "strB"]],
  ["in", "IN", arrayJson(arrayJson(I(1), S("a"))), ["arr"]],
  ["in", "IN", arrayJson(N), ["null"]],
  ["in", "IN", arrayJson(D("NaN"), D("-0")), ["nan", "negZero", "zero"]],
  // NOT_IN: existing, not null, none of the values; null among the values matches nothing.
  ["not-in", "NOT_IN", arrayJson(I(1), S("a")), except(NON_NULL, "one", "oneD", "strA")],
  ["not-in", "NOT_IN", arrayJson(D("NaN")), except(NON_NULL, "nan")],
  ["not-in", "NOT_IN", arrayJson(I(1), N), []],
  // ARRAY_CONTAINS(_ANY): arrays only, element equality.
  ["array-contains", "ARRAY_CONTAINS", I(1), ["arr", "arrNull"]],
  ["array-contains", "ARRAY_CONTAINS", S("a"), ["arr"]],
  ["array-contains", "ARRAY_CONTAINS", N, ["arrNull"]],
  ["array-contains", "ARRAY_CONTAINS", S("zz"), []],
  ["array-contains-any", "ARRAY_CONTAINS_ANY", arrayJson(N, S("zz")), ["arrNull"]],
  ["array-contains-any", "ARRAY_CONTAINS_ANY", arrayJson(S("a"), D(1)), ["arr", "arrNull"]],
];

describe("field filters over mixed types", () => {
  it.each(CASES)("%s (%s %j)", (_label, op, value, expected) => {
    const got = run({ where: fieldFilter("a", op, value) }, DOCS).map((p) => p.slice(2));
    expect(new Set(got)).toEqual(new Set(expected));
  });
});

describe("unary filters over mixed types", () => {
  it.each<[string, string[]]>([
    ["IS_NULL", ["null"]],
    ["IS_NAN", ["nan"]],
    ["IS_NOT_NULL", NON_NULL],
    ["IS_NOT_NAN", except(NON_NULL, "nan")],
  ])("%s", (op, expected) => {
    const got = run({ where: unary("a", op) }, DOCS).map((p) => p.slice(2));
    expect(new Set(got)).toEqual(new Set(expected));
  });
});

describe("composites and nested fields", () => {
  const docs = [
    doc("c/1", { a: int(1), b: str("x"), m: map({ k: int(5) }) }),
    doc("c/2", { a: int(2), b: str("y"), m: map({ k: int(6) }) }),
    doc("c/3", { a: int(3), b: str("x") }),
    doc("c/4", { b: str("x"), m: int(7) }),
  ];

  it("AND requires every child, OR any child", () => {
    const and = {
      compositeFilter: {
        op: "AND",
        filters: [fieldFilter("b", "EQUAL", S("x")), fieldFilter("a", "GREATER_THAN", I(1))],
      },
    };
    expect(run({ where: and }, docs)).toEqual(["c/3"]);
    const or = {
      compositeFilter: { op: "OR", filters: [fieldFilter("a", "EQUAL", I(2)), fieldFilter("b", "EQUAL", S("x"))] },
    };
    expect(run({ where: or }, docs)).toEqual(["c/1", "c/2", "c/3", "c/4"]);
  });

  it("an inequality inside an OR still implies existence of its field (implicit order)", () => {
    const or = {
      compositeFilter: {
        op: "OR",
        filters: [fieldFilter("a", "GREATER_THAN", I(2)), fieldFilter("b", "EQUAL", S("x"))],
      },
    };
    // c/4 matches b == "x" but has no `a`, and the query is implicitly ordered by a.
    expect(run({ where: or }, docs)).toEqual(["c/1", "c/3"]);
  });

  it("dotted paths read nested maps; a non-map intermediate is a missing field", () => {
    expect(run({ where: fieldFilter("m.k", "GREATER_THAN_OR_EQUAL", I(6)) }, docs)).toEqual(["c/2"]);
    expect(run({ where: unary("m.k", "IS_NOT_NULL") }, docs)).toEqual(["c/1", "c/2"]);
  });

  it("__name__ filters compare document names", () => {
    const q = (op: string, value: unknown) => run({ where: fieldFilter("__name__", op, value) }, docs);
    const r = (id: string) => ({ referenceValue: `projects/p/databases/d/documents/c/${id}` });
    expect(q("EQUAL", r("2"))).toEqual(["c/2"]);
    expect(q("GREATER_THAN", r("2"))).toEqual(["c/3", "c/4"]);
    expect(q("NOT_EQUAL", r("2"))).toEqual(["c/1", "c/3", "c/4"]);
    expect(q("IN", arrayJson(r("1"), r("4"), r("9")))).toEqual(["c/1", "c/4"]);
    expect(q("NOT_IN", arrayJson(r("1"), r("4")))).toEqual(["c/2", "c/3"]);
  });

  it("matches() works on a hand-built filter", () => {
    const d = doc("c/1", { a: int(1) });
    expect(matches(d, { kind: "field", field: ["a"], op: "EQUAL", value: dbl(1) })).toBe(true);
    expect(matches(d, { kind: "or", filters: [{ kind: "unary", field: ["a"], op: "IS_NULL" }] })).toBe(false);
  });
});
