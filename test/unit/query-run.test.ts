import { describe, expect, it } from "vitest";
import type { Value } from "../../src/model/types.js";
import { compareByOrder, inScope, runQuery } from "../../src/query/evaluate.js";
import { vectorDistance } from "../../src/query/find-nearest.js";
import type { NormalizedQuery, QueryDoc } from "../../src/query/types.js";
import {
  arrayJson,
  dbl,
  decode,
  doc,
  fieldFilter,
  int,
  map,
  nul,
  order,
  ROOT,
  run,
  str,
  vec,
} from "./query-fixtures.js";

const I = (n: number | string) => ({ integerValue: String(n) });
const R = (path: string) => ({ referenceValue: `${ROOT}/${path}` });

describe("scope", () => {
  const paths = ["c/1", "c/2", "d/1", "c/1/c/3", "c/1/e/4", "x/y/c/5", "c/1/c/3/c/6"];
  const docs = paths.map((p) => doc(p, { n: int(1) }));
  const scope = (parent: string, from: Record<string, unknown>) =>
    runQuery(decode({ from: [from] }, parent), docs).map((d) => d.path);

  it("a collection under the root", () => {
    expect(scope("", { collectionId: "c" })).toEqual(["c/1", "c/2"]);
  });
  it("a subcollection", () => {
    expect(scope("c/1", { collectionId: "c" })).toEqual(["c/1/c/3"]);
  });
  it("a collection group under the root and under a document", () => {
    expect(scope("", { collectionId: "c", allDescendants: true })).toEqual([
      "c/1",
      "c/1/c/3",
      "c/1/c/3/c/6",
      "c/2",
      "x/y/c/5",
    ]);
    expect(scope("c/1", { collectionId: "c", allDescendants: true })).toEqual(["c/1/c/3", "c/1/c/3/c/6"]);
  });
  it("kindless queries (every collection)", () => {
    expect(scope("c/1", { allDescendants: true })).toEqual(["c/1/c/3", "c/1/c/3/c/6", "c/1/e/4"]);
    expect(scope("c/1", {})).toEqual(["c/1/c/3", "c/1/e/4"]);
  });
  it("inScope rejects the parent itself and odd paths", () => {
    const q = { parent: "c/1", collectionId: null, allDescendants: true };
    expect(inScope(q, "c/1")).toBe(false);
    expect(inScope(q, "c/1/c")).toBe(false);
    expect(inScope(q, "c/10/c/1")).toBe(false);
  });
});

describe("ordering", () => {
  const docs = [
    doc("c/a", { v: str("x") }),
    doc("c/b", { v: int(2) }),
    doc("c/c", { v: dbl(1.5) }),
    doc("c/d", { v: nul }),
    doc("c/e", { w: int(1) }), // no v
    doc("c/f", { v: int(2) }),
    doc("c/g", { v: map({}) }),
  ];

  it("orders across types by Firestore's type order, ties by name; missing fields excluded", () => {
    expect(run({ orderBy: [order("v")] }, docs)).toEqual(["c/d", "c/c", "c/b", "c/f", "c/a", "c/g"]);
    expect(run({ orderBy: [order("v", "DESCENDING")] }, docs)).toEqual(["c/g", "c/a", "c/f", "c/b", "c/c", "c/d"]);
  });

  it("default order is by name, with numeric ids first", () => {
    const named = [doc("c/b"), doc("c/__id7__"), doc("c/a"), doc("c/__id-3__")];
    expect(run({}, named)).toEqual(["c/__id-3__", "c/__id7__", "c/a", "c/b"]);
  });

  it("compareByOrder honours each direction", () => {
    const order2 = [
      { field: ["v"], descending: false },
      { field: ["__name__"], descending: true },
    ];
    expect(compareByOrder(docs[1] as QueryDoc, docs[5] as QueryDoc, order2)).toBeGreaterThan(0);
  });
});

