import { describe, expect, it } from "vitest";
import { Code, FirestoreError } from "../../src/errors/index.js";
import { checkAggregatable } from "../../src/query/aggregate.js";
import { checkKindless, decodeStructuredQuery, normalizeOrderBy } from "../../src/query/normalize.js";
import type { Order } from "../../src/query/types.js";
import {
  and,
  arrayJson,
  DB,
  decode,
  expectInvalid,
  fieldFilter,
  int,
  or,
  order,
  ROOT,
  ref,
  unary,
} from "./query-fixtures.js";

const I = (n: number | string) => ({ integerValue: String(n) });
const S = (s: string) => ({ stringValue: s });
const R = (path: string) => ({ referenceValue: `${ROOT}/${path}` });
const VEC = (...n: number[]) => ({
  mapValue: { fields: { __type__: S("__vector__"), value: arrayJson(...n.map((x) => ({ doubleValue: x }))) } },
});

/** The normalized order as "field asc|desc" strings. */
function orderOf(query: Record<string, unknown>): string[] {
  return decode(query).orderBy.map((o: Order) => `${o.field.join(".")} ${o.descending ? "desc" : "asc"}`);
}

describe("implicit ordering", () => {
  it.each<[string, Record<string, unknown>, string[]]>([
    ["nothing ordered: __name__ ascending", {}, ["__name__ asc"]],
    ["ORDER BY a", { orderBy: [order("a")] }, ["a asc", "__name__ asc"]],
    ["ORDER BY a DESC", { orderBy: [order("a", "DESCENDING")] }, ["a desc", "__name__ desc"]],
    [
      "direction unspecified is ascending",
      { orderBy: [order("a", "DIRECTION_UNSPECIFIED")] },
      ["a asc", "__name__ asc"],
    ],
    ["WHERE a > 1", { where: fieldFilter("a", "GREATER_THAN", I(1)) }, ["a asc", "__name__ asc"]],
    [
      "inequality fields appended in field-path order with the last direction",
      {
        where: and(
          fieldFilter("b", "GREATER_THAN", I(1)),
          fieldFilter("a.c", "LESS_THAN", I(5)),
          fieldFilter("A", "NOT_EQUAL", I(0)),
        ),
        orderBy: [order("x"), order("c", "DESCENDING")],
      },
      ["x asc", "c desc", "A desc", "a.c desc", "b desc", "__name__ desc"],
    ],
    [
      "an explicitly ordered inequality field is not repeated",
      { where: fieldFilter("a", "GREATER_THAN", I(1)), orderBy: [order("a", "DESCENDING")] },
      ["a desc", "__name__ desc"],
    ],
    [
      "__name__ inequality stays last (query.proto example)",
      { where: and(fieldFilter("__name__", "GREATER_THAN", R("c/x")), fieldFilter("a", "GREATER_THAN", I(1))) },
      ["a asc", "__name__ asc"],
    ],
    [
      "explicit __name__ keeps its direction",
      { orderBy: [order("a"), order("__name__", "DESCENDING")] },
      ["a asc", "__name__ desc"],
    ],
    [
      "inequalities inside OR count",
      { where: or(fieldFilter("z", "NOT_EQUAL", I(1)), fieldFilter("b", "EQUAL", I(2))) },
      ["z asc", "__name__ asc"],
    ],
    ["IS_NOT_NULL is an inequality", { where: unary("n", "IS_NOT_NULL") }, ["n asc", "__name__ asc"]],
    ["IS_NOT_NAN is an inequality", { where: unary("n", "IS_NOT_NAN") }, ["n asc", "__name__ asc"]],
    ["NOT_IN is an inequality", { where: fieldFilter("n", "NOT_IN", arrayJson(I(1))) }, ["n asc", "__name__ asc"]],
    [
      "equality filters add nothing",
      { where: and(fieldFilter("a", "EQUAL", I(1)), fieldFilter("b", "IN", arrayJson(I(1)))) },
      ["__name__ asc"],
    ],
    [
      "the same inequality field twice is ordered once",
      { where: and(fieldFilter("a", "GREATER_THAN", I(1)), fieldFilter("a", "LESS_THAN", I(9))) },
      ["a asc", "__name__ asc"],
    ],
  ])("%s", (_label, query, expected) => {
    expect(orderOf(query)).toEqual(expected);
  });

  it("normalizeOrderBy is usable on its own", () => {
    expect(normalizeOrderBy([], undefined)).toEqual([{ field: ["__name__"], descending: false }]);
  });
});