describe("cursors", () => {
  // a: 1 1 2 2 3, names 1..5
  const docs = [1, 1, 2, 2, 3].map((a, i) => doc(`c/${i + 1}`, { a: int(a) }));
  const asc = [order("a")];
  const desc = [order("a", "DESCENDING")];

  it.each<[string, Record<string, unknown>, string[]]>([
    [
      "startAt before:true includes the position",
      { orderBy: asc, startAt: { values: [I(2)], before: true } },
      ["c/3", "c/4", "c/5"],
    ],
    ["startAt before:false (startAfter) excludes it", { orderBy: asc, startAt: { values: [I(2)] } }, ["c/5"]],
    [
      "endAt before:false (endAt) includes it",
      { orderBy: asc, endAt: { values: [I(2)] } },
      ["c/1", "c/2", "c/3", "c/4"],
    ],
    [
      "endAt before:true (endBefore) excludes it",
      { orderBy: asc, endAt: { values: [I(2)], before: true } },
      ["c/1", "c/2"],
    ],
    ["a full cursor with __name__", { orderBy: asc, startAt: { values: [I(1), R("c/2")] } }, ["c/3", "c/4", "c/5"]],
    [
      "a full cursor, inclusive",
      { orderBy: asc, startAt: { values: [I(1), R("c/2")], before: true } },
      ["c/2", "c/3", "c/4", "c/5"],
    ],
    [
      "a position between values",
      { orderBy: asc, startAt: { values: [{ doubleValue: 1.5 }], before: true } },
      ["c/3", "c/4", "c/5"],
    ],
    ["descending startAfter", { orderBy: desc, startAt: { values: [I(2)] } }, ["c/2", "c/1"]],
    ["descending startAt", { orderBy: desc, startAt: { values: [I(2)], before: true } }, ["c/4", "c/3", "c/2", "c/1"]],
    ["descending endBefore", { orderBy: desc, endAt: { values: [I(2)], before: true } }, ["c/5"]],
    ["descending full cursor", { orderBy: desc, startAt: { values: [I(2), R("c/4")] } }, ["c/3", "c/2", "c/1"]],
    [
      "both ends",
      { orderBy: asc, startAt: { values: [I(1), R("c/1")] }, endAt: { values: [I(2), R("c/4")], before: true } },
      ["c/2", "c/3"],
    ],
    [
      "a cursor of another type sorts by type order",
      { orderBy: asc, startAt: { values: [{ stringValue: "" }], before: true } },
      [],
    ],
    [
      "a __name__-only order",
      { startAt: { values: [R("c/3")], before: true }, endAt: { values: [R("c/4")] } },
      ["c/3", "c/4"],
    ],
    // An empty prefix ties with every document (firebase-js-sdk bound.ts), so "after" it is nothing.
    [
      "an empty startAt before:true bounds nothing",
      { orderBy: asc, startAt: { values: [], before: true } },
      ["c/1", "c/2", "c/3", "c/4", "c/5"],
    ],
    ["an empty startAt before:false excludes all", { orderBy: asc, startAt: { values: [] } }, []],
    [
      "an empty endAt before:false bounds nothing",
      { orderBy: asc, endAt: { values: [] } },
      ["c/1", "c/2", "c/3", "c/4", "c/5"],
    ],
    ["an empty endAt before:true excludes all", { orderBy: asc, endAt: { values: [], before: true } }, []],
  ])("%s", (_label, query, expected) => {
    expect(run(query, docs)).toEqual(expected);
  });
});

describe("offset, limit and projection", () => {
  const docs = [1, 2, 3, 4, 5].map((n) =>
    doc(`c/${n}`, { n: int(n), m: map({ x: int(n), y: str("y") }), s: str("s") }),
  );

  it("offset then limit, after cursors", () => {
    expect(run({ offset: 1, limit: 2 }, docs)).toEqual(["c/2", "c/3"]);
    expect(run({ limit: 0 }, docs)).toEqual([]);
    expect(run({ offset: 10 }, docs)).toEqual([]);
    expect(run({ orderBy: [order("n")], startAt: { values: [I(2)] }, offset: 1, limit: 1 }, docs)).toEqual(["c/4"]);
  });

  it("keeps only the selected fields, nested paths included", () => {
    const q = decode({
      select: { fields: [{ fieldPath: "n" }, { fieldPath: "m.x" }, { fieldPath: "absent" }] },
      limit: 1,
    });
    const [first] = runQuery(q, docs);
    expect(first?.fields).toEqual({ n: int(1), m: map({ x: int(1) }) });
    expect(first?.name).toBe(`${ROOT}/c/1`);
  });

  it("select __name__ returns names without fields; inputs are not modified", () => {
    const out = runQuery(decode({ select: { fields: [{ fieldPath: "__name__" }] } }), docs);
    expect(out.map((d) => d.fields)).toEqual([{}, {}, {}, {}, {}]);
    expect(docs[0]?.fields.n).toEqual(int(1));
  });

  it("filters, orders and cursors see all fields even when projected away", () => {
    const q = { select: { fields: [{ fieldPath: "s" }] }, where: fieldFilter("n", "GREATER_THAN", I(3)) };
    expect(runQuery(decode(q), docs).map((d) => [d.path, d.fields])).toEqual([
      ["c/4", { s: str("s") }],
      ["c/5", { s: str("s") }],
    ]);
  });
});

describe("recursiveDelete bounds", () => {
  it("selects everything under bulk/ and nothing past it", () => {
    const docs = ["bulk/a", "bulk/__id5__", "bulk/a/sub/b", "bulkx/a", "bulk\u0000/z", "a/b", "bulk0/q"].map((p) =>
      doc(p),
    );
    const query = {
      from: [{ allDescendants: true }],
      where: {
        compositeFilter: {
          op: "AND",
          filters: [
            fieldFilter("__name__", "GREATER_THAN_OR_EQUAL", R("bulk/__id-9223372036854775808__")),
            fieldFilter("__name__", "LESS_THAN", R("bulk\u0000/__id-9223372036854775808__")),
          ],
        },
      },
    };
    expect(run(query, docs)).toEqual(["bulk/__id5__", "bulk/a", "bulk/a/sub/b"]);
  });
});

const V = (...n: number[]) => ({
  mapValue: {
    fields: {
      __type__: { stringValue: "__vector__" },
      value: arrayJson(...n.map((x) => ({ doubleValue: x }))),
    },
  },
});