describe("filter normalization", () => {
  it("flattens nested same-op composites and unwraps single children", () => {
    const q = decode({
      where: and(
        and(fieldFilter("a", "EQUAL", I(1)), fieldFilter("b", "EQUAL", I(2))),
        or(fieldFilter("c", "EQUAL", I(3))),
      ),
    });
    expect(q.filter).toEqual({
      kind: "and",
      filters: [
        { kind: "field", field: ["a"], op: "EQUAL", value: int(1) },
        { kind: "field", field: ["b"], op: "EQUAL", value: int(2) },
        { kind: "field", field: ["c"], op: "EQUAL", value: int(3) },
      ],
    });
    expect(decode({ where: or(and(fieldFilter("a", "EQUAL", I(1)))) }).filter).toEqual({
      kind: "field",
      field: ["a"],
      op: "EQUAL",
      value: int(1),
    });
  });

  it("keeps OR inside AND and AND inside OR", () => {
    const q = decode({
      where: or(fieldFilter("a", "EQUAL", I(1)), and(fieldFilter("b", "EQUAL", I(2)), fieldFilter("c", "EQUAL", I(3)))),
    });
    expect(q.filter?.kind).toBe("or");
    expect(q.filter?.kind === "or" && q.filter.filters[1]?.kind).toBe("and");
  });

  it("rewrites == / != null and NaN to unary filters", () => {
    expect(decode({ where: fieldFilter("a", "EQUAL", { nullValue: null }) }).filter).toEqual({
      kind: "unary",
      field: ["a"],
      op: "IS_NULL",
    });
    expect(decode({ where: fieldFilter("a", "EQUAL", { doubleValue: "NaN" }) }).filter).toEqual({
      kind: "unary",
      field: ["a"],
      op: "IS_NAN",
    });
    expect(decode({ where: fieldFilter("a", "NOT_EQUAL", { nullValue: "NULL_VALUE" }) }).filter).toEqual({
      kind: "unary",
      field: ["a"],
      op: "IS_NOT_NULL",
    });
    expect(decode({ where: fieldFilter("a", "NOT_EQUAL", { doubleValue: "NaN" }) }).filter).toEqual({
      kind: "unary",
      field: ["a"],
      op: "IS_NOT_NAN",
    });
  });

  it("accepts numeric enums, snake_case names and back-quoted paths", () => {
    const q = decodeStructuredQuery(
      {
        from: [{ collection_id: "c", all_descendants: false }],
        where: { field_filter: { field: { field_path: "`a.b`.c" }, op: 3, value: I(20) } },
        order_by: [{ field: { field_path: "x" }, direction: 2 }],
        start_at: { values: [I(1)], before: true },
      },
      DB,
      "",
      "structuredQuery",
    );
    expect(q.filter).toEqual({ kind: "field", field: ["a.b", "c"], op: "GREATER_THAN", value: int(20) });
    expect(q.orderBy[0]).toEqual({ field: ["x"], descending: true });
    expect(q.startAt).toEqual({ values: [int(1)], before: true });
  });

  it("accepts IN with whole arrays as values", () => {
    const q = decode({ where: fieldFilter("a", "IN", arrayJson(arrayJson(I(1), I(2)), I(3))) });
    expect(q.filter).toMatchObject({
      op: "IN",
      value: { arrayValue: { values: [{ arrayValue: { values: [int(1), int(2)] } }, int(3)] } },
    });
  });
});

describe("other clauses", () => {
  it("reads offset and the limit in every form", () => {
    expect(decode({}).limit).toBeUndefined();
    expect(decode({}).offset).toBe(0);
    expect(decode({ limit: 5 }).limit).toBe(5);
    expect(decode({ limit: "5" }).limit).toBe(5);
    expect(decode({ limit: { value: 7 } }).limit).toBe(7);
    expect(decode({ limit: 0 }).limit).toBe(0);
    expect(decode({ offset: 3 }).offset).toBe(3);
  });

  it("reads projections (name only → no fields; empty → all fields)", () => {
    expect(decode({ select: { fields: [{ fieldPath: "a" }, { fieldPath: "b.c" }] } }).projection).toEqual([
      ["a"],
      ["b", "c"],
    ]);
    expect(decode({ select: { fields: [{ fieldPath: "__name__" }] } }).projection).toEqual([]);
    expect(decode({ select: { fields: [] } }).projection).toBeUndefined();
    expect(decode({ select: {} }).projection).toBeUndefined();
  });

  it("reads collection selectors", () => {
    expect(decode({ from: [{ collectionId: "x", allDescendants: true }] }, "a/b")).toMatchObject({
      parent: "a/b",
      collectionId: "x",
      allDescendants: true,
    });
    expect(decode({ from: [{ allDescendants: true }] })).toMatchObject({ collectionId: null, allDescendants: true });
  });

  it("accepts recursiveDelete's kindless query with NUL-suffixed __name__ bounds", () => {
    const q = decodeStructuredQuery(
      {
        from: [{ allDescendants: true }],
        select: { fields: [{ fieldPath: "__name__" }] },
        where: and(
          fieldFilter("__name__", "GREATER_THAN_OR_EQUAL", R("bulk/__id-9223372036854775808__")),
          fieldFilter("__name__", "LESS_THAN", R("bulk\u0000/__id-9223372036854775808__")),
        ),
        limit: 5000,
      },
      DB,
      "",
      "structuredQuery",
    );
    expect(q.collectionId).toBeNull();
    expect(q.orderBy).toEqual([{ field: ["__name__"], descending: false }]);
    expect(q.projection).toEqual([]);
  });

  it("accepts cursors no longer than the normalized order, with references for __name__", () => {
    const q = decode({
      orderBy: [order("a")],
      startAt: { values: [I(1), R("c/x")] },
      endAt: { values: [I(9)], before: true },
    });
    expect(q.startAt).toEqual({ values: [int(1), ref("c/x")], before: false });
    expect(q.endAt).toEqual({ values: [int(9)], before: true });
  });

  it("decodes findNearest", () => {
    const q = decode({
      findNearest: {
        vectorField: { fieldPath: "v" },
        queryVector: VEC(1, 0, 0),
        distanceMeasure: 1,
        limit: { value: 2 },
        distanceResultField: "dist",
        distanceThreshold: 4.5,
      },
    });
    expect(q.findNearest).toEqual({
      field: ["v"],
      queryVector: [1, 0, 0],
      measure: "EUCLIDEAN",
      limit: 2,
      distanceResultField: ["dist"],
      distanceThreshold: 4.5,
    });
    const byName = decode({
      findNearest: {
        vectorField: { fieldPath: "v" },
        queryVector: VEC(1),
        distanceMeasure: "DOT_PRODUCT",
        limit: 1000,
      },
    });
    expect(byName.findNearest?.measure).toBe("DOT_PRODUCT");
  });
});

const NEAREST = { vectorField: { fieldPath: "v" }, queryVector: VEC(1, 2), distanceMeasure: "COSINE", limit: 3 };
const inList = (n: number) => arrayJson(...Array.from({ length: n }, (_, i) => I(i)));