describe("findNearest", () => {
  const docs = [
    doc("c/a", { v: vec(1, 0), tag: str("x") }),
    doc("c/b", { v: vec(0, 1), tag: str("y") }),
    doc("c/c", { v: vec(2, 2), tag: str("x") }),
    doc("c/d", { v: vec(-1, 0), tag: str("x") }),
    doc("c/e", { v: vec(1, 0, 0) }), // wrong dimension
    doc("c/f", { v: arrayJson() as unknown as Value }), // not a vector
    doc("c/g", { v: vec(0, 0) }), // zero vector: no cosine distance
    doc("c/h", { w: vec(1, 0) }), // no v
    doc("c/i", { v: vec(1, 0) }), // ties with c/a
  ];
  const nearest = (measure: string, extra: Record<string, unknown> = {}, query: Record<string, unknown> = {}) =>
    decode({
      ...query,
      findNearest: {
        vectorField: { fieldPath: "v" },
        queryVector: V(1, 0),
        distanceMeasure: measure,
        limit: 10,
        ...extra,
      },
    });
  const dist = (q: NormalizedQuery, field = "d") =>
    runQuery(q, docs).map((d) => [
      d.path.slice(2),
      (d.fields[field] as { doubleValue: number } | undefined)?.doubleValue,
    ]);

  it("EUCLIDEAN: ascending distance, ties by name, other dimensions and non-vectors skipped", () => {
    expect(dist(nearest("EUCLIDEAN", { distanceResultField: "d" }))).toEqual([
      ["a", 0],
      ["i", 0],
      ["g", 1],
      ["b", Math.SQRT2],
      ["d", 2],
      ["c", Math.sqrt(5)],
    ]);
  });

  it("EUCLIDEAN threshold keeps distance <= threshold", () => {
    expect(dist(nearest("EUCLIDEAN", { distanceResultField: "d", distanceThreshold: 1.5 })).map((r) => r[0])).toEqual([
      "a",
      "i",
      "g",
      "b",
    ]);
  });

  it("COSINE: 1 - cos, zero vectors skipped, threshold <=", () => {
    const rows = dist(nearest("COSINE", { distanceResultField: "d" }));
    expect(rows.map((r) => r[0])).toEqual(["a", "i", "c", "b", "d"]);
    expect(rows[2]?.[1]).toBeCloseTo(1 - Math.SQRT1_2);
    expect(rows[4]?.[1]).toBe(2);
    expect(dist(nearest("COSINE", { distanceThreshold: 1 })).map((r) => r[0])).toEqual(["a", "i", "c", "b"]);
  });

  it("DOT_PRODUCT: descending, threshold >=", () => {
    expect(dist(nearest("DOT_PRODUCT", { distanceResultField: "d" }))).toEqual([
      ["c", 2],
      ["a", 1],
      ["i", 1],
      ["b", 0],
      ["g", 0],
      ["d", -1],
    ]);
    expect(dist(nearest("DOT_PRODUCT", { distanceThreshold: 1 })).map((r) => r[0])).toEqual(["c", "a", "i"]);
  });

  it("pre-filters, then its own limit, then offset and limit", () => {
    const q = nearest("EUCLIDEAN", { limit: 3 }, { where: fieldFilter("tag", "EQUAL", { stringValue: "x" }) });
    expect(runQuery(q, docs).map((d) => d.path)).toEqual(["c/a", "c/d", "c/c"]);
    expect(dist(nearest("EUCLIDEAN", { limit: 3 }, { offset: 1, limit: 1 })).map((r) => r[0])).toEqual(["i"]);
  });

  it("ties follow the query order, descending too", () => {
    expect(
      dist(nearest("EUCLIDEAN", { limit: 2 }, { orderBy: [order("__name__", "DESCENDING")] })).map((r) => r[0]),
    ).toEqual(["i", "a"]);
  });

  it("writes the distance into a nested field and a select must name it to keep it", () => {
    const q = nearest(
      "EUCLIDEAN",
      { distanceResultField: "m.dist", limit: 1 },
      { select: { fields: [{ fieldPath: "tag" }] } },
    );
    expect(runQuery(q, docs)[0]?.fields).toEqual({ tag: str("x") });
    const kept = nearest(
      "EUCLIDEAN",
      { distanceResultField: "m.dist", limit: 1 },
      { select: { fields: [{ fieldPath: "m.dist" }] } },
    );
    expect(runQuery(kept, docs)[0]?.fields).toEqual({ m: map({ dist: dbl(0) }) });
    expect(docs[0]?.fields.m).toBeUndefined();
  });

  it("vectorDistance per measure", () => {
    expect(vectorDistance("EUCLIDEAN", [0, 0], [3, 4])).toBe(5);
    expect(vectorDistance("DOT_PRODUCT", [1, 2], [3, 4])).toBe(11);
    expect(vectorDistance("COSINE", [1, 0], [0, 1])).toBe(1);
    expect(vectorDistance("COSINE", [0, 0], [0, 1])).toBeNaN();
  });
});