describe("rejections", () => {
  it.each<[string, Record<string, unknown>, string[]]>([
    ["no collection selector", { from: [] }, ["exactly one collection", "got 0"]],
    [
      "two collection selectors",
      { from: [{ collectionId: "a" }, { collectionId: "b" }] },
      ["exactly one collection", "got 2"],
    ],
    ["a collection id with a slash", { from: [{ collectionId: "a/b" }] }, ["must not contain"]],
    ["an unknown field", { wher: {} }, ['Unknown name "wher"']],
    ["an empty filter", { where: {} }, ["One of compositeFilter, fieldFilter, unaryFilter must be set"]],
    [
      "a composite without filters",
      { where: { compositeFilter: { op: "AND", filters: [] } } },
      ["at least one filter"],
    ],
    [
      "a composite without op",
      { where: { compositeFilter: { filters: [fieldFilter("a", "EQUAL", I(1))] } } },
      ["AND or OR"],
    ],
    ["an unknown operator", { where: fieldFilter("a", "LIKE", I(1)) }, ["not a value of FieldFilter.Operator"]],
    ["an unset operator", { where: fieldFilter("a", 0, I(1)) }, ["operator must be set"]],
    [
      "a field filter without value",
      { where: { fieldFilter: { field: { fieldPath: "a" }, op: "EQUAL" } } },
      ["needs a value"],
    ],
    ["a malformed field path", { where: fieldFilter("a..b", "EQUAL", I(1)) }, ["Invalid property path"]],
    ["a malformed value", { where: fieldFilter("a", "EQUAL", { integerValue: "x" }) }, ["integerValue"]],
    [
      "NOT_IN with NOT_EQUAL",
      { where: and(fieldFilter("a", "NOT_IN", arrayJson(I(1))), fieldFilter("b", "NOT_EQUAL", I(1))) },
      ["Only a single 'NOT_EQUAL', 'NOT_IN', 'IS_NOT_NAN', or 'IS_NOT_NULL' filter allowed per query."],
    ],
    [
      "two NOT_EQUAL",
      { where: and(fieldFilter("a", "NOT_EQUAL", I(1)), fieldFilter("b", "NOT_EQUAL", I(1))) },
      ["Only a single 'NOT_EQUAL', 'NOT_IN', 'IS_NOT_NAN', or 'IS_NOT_NULL' filter allowed per query."],
    ],
    [
      "NOT_EQUAL with IS_NOT_NULL",
      { where: and(fieldFilter("a", "NOT_EQUAL", I(1)), unary("b", "IS_NOT_NULL")) },
      ["Only a single 'NOT_EQUAL', 'NOT_IN', 'IS_NOT_NAN', or 'IS_NOT_NULL' filter allowed per query."],
    ],
    [
      "NOT_IN with IN",
      { where: and(fieldFilter("a", "NOT_IN", arrayJson(I(1))), fieldFilter("b", "IN", arrayJson(I(1)))) },
      ["'NOT_IN' cannot be used in the same query with 'IN', 'ARRAY_CONTAINS_ANY' or 'OR'."],
    ],
    [
      "NOT_IN with ARRAY_CONTAINS_ANY",
      {
        where: and(
          fieldFilter("a", "NOT_IN", arrayJson(I(1))),
          fieldFilter("b", "ARRAY_CONTAINS_ANY", arrayJson(I(1))),
        ),
      },
      ["'NOT_IN' cannot be used in the same query with 'IN', 'ARRAY_CONTAINS_ANY' or 'OR'."],
    ],
    [
      "NOT_IN with OR",
      {
        where: and(
          fieldFilter("a", "NOT_IN", arrayJson(I(1))),
          or(fieldFilter("b", "EQUAL", I(1)), fieldFilter("c", "EQUAL", I(1))),
        ),
      },
      ["'NOT_IN' cannot be used in the same query with 'IN', 'ARRAY_CONTAINS_ANY' or 'OR'."],
    ],
    [
      "NOT_IN with 11 values",
      { where: fieldFilter("a", "NOT_IN", inList(11)) },
      ["'NOT_IN' supports up to 10 comparison values."],
    ],
    [
      "IN with an empty array",
      { where: fieldFilter("a", "IN", { arrayValue: { values: [] } }) },
      ["IN requires a non-empty array"],
    ],
    ["NOT_IN with a scalar", { where: fieldFilter("a", "NOT_IN", I(1)) }, ["NOT_IN requires an arrayValue operand"]],
    [
      "ARRAY_CONTAINS_ANY with an array element",
      { where: fieldFilter("a", "ARRAY_CONTAINS_ANY", arrayJson(arrayJson(I(1)))) },
      ["cannot be arrays"],
    ],
    [
      "ARRAY_CONTAINS with an array",
      { where: fieldFilter("a", "ARRAY_CONTAINS", arrayJson(I(1))) },
      ["cannot look for an array"],
    ],
    [
      "31 IN values",
      { where: fieldFilter("a", "IN", inList(31)) },
      ["Too many disjunctions after normalization. Result had 31 disjunctions which is more than the maximum of 30"],
    ],
    [
      "an AND of INs multiplying past 30",
      { where: and(fieldFilter("a", "IN", inList(5)), fieldFilter("b", "IN", inList(10))) },
      ["Result had 50 disjunctions"],
    ],
    [
      "an OR of 31 equalities",
      { where: or(...Array.from({ length: 31 }, (_, i) => fieldFilter(`f${i}`, "EQUAL", I(i)))) },
      ["Result had 31 disjunctions"],
    ],
    [
      "two ARRAY_CONTAINS in one conjunction",
      { where: and(fieldFilter("a", "ARRAY_CONTAINS", I(1)), fieldFilter("b", "ARRAY_CONTAINS", I(1))) },
      ["A maximum of 1 'ARRAY_CONTAINS' filter is allowed per disjunction."],
    ],
    [
      "ARRAY_CONTAINS with ARRAY_CONTAINS_ANY",
      { where: and(fieldFilter("a", "ARRAY_CONTAINS", I(1)), fieldFilter("b", "ARRAY_CONTAINS_ANY", arrayJson(I(1)))) },
      ["per disjunction"],
    ],
    [
      "11 inequality fields",
      { where: and(...Array.from({ length: 11 }, (_, i) => fieldFilter(`f${i}`, "GREATER_THAN", I(i)))) },
      [
        "The query contains 11 distinct inequality fields: [f0, f1, f10, f2",
        "A query may not have more than 10 distinct inequality fields.",
      ],
    ],
    [
      "a __name__ filter with a string",
      { where: fieldFilter("__name__", "EQUAL", S("c/x")) },
      ["on __name__ must be a referenceValue", "stringValue"],
    ],
    [
      "a __name__ IN with a string",
      { where: fieldFilter("__name__", "IN", arrayJson(R("c/x"), S("c/y"))) },
      ["values[1]", "referenceValue"],
    ],
    [
      "a __name__ reference into another database",
      { where: fieldFilter("__name__", "EQUAL", { referenceValue: "projects/p/databases/other/documents/c/x" }) },
      ["belongs to database projects/p/databases/other"],
    ],
    [
      "ARRAY_CONTAINS on __name__",
      { where: fieldFilter("__name__", "ARRAY_CONTAINS", R("c/x")) },
      ["ARRAY_CONTAINS cannot be used on __name__"],
    ],
    ["a unary filter on __name__", { where: unary("__name__", "IS_NULL") }, ["IS_NULL cannot be applied to __name__"]],
    [
      "a cursor longer than the order",
      { orderBy: [order("a")], startAt: { values: [I(1), R("c/x"), I(3)] } },
      ["3 values", "only 2 fields", "a, __name__"],
    ],
    [
      "a __name__ cursor value that is not a reference",
      { startAt: { values: [S("x")] } },
      ["ordered by __name__", "referenceValue"],
    ],
    ["duplicate order fields", { orderBy: [order("a"), order("a", "DESCENDING")] }, ["duplicate fields (a)"]],
    ["an order after __name__", { orderBy: [order("__name__"), order("a")] }, ["more fields after the key __name__"]],
    ["a negative offset", { offset: -1 }, ["offset must be >= 0"]],
    ["a negative limit", { limit: { value: -1 } }, ["limit must be >= 0"]],
    ["a fractional limit", { limit: 1.5 }, ["TYPE_INT32"]],
    [
      "findNearest with a non-vector",
      { findNearest: { ...NEAREST, queryVector: arrayJson({ doubleValue: 1 }) } },
      ["must be of type vector"],
    ],
    [
      "findNearest with an empty vector",
      { findNearest: { ...NEAREST, queryVector: VEC() } },
      ["1 to 2048 dimensions, got 0"],
    ],
    [
      "findNearest with 2049 dimensions",
      { findNearest: { ...NEAREST, queryVector: VEC(...new Array(2049).fill(1)) } },
      ["got 2049"],
    ],
    [
      "findNearest with a NaN component",
      {
        findNearest: {
          ...NEAREST,
          queryVector: {
            mapValue: { fields: { __type__: S("__vector__"), value: arrayJson({ doubleValue: "NaN" }) } },
          },
        },
      },
      ["finite"],
    ],
    [
      "findNearest without measure",
      { findNearest: { ...NEAREST, distanceMeasure: undefined } },
      ["distanceMeasure (EUCLIDEAN, COSINE or DOT_PRODUCT) is required"],
    ],
    [
      "findNearest with an unknown measure",
      { findNearest: { ...NEAREST, distanceMeasure: "MANHATTAN" } },
      ["DistanceMeasure"],
    ],
    ["findNearest with limit 0", { findNearest: { ...NEAREST, limit: 0 } }, ["between 1 and 1000, got 0"]],
    ["findNearest with limit 1001", { findNearest: { ...NEAREST, limit: 1001 } }, ["got 1001"]],
    ["findNearest without limit", { findNearest: { ...NEAREST, limit: undefined } }, ["needs a limit"]],
    [
      "findNearest without vector field",
      { findNearest: { ...NEAREST, vectorField: undefined } },
      ["needs a vectorField"],
    ],
    [
      "findNearest on __name__",
      { findNearest: { ...NEAREST, vectorField: { fieldPath: "__name__" } } },
      ["not a vector field"],
    ],
    [
      "findNearest with a bad threshold",
      { findNearest: { ...NEAREST, distanceThreshold: "far" } },
      ["distanceThreshold must be a number"],
    ],
    [
      "findNearest with a cursor",
      { findNearest: NEAREST, startAt: { values: [R("c/x")] } },
      ["cannot be combined with startAt/endAt"],
    ],
    [
      "a query over the complexity limit",
      {
        where: and(...Array.from({ length: 99 }, (_, i) => fieldFilter(`f${i}`, "EQUAL", I(i)))),
        orderBy: [order("z")],
      },
      ["too complex", "= 101"],
    ],
  ])("%s", (_label, query, fragments) => {
    expectInvalid(() => decode(query), ...fragments);
  });

  it("names the location of the problem", () => {
    expectInvalid(
      () => decode({ where: and(fieldFilter("a", "EQUAL", I(1)), fieldFilter("b", "NOT_IN", I(1))) }),
      "structuredQuery.where.compositeFilter.filters[1].fieldFilter.value",
    );
  });

  it("counts the parent document toward the complexity limit", () => {
    const where = and(...Array.from({ length: 98 }, (_, i) => fieldFilter(`f${i}`, "EQUAL", I(i))));
    expect(() => decode({ where })).not.toThrow(); // 98 + 1 (__name__) = 99
    expect(() => decode({ where }, "a/b")).not.toThrow(); // + parent = 100
    expectInvalid(() => decode({ where, orderBy: [order("z")] }, "a/b"), "= 101");
  });
});

/** The message of the INVALID_ARGUMENT that `fn` throws. */
function invalidMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FirestoreError);
    expect((e as FirestoreError).code).toBe(Code.INVALID_ARGUMENT);
    return (e as FirestoreError).message;
  }
  throw new Error("expected INVALID_ARGUMENT, but nothing was thrown");
}

describe("Cloud Firestore's wording for the query rules it enforces", () => {
  it.each<[string, Record<string, unknown>, string]>([
    [
      "two array-contains in one disjunction",
      { where: and(fieldFilter("a", "ARRAY_CONTAINS", I(1)), fieldFilter("b", "ARRAY_CONTAINS", I(1))) },
      "A maximum of 1 'ARRAY_CONTAINS' filter is allowed per disjunction.",
    ],
    [
      "array-contains and array-contains-any in one disjunction",
      { where: and(fieldFilter("a", "ARRAY_CONTAINS", I(1)), fieldFilter("b", "ARRAY_CONTAINS_ANY", arrayJson(I(1)))) },
      "A maximum of 1 'ARRAY_CONTAINS' filter is allowed per disjunction.",
    ],
    [
      "two not-equal filters",
      { where: and(fieldFilter("a", "NOT_EQUAL", I(1)), unary("b", "IS_NOT_NAN")) },
      "Only a single 'NOT_EQUAL', 'NOT_IN', 'IS_NOT_NAN', or 'IS_NOT_NULL' filter allowed per query.",
    ],
    [
      "NOT_IN with IN",
      { where: and(fieldFilter("a", "NOT_IN", arrayJson(I(1))), fieldFilter("b", "IN", arrayJson(I(1)))) },
      "'NOT_IN' cannot be used in the same query with 'IN', 'ARRAY_CONTAINS_ANY' or 'OR'.",
    ],
    [
      "NOT_IN with 11 values",
      { where: fieldFilter("a", "NOT_IN", inList(11)) },
      "'NOT_IN' supports up to 10 comparison values.",
    ],
    [
      "31 disjunctions",
      { where: fieldFilter("a", "IN", inList(31)) },
      "Too many disjunctions after normalization. Result had 31 disjunctions which is more than the maximum of 30",
    ],
  ])("%s", (_label, query, message) => {
    expect(invalidMessage(() => decode(query))).toBe(message);
  });
});

describe("kindless queries (no collection id) filter and order by __name__ ascending only", () => {
  const kindless = (query: Record<string, unknown>, allDescendants = true) =>
    decodeStructuredQuery({ from: [{ allDescendants }], ...query }, DB, "", "structuredQuery");

  it("accepts __name__ filters, __name__ ascending, cursors, limits and select", () => {
    const q = kindless({
      select: { fields: [{ fieldPath: "__name__" }] },
      where: and(
        fieldFilter("__name__", "GREATER_THAN_OR_EQUAL", R("a/b")),
        fieldFilter("__name__", "IN", arrayJson(R("a/b"), R("c/d"))),
      ),
      orderBy: [order("__name__", "ASCENDING")],
      startAt: { values: [R("a/b")] },
      limit: 10,
    });
    expect(q.orderBy).toEqual([{ field: ["__name__"], descending: false }]);
    expect(kindless({}, false).collectionId).toBeNull();
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["a field filter", { where: fieldFilter("a.b", "EQUAL", I(1)) }, "kind is required for filter: a.b"],
    [
      "a field filter beside a __name__ filter",
      { where: and(fieldFilter("__name__", "GREATER_THAN", R("a/b")), unary("x", "IS_NULL")) },
      "kind is required for filter: x",
    ],
    ["a field order", { orderBy: [order("a")] }, "kind is required for all orders except __key__ ascending"],
    [
      "a descending __name__ order (what limitToLast sends)",
      { orderBy: [order("__name__", "DESCENDING")] },
      "kind is required for all orders except __key__ ascending",
    ],
  ])("rejects %s", (_label, query, message) => {
    expect(invalidMessage(() => kindless(query))).toBe(message);
    expect(invalidMessage(() => kindless(query, false))).toBe(message);
  });

  it("rejects a vector search", () => {
    expect(invalidMessage(() => kindless({ findNearest: NEAREST }))).toContain("kind is required for findNearest");
  });

  it("rejects aggregations, and aggregations of vector searches", () => {
    expect(invalidMessage(() => checkAggregatable(kindless({})))).toContain("kind is required for aggregation");
    expect(() => checkAggregatable(decode({}))).not.toThrow();
    expect(invalidMessage(() => checkAggregatable(decode({ findNearest: NEAREST })))).toContain(
      "not supported on vector",
    );
  });

  it("the same rule serves listings without a collection id", () => {
    expect(() => checkKindless({ collectionId: null, orderBy: normalizeOrderBy([], undefined) })).not.toThrow();
    expect(
      invalidMessage(() =>
        checkKindless({
          collectionId: null,
          orderBy: normalizeOrderBy([{ field: ["n"], descending: false }], undefined),
        }),
      ),
    ).toBe("kind is required for all orders except __key__ ascending");
  });
});
