/**
 * Queries end to end (`:runQuery`) with both SDKs: `firebase/firestore/lite` (sends the normalized
 * orderBy, with `__name__`) and `@google-cloud/firestore` over REST (sends no implicit ordering for
 * `get()`, so the server must add it; wire doc §3.4).
 *
 * Covered: every filter operator, null/NaN unary filters, nested or()/and(), inequalities on
 * several fields, documentId() filters, orderBy with the implicit ordering, the cross-type value
 * order, documents missing an ordered field, value and snapshot cursors (with pagination),
 * limit/limitToLast/offset, select() projections, collection groups, sub-collection parents,
 * admin transactions that query, and invalid queries the SDKs pass through but the server rejects.
 */
import type * as admin from "@google-cloud/firestore";
import {
  Timestamp as AdminTimestamp,
  AggregateField,
  FieldPath,
  FieldValue,
  Filter,
  GeoPoint,
} from "@google-cloud/firestore";
import * as lite from "firebase/firestore/lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminClient,
  adminError,
  docName,
  type LiteClient,
  liteClient,
  rawCommit,
  rejection,
  rest,
  uniqueProject,
} from "./clients.js";

const PROJECT = uniqueProject("queries");
const DB = `projects/${PROJECT}/databases/(default)`;
let l: LiteClient;
let a: admin.Firestore;

/**
 * The `items` collection. `n` mixes types (numbers, a string, null, missing) and the ids are not in
 * `n` order, so implicit ordering by an inequality field is observable.
 *
 * | id | n    | s      | tags                  | m     | g |
 * | p  | 1    | apple  | [red, fruit]          | NaN   | x |
 * | k  | 2    | banana | [yellow, fruit]       | 1     | y |
 * | z  | 3    | cherry | [red, fruit, small]   | null  | x |
 * | b  | 4    | date   | [brown]               | "str" | y |
 * | m  | 5.5  | elder  | []                    | —     | x |
 * | a  | "6"  | fig    | [red]                 | —     | y |
 * | q  | null | grape  | "red" (not an array)  | —     | x |
 * | c  | —    | kiwi   | —                     | —     | y |
 */
const ITEMS: Record<string, Record<string, unknown>> = {
  p: { n: 1, s: "apple", tags: ["red", "fruit"], m: Number.NaN, g: "x", info: { color: "green", size: 1 } },
  k: { n: 2, s: "banana", tags: ["yellow", "fruit"], m: 1, g: "y", info: { color: "yellow" } },
  z: { n: 3, s: "cherry", tags: ["red", "fruit", "small"], m: null, g: "x" },
  b: { n: 4, s: "date", tags: ["brown"], m: "str", g: "y" },
  m: { n: 5.5, s: "elder", tags: [], g: "x" },
  a: { n: "6", s: "fig", tags: ["red"], g: "y" },
  q: { n: null, s: "grape", tags: "red", g: "x" },
  c: { s: "kiwi", g: "y" },
};

/** Values in Firestore's ascending order (null < bool < numbers < timestamps < strings < bytes < refs < geo < arrays < vectors < maps). */
function mixedValues(): unknown[] {
  const ref = (p: string) => a.doc(p);
  return [
    null,
    false,
    true,
    Number.NaN,
    Number.NEGATIVE_INFINITY,
    -5,
    1,
    1.5,
    2,
    Number.POSITIVE_INFINITY,
    new AdminTimestamp(100, 5),
    new AdminTimestamp(100, 500_000_000),
    new AdminTimestamp(200, 0),
    "",
    "B",
    "a",
    "\uFB01", // U+FB01: after U+1F600 in UTF-16 order, before it in UTF-8 (byte) order
    "😀",
    Buffer.from([1, 2]),
    Buffer.from([1, 2, 0]),
    Buffer.from([255]),
    ref("mixref/a"),
    ref("mixref/a/x/y"), // segment-wise: "a" < "a-b", although "a/…" > "a-…" as a string
    ref("mixref/a-b"),
    ref("mixref/b"),
    new GeoPoint(0, 100),
    new GeoPoint(1, 2),
    new GeoPoint(1, 3),
    [],
    [1],
    [1, 0],
    [2],
    FieldValue.vector([5]), // vectors: shorter first
    FieldValue.vector([1, 2]),
    FieldValue.vector([1, 3]),
    {},
    { a: 1 },
    { a: 2 },
    { b: 0 },
  ];
}
const MIXED_COUNT = 39;
/** Ids are a permutation of the value order, so name order says nothing about value order. */
const mixedId = (i: number) => `v${String((i * 17) % MIXED_COUNT).padStart(2, "0")}`;
const MIXED_ASC = Array.from({ length: MIXED_COUNT }, (_, i) => mixedId(i));

const PAGE_DOCS = 25;
const pageId = (i: number) => `d${String(i).padStart(2, "0")}`;
const pageRank = (i: number) => (i * 7) % 5; // ties, so the __name__ tiebreaker matters
const PAGES_ASC = Array.from({ length: PAGE_DOCS }, (_, i) => i)
  .sort((x, y) => pageRank(x) - pageRank(y) || x - y)
  .map(pageId);

const LANDMARKS: Record<string, string> = {
  "landmarks/l0": "museum",
  "groups/g1/landmarks/l1": "bridge",
  "groups/g2/landmarks/l2": "museum",
  "a/b/c/d/landmarks/l3": "museum",
  "landmarksX/l4": "museum",
  "other/landmarks": "museum",
  "groups/g1/landmarks/l1/landmarks/l5": "park",
};

beforeAll(async () => {
  l = liteClient(PROJECT);
  a = adminClient(PROJECT);
  const batch = a.batch();
  for (const [id, data] of Object.entries(ITEMS)) batch.set(a.doc(`items/${id}`), data);
  for (const [i, v] of mixedValues().entries()) batch.set(a.doc(`mixed/${mixedId(i)}`), { v });
  for (let i = 0; i < PAGE_DOCS; i++) batch.set(a.doc(`pages/${pageId(i)}`), { rank: pageRank(i), i });
  for (const [path, type] of Object.entries(LANDMARKS)) batch.set(a.doc(path), { type });
  await batch.commit();
});

afterAll(async () => {
  await l.close();
  await a.terminate();
});

const lcoll = (path: string) => lite.collection(l.db, path);
const acoll = (path: string) => a.collection(path);
const lids = async (q: lite.Query) => (await lite.getDocs(q)).docs.map((d) => d.id);
const aids = async (q: admin.Query) => (await q.get()).docs.map((d) => d.id);
const lpaths = async (q: lite.Query) => (await lite.getDocs(q)).docs.map((d) => d.ref.path);
const apaths = async (q: admin.Query) => (await q.get()).docs.map((d) => d.ref.path);

interface Case {
  name: string;
  lite: () => lite.Query;
  admin: () => admin.Query;
  expected: string[];
}

async function expectBoth(c: Omit<Case, "name">): Promise<void> {
  expect(await lids(c.lite()), "firebase/firestore/lite").toEqual(c.expected);
  expect(await aids(c.admin()), "@google-cloud/firestore").toEqual(c.expected);
}

const li = (...c: lite.QueryConstraint[]) => lite.query(lcoll("items"), ...c);
const ai = () => acoll("items");

describe("filter operators", () => {
  const cases: Case[] = [
    {
      name: "n < 3",
      lite: () => li(lite.where("n", "<", 3)),
      admin: () => ai().where("n", "<", 3),
      expected: ["p", "k"],
    },
    {
      name: "n <= 3",
      lite: () => li(lite.where("n", "<=", 3)),
      admin: () => ai().where("n", "<=", 3),
      expected: ["p", "k", "z"],
    },
    {
      name: "n > 3",
      lite: () => li(lite.where("n", ">", 3)),
      admin: () => ai().where("n", ">", 3),
      expected: ["b", "m"],
    },
    {
      name: "n >= 3",
      lite: () => li(lite.where("n", ">=", 3)),
      admin: () => ai().where("n", ">=", 3),
      expected: ["z", "b", "m"],
    },
    {
      name: "n == 2",
      lite: () => li(lite.where("n", "==", 2)),
      admin: () => ai().where("n", "==", 2),
      expected: ["k"],
    },
    {
      name: "n == 5.5",
      lite: () => li(lite.where("n", "==", 5.5)),
      admin: () => ai().where("n", "==", 5.5),
      expected: ["m"],
    },
    {
      name: 'n == "6" (strings never equal numbers)',
      lite: () => li(lite.where("n", "==", "6")),
      admin: () => ai().where("n", "==", "6"),
      expected: ["a"],
    },
    {
      name: 'n > "" (range filters only match their operand type)',
      lite: () => li(lite.where("n", ">", "")),
      admin: () => ai().where("n", ">", ""),
      expected: ["a"],
    },
    {
      name: "n != 2 (any type but null; missing excluded; ordered by n)",
      lite: () => li(lite.where("n", "!=", 2)),
      admin: () => ai().where("n", "!=", 2),
      expected: ["p", "z", "b", "m", "a"],
    },
    {
      name: "tags array-contains red (a string field is not an array)",
      lite: () => li(lite.where("tags", "array-contains", "red")),
      admin: () => ai().where("tags", "array-contains", "red"),
      expected: ["a", "p", "z"],
    },
    {
      name: 'n in [1, 4, "6", 99]',
      lite: () => li(lite.where("n", "in", [1, 4, "6", 99])),
      admin: () => ai().where("n", "in", [1, 4, "6", 99]),
      expected: ["a", "b", "p"],
    },
    {
      name: "tags array-contains-any [yellow, brown]",
      lite: () => li(lite.where("tags", "array-contains-any", ["yellow", "brown"])),
      admin: () => ai().where("tags", "array-contains-any", ["yellow", "brown"]),
      expected: ["b", "k"],
    },
    {
      name: "n not-in [1, 4] (null and missing excluded; ordered by n)",
      lite: () => li(lite.where("n", "not-in", [1, 4])),
      admin: () => ai().where("n", "not-in", [1, 4]),
      expected: ["k", "z", "m", "a"],
    },
    {
      name: "n == null (IS_NULL)",
      lite: () => li(lite.where("n", "==", null)),
      admin: () => ai().where("n", "==", null),
      expected: ["q"],
    },
    {
      name: "n != null (IS_NOT_NULL, ordered by n)",
      lite: () => li(lite.where("n", "!=", null)),
      admin: () => ai().where("n", "!=", null),
      expected: ["p", "k", "z", "b", "m", "a"],
    },
    {
      name: "m == NaN (IS_NAN)",
      lite: () => li(lite.where("m", "==", Number.NaN)),
      admin: () => ai().where("m", "==", Number.NaN),
      expected: ["p"],
    },
    {
      name: "m != NaN (IS_NOT_NAN: not null, not NaN, any type)",
      lite: () => li(lite.where("m", "!=", Number.NaN)),
      admin: () => ai().where("m", "!=", Number.NaN),
      expected: ["k", "b"],
    },
    {
      name: 's >= "c" and s < "f" (range on one field)',
      lite: () => li(lite.where("s", ">=", "c"), lite.where("s", "<", "f")),
      admin: () => ai().where("s", ">=", "c").where("s", "<", "f"),
      expected: ["z", "b", "m"],
    },
    {
      name: 'n > 1 and s < "elder" (inequalities on two fields: ordered by n, then s)',
      lite: () => li(lite.where("n", ">", 1), lite.where("s", "<", "elder")),
      admin: () => ai().where("n", ">", 1).where("s", "<", "elder"),
      expected: ["k", "z", "b"],
    },
    {
      name: 'n > 1 and s < "elder" orderBy s desc (implicit n and __name__ follow desc)',
      lite: () => li(lite.where("n", ">", 1), lite.where("s", "<", "elder"), lite.orderBy("s", "desc")),
      admin: () => ai().where("n", ">", 1).where("s", "<", "elder").orderBy("s", "desc"),
      expected: ["b", "z", "k"],
    },
    {
      name: "n > 1 orderBy n desc",
      lite: () => li(lite.where("n", ">", 1), lite.orderBy("n", "desc")),
      admin: () => ai().where("n", ">", 1).orderBy("n", "desc"),
      expected: ["m", "b", "z", "k"],
    },
  ];
  it.each(cases)("$name", async (c) => {
    await expectBoth(c);
  });
});

describe("composite filters", () => {
  it('or(n == 1, and(s >= "d", tags array-contains red)): ordered by the inequality field s', async () => {
    await expectBoth({
      lite: () =>
        lite.query(
          lcoll("items"),
          lite.or(
            lite.where("n", "==", 1),
            lite.and(lite.where("s", ">=", "d"), lite.where("tags", "array-contains", "red")),
          ),
        ),
      admin: () =>
        ai().where(
          Filter.or(
            Filter.where("n", "==", 1),
            Filter.and(Filter.where("s", ">=", "d"), Filter.where("tags", "array-contains", "red")),
          ),
        ),
      expected: ["p", "a"],
    });
  });

  it("and(or(g == x, n == 2), or(tags array-contains fruit, s == kiwi))", async () => {
    await expectBoth({
      lite: () =>
        lite.query(
          lcoll("items"),
          lite.and(
            lite.or(lite.where("g", "==", "x"), lite.where("n", "==", 2)),
            lite.or(lite.where("tags", "array-contains", "fruit"), lite.where("s", "==", "kiwi")),
          ),
        ),
      admin: () =>
        ai().where(
          Filter.and(
            Filter.or(Filter.where("g", "==", "x"), Filter.where("n", "==", 2)),
            Filter.or(Filter.where("tags", "array-contains", "fruit"), Filter.where("s", "==", "kiwi")),
          ),
        ),
      expected: ["k", "p", "z"],
    });
  });

  it("or(n < 2, n > 4) and or(n > 4, s < b): disjunctions of ranges, ordered by n", async () => {
    await expectBoth({
      lite: () => lite.query(lcoll("items"), lite.or(lite.where("n", "<", 2), lite.where("n", ">", 4))),
      admin: () => ai().where(Filter.or(Filter.where("n", "<", 2), Filter.where("n", ">", 4))),
      expected: ["p", "m"],
    });
    await expectBoth({
      lite: () => lite.query(lcoll("items"), lite.or(lite.where("n", ">", 4), lite.where("s", "<", "b"))),
      admin: () => ai().where(Filter.or(Filter.where("n", ">", 4), Filter.where("s", "<", "b"))),
      expected: ["p", "m"],
    });
  });

  it("or(n > 4, s == kiwi): a document missing the implicitly ordered field n is excluded", async () => {
    await expectBoth({
      lite: () => lite.query(lcoll("items"), lite.or(lite.where("n", ">", 4), lite.where("s", "==", "kiwi"))),
      admin: () => ai().where(Filter.or(Filter.where("n", ">", 4), Filter.where("s", "==", "kiwi"))),
      expected: ["m"],
    });
  });

  it("or() with in and array-contains-any branches, and equalities on several fields", async () => {
    await expectBoth({
      lite: () =>
        lite.query(
          lcoll("items"),
          lite.or(lite.where("n", "in", [2, 3]), lite.where("tags", "array-contains-any", ["brown", "small"])),
        ),
      admin: () =>
        ai().where(
          Filter.or(Filter.where("n", "in", [2, 3]), Filter.where("tags", "array-contains-any", ["brown", "small"])),
        ),
      expected: ["b", "k", "z"],
    });
    await expectBoth({
      lite: () => li(lite.where("g", "==", "x"), lite.where("tags", "array-contains", "red")),
      admin: () => ai().where("g", "==", "x").where("tags", "array-contains", "red"),
      expected: ["p", "z"],
    });
  });
});

describe("documentId() filters", () => {
  it("ranges, in, not-in and != on the document id", async () => {
    await expectBoth({
      lite: () => li(lite.where(lite.documentId(), ">=", "k"), lite.where(lite.documentId(), "<", "q")),
      admin: () => ai().where(FieldPath.documentId(), ">=", "k").where(FieldPath.documentId(), "<", "q"),
      expected: ["k", "m", "p"],
    });
    await expectBoth({
      lite: () => li(lite.where(lite.documentId(), "in", ["z", "a", "nope"])),
      admin: () => ai().where(FieldPath.documentId(), "in", ["z", "a", "nope"]),
      expected: ["a", "z"],
    });
    await expectBoth({
      lite: () => li(lite.where(lite.documentId(), "not-in", ["a", "b", "c"])),
      admin: () => ai().where(FieldPath.documentId(), "not-in", ["a", "b", "c"]),
      expected: ["k", "m", "p", "q", "z"],
    });
    await expectBoth({
      lite: () => li(lite.where(lite.documentId(), "!=", "p")),
      admin: () => ai().where(FieldPath.documentId(), "!=", "p"),
      expected: ["a", "b", "c", "k", "m", "q", "z"],
    });
    await expectBoth({
      lite: () => li(lite.where(lite.documentId(), "==", "q")),
      admin: () => ai().where(FieldPath.documentId(), "==", a.doc("items/q")),
      expected: ["q"],
    });
  });

  it("orderBy(documentId(), desc) with limit, combined with a field filter", async () => {
    await expectBoth({
      lite: () => li(lite.orderBy(lite.documentId(), "desc"), lite.limit(3)),
      admin: () => ai().orderBy(FieldPath.documentId(), "desc").limit(3),
      expected: ["z", "q", "p"],
    });
    await expectBoth({
      lite: () => li(lite.where("g", "==", "y"), lite.where(lite.documentId(), ">", "b")),
      admin: () => ai().where("g", "==", "y").where(FieldPath.documentId(), ">", "b"),
      expected: ["c", "k"],
    });
  });

  it("documentId() in on a collection group takes full paths", async () => {
    const paths = ["groups/g2/landmarks/l2", "landmarks/l0", "landmarks/nope"];
    expect(
      await lpaths(lite.query(lite.collectionGroup(l.db, "landmarks"), lite.where(lite.documentId(), "in", paths))),
    ).toEqual(["groups/g2/landmarks/l2", "landmarks/l0"]);
    expect(await apaths(a.collectionGroup("landmarks").where(FieldPath.documentId(), "in", paths))).toEqual([
      "groups/g2/landmarks/l2",
      "landmarks/l0",
    ]);
  });
});

describe("orderBy", () => {
  const cases: Case[] = [
    {
      name: "orderBy n: null first, numbers, then the string; the doc without n is excluded",
      lite: () => li(lite.orderBy("n")),
      admin: () => ai().orderBy("n"),
      expected: ["q", "p", "k", "z", "b", "m", "a"],
    },
    {
      name: "orderBy n desc",
      lite: () => li(lite.orderBy("n", "desc")),
      admin: () => ai().orderBy("n", "desc"),
      expected: ["a", "m", "b", "z", "k", "p", "q"],
    },
    {
      name: "orderBy g: ties broken by __name__ ascending",
      lite: () => li(lite.orderBy("g")),
      admin: () => ai().orderBy("g"),
      expected: ["m", "p", "q", "z", "a", "b", "c", "k"],
    },
    {
      name: "orderBy g desc: the implicit __name__ takes the last direction (desc)",
      lite: () => li(lite.orderBy("g", "desc")),
      admin: () => ai().orderBy("g", "desc"),
      expected: ["k", "c", "b", "a", "z", "q", "p", "m"],
    },
    {
      name: "orderBy g, n desc (c lacks n: excluded)",
      lite: () => li(lite.orderBy("g"), lite.orderBy("n", "desc")),
      admin: () => ai().orderBy("g").orderBy("n", "desc"),
      expected: ["m", "z", "p", "q", "a", "b", "k"],
    },
    {
      name: "orderBy nested field info.color (only docs that have it)",
      lite: () => li(lite.orderBy("info.color")),
      admin: () => ai().orderBy("info.color"),
      expected: ["p", "k"],
    },
    {
      name: "orderBy s desc limit 3",
      lite: () => li(lite.orderBy("s", "desc"), lite.limit(3)),
      admin: () => ai().orderBy("s", "desc").limit(3),
      expected: ["c", "q", "a"],
    },
    {
      name: "no filter, no order: by __name__",
      lite: () => li(),
      admin: () => ai(),
      expected: ["a", "b", "c", "k", "m", "p", "q", "z"],
    },
  ];
  it.each(cases)("$name", async (c) => {
    await expectBoth(c);
  });

  it("orders across all value types: null < bool < numbers < timestamps < strings < bytes < refs < geo < arrays < vectors < maps", async () => {
    const lq = (dir: "asc" | "desc") => lite.query(lcoll("mixed"), lite.orderBy("v", dir));
    expect(await lids(lq("asc"))).toEqual(MIXED_ASC);
    expect(await aids(acoll("mixed").orderBy("v"))).toEqual(MIXED_ASC);
    expect(await lids(lq("desc"))).toEqual([...MIXED_ASC].reverse());
    expect(await aids(acoll("mixed").orderBy("v", "desc"))).toEqual([...MIXED_ASC].reverse());
  });

  it("range filters on a mixed-type field only match values of the operand's type", async () => {
    // Numbers > 1: 1.5, 2, Infinity (indexes 7, 8, 9 in value order).
    expect(await lids(lite.query(lcoll("mixed"), lite.where("v", ">", 1)))).toEqual([7, 8, 9].map(mixedId));
    expect(await aids(acoll("mixed").where("v", ">", 1))).toEqual([7, 8, 9].map(mixedId));
    // Timestamps before 200 s: indexes 10, 11.
    const t = lite.Timestamp.fromMillis(200_000);
    expect(await lids(lite.query(lcoll("mixed"), lite.where("v", "<", t)))).toEqual([10, 11].map(mixedId));
    expect(await aids(acoll("mixed").where("v", "<", new AdminTimestamp(200, 0)))).toEqual([10, 11].map(mixedId));
    // v >= "" matches every string (indexes 13-17, the astral one included) and nothing else.
    expect(await aids(acoll("mixed").where("v", ">=", ""))).toEqual([13, 14, 15, 16, 17].map(mixedId));
    // Booleans: == false, and >= false matches both booleans only.
    expect(await aids(acoll("mixed").where("v", ">=", false))).toEqual([1, 2].map(mixedId));
    // Arrays: array-contains 1 matches [1] and [1, 0].
    expect(await lids(lite.query(lcoll("mixed"), lite.where("v", "array-contains", 1)))).toEqual(
      [29, 30].map(mixedId).sort(),
    );
    // Equality on a map, on a vector and on a reference.
    expect(await aids(acoll("mixed").where("v", "==", { a: 2 }))).toEqual([mixedId(37)]);
    expect(await aids(acoll("mixed").where("v", "==", FieldValue.vector([1, 2])))).toEqual([mixedId(33)]);
    expect(await lids(lite.query(lcoll("mixed"), lite.where("v", "==", lite.vector([1, 2]))))).toEqual([mixedId(33)]);
    expect(await aids(acoll("mixed").where("v", "==", a.doc("mixref/a-b")))).toEqual([mixedId(23)]);
    expect(await lids(lite.query(lcoll("mixed"), lite.where("v", "==", lite.doc(l.db, "mixref/a-b"))))).toEqual([
      mixedId(23),
    ]);
  });
});

describe("cursors", () => {
  const cases: Case[] = [
    {
      name: "orderBy n startAt 2 (the string sorts after every number)",
      lite: () => li(lite.orderBy("n"), lite.startAt(2)),
      admin: () => ai().orderBy("n").startAt(2),
      expected: ["k", "z", "b", "m", "a"],
    },
    {
      name: "orderBy n startAfter 2",
      lite: () => li(lite.orderBy("n"), lite.startAfter(2)),
      admin: () => ai().orderBy("n").startAfter(2),
      expected: ["z", "b", "m", "a"],
    },
    {
      name: "orderBy n endAt 4 (null sorts first)",
      lite: () => li(lite.orderBy("n"), lite.endAt(4)),
      admin: () => ai().orderBy("n").endAt(4),
      expected: ["q", "p", "k", "z", "b"],
    },
    {
      name: "orderBy n endBefore 4",
      lite: () => li(lite.orderBy("n"), lite.endBefore(4)),
      admin: () => ai().orderBy("n").endBefore(4),
      expected: ["q", "p", "k", "z"],
    },
    {
      name: 'orderBy n startAt 2 endBefore "6"',
      lite: () => li(lite.orderBy("n"), lite.startAt(2), lite.endBefore("6")),
      admin: () => ai().orderBy("n").startAt(2).endBefore("6"),
      expected: ["k", "z", "b", "m"],
    },
    {
      name: "orderBy n desc startAfter 4",
      lite: () => li(lite.orderBy("n", "desc"), lite.startAfter(4)),
      admin: () => ai().orderBy("n", "desc").startAfter(4),
      expected: ["z", "k", "p", "q"],
    },
    {
      name: "orderBy n startAt null endAt null",
      lite: () => li(lite.orderBy("n"), lite.startAt(null), lite.endAt(null)),
      admin: () => ai().orderBy("n").startAt(null).endAt(null),
      expected: ["q"],
    },
    {
      name: 'orderBy g, n startAfter ("x", 3): a two-value cursor',
      lite: () => li(lite.orderBy("g"), lite.orderBy("n"), lite.startAfter("x", 3)),
      admin: () => ai().orderBy("g").orderBy("n").startAfter("x", 3),
      expected: ["m", "k", "b", "a"],
    },
    {
      name: 'orderBy g startAt "y" (prefix cursor, ties in name order)',
      lite: () => li(lite.orderBy("g"), lite.startAt("y")),
      admin: () => ai().orderBy("g").startAt("y"),
      expected: ["a", "b", "c", "k"],
    },
    {
      name: 'orderBy g, documentId startAfter ("x", "p")',
      lite: () => li(lite.orderBy("g"), lite.orderBy(lite.documentId()), lite.startAfter("x", "p")),
      admin: () => ai().orderBy("g").orderBy(FieldPath.documentId()).startAfter("x", "p"),
      expected: ["q", "z", "a", "b", "c", "k"],
    },
    {
      name: 'where n > 1, orderBy n, endAt 4, with an equality filter g == "y"',
      lite: () => li(lite.where("g", "==", "y"), lite.where("n", ">", 1), lite.orderBy("n"), lite.endAt(4)),
      admin: () => ai().where("g", "==", "y").where("n", ">", 1).orderBy("n").endAt(4),
      expected: ["k", "b"],
    },
  ];
  it.each(cases)("$name", async (c) => {
    await expectBoth(c);
  });

  it("document snapshot cursors (the snapshot supplies the ordered fields and __name__)", async () => {
    const lz = await lite.getDoc(lite.doc(l.db, "items/z"));
    const az = await a.doc("items/z").get();
    const lp = await lite.getDoc(lite.doc(l.db, "items/p"));
    const ap = await a.doc("items/p").get();
    await expectBoth({
      lite: () => li(lite.orderBy("n"), lite.startAfter(lz)),
      admin: () => ai().orderBy("n").startAfter(az),
      expected: ["b", "m", "a"],
    });
    await expectBoth({
      lite: () => li(lite.orderBy("n"), lite.startAt(lz)),
      admin: () => ai().orderBy("n").startAt(az),
      expected: ["z", "b", "m", "a"],
    });
    await expectBoth({
      lite: () => li(lite.orderBy("n"), lite.endBefore(lz)),
      admin: () => ai().orderBy("n").endBefore(az),
      expected: ["q", "p", "k"],
    });
    await expectBoth({
      lite: () => li(lite.orderBy("n"), lite.endAt(lz)),
      admin: () => ai().orderBy("n").endAt(az),
      expected: ["q", "p", "k", "z"],
    });
    // Ties on g: the snapshot's name places the cursor inside the "x" group.
    await expectBoth({
      lite: () => li(lite.orderBy("g"), lite.startAfter(lp)),
      admin: () => ai().orderBy("g").startAfter(ap),
      expected: ["q", "z", "a", "b", "c", "k"],
    });
    // No explicit order: the cursor follows the implicit order (n from the inequality, then __name__).
    await expectBoth({
      lite: () => li(lite.where("n", ">", 1), lite.startAfter(lz)),
      admin: () => ai().where("n", ">", 1).startAfter(az),
      expected: ["b", "m"],
    });
    // No order and no filter: __name__ only.
    await expectBoth({
      lite: () => li(lite.startAt(lp)),
      admin: () => ai().startAt(ap),
      expected: ["p", "q", "z"],
    });
  });

  it("paginates a whole collection with snapshot cursors, ascending and descending (lite)", async () => {
    for (const dir of ["asc", "desc"] as const) {
      const base = [lite.orderBy("rank", dir)];
      const seen: string[] = [];
      const sizes: number[] = [];
      let last: lite.QueryDocumentSnapshot | undefined;
      for (;;) {
        const cs = last === undefined ? [...base, lite.limit(7)] : [...base, lite.startAfter(last), lite.limit(7)];
        const snap = await lite.getDocs(lite.query(lcoll("pages"), ...cs));
        sizes.push(snap.size);
        seen.push(...snap.docs.map((d) => d.id));
        if (snap.size < 7) break;
        last = snap.docs[snap.size - 1];
      }
      expect(sizes).toEqual([7, 7, 7, 4]);
      expect(seen).toEqual(dir === "asc" ? PAGES_ASC : [...PAGES_ASC].reverse());
    }
  });

  it("paginates a whole collection with snapshot cursors, ascending and descending (admin)", async () => {
    for (const dir of ["asc", "desc"] as const) {
      const seen: string[] = [];
      const sizes: number[] = [];
      let q = acoll("pages").orderBy("rank", dir).limit(7);
      for (;;) {
        const snap = await q.get();
        sizes.push(snap.size);
        seen.push(...snap.docs.map((d) => d.id));
        if (snap.size < 7) break;
        q = acoll("pages")
          .orderBy("rank", dir)
          .startAfter(snap.docs[snap.size - 1] as admin.QueryDocumentSnapshot)
          .limit(7);
      }
      expect(sizes).toEqual([7, 7, 7, 4]);
      expect(seen).toEqual(dir === "asc" ? PAGES_ASC : [...PAGES_ASC].reverse());
    }
    // Pagination by __name__ alone (no orderBy): pages of 10.
    const byName = Array.from({ length: PAGE_DOCS }, (_, i) => pageId(i));
    const all: string[] = [];
    let q = acoll("pages").limit(10);
    for (;;) {
      const snap = await q.get();
      all.push(...snap.docs.map((d) => d.id));
      if (snap.size < 10) break;
      q = acoll("pages")
        .startAfter(snap.docs[snap.size - 1] as admin.QueryDocumentSnapshot)
        .limit(10);
    }
    expect(all).toEqual(byName);
  });
});

describe("limit, limitToLast, offset, select", () => {
  it("limit", async () => {
    await expectBoth({
      lite: () => li(lite.orderBy("n"), lite.limit(3)),
      admin: () => ai().orderBy("n").limit(3),
      expected: ["q", "p", "k"],
    });
    await expectBoth({
      lite: () => li(lite.where("g", "==", "x"), lite.limit(100)),
      admin: () => ai().where("g", "==", "x").limit(100),
      expected: ["m", "p", "q", "z"],
    });
  });

  it("limitToLast (the client flips the order and reverses the result)", async () => {
    expect(await lids(li(lite.orderBy("n"), lite.limitToLast(2)))).toEqual(["m", "a"]);
    expect(await lids(li(lite.orderBy("n"), lite.endBefore("6"), lite.limitToLast(2)))).toEqual(["b", "m"]);
    expect(await lids(li(lite.orderBy("n"), lite.startAfter(1), lite.limitToLast(10)))).toEqual([
      "k",
      "z",
      "b",
      "m",
      "a",
    ]);
    expect(await lids(li(lite.orderBy("g"), lite.limitToLast(3)))).toEqual(["b", "c", "k"]);
    expect(await aids(ai().orderBy("n").limitToLast(3))).toEqual(["b", "m", "a"]);
    expect(await aids(ai().orderBy("g", "desc").limitToLast(2))).toEqual(["p", "m"]);
  });

  it("offset (admin)", async () => {
    expect(await aids(ai().orderBy("n").offset(2).limit(3))).toEqual(["k", "z", "b"]);
    expect(await aids(ai().where("g", "==", "x").offset(1))).toEqual(["p", "q", "z"]);
    expect(await aids(ai().offset(8))).toEqual([]);
    expect(await aids(ai().offset(100).limit(1))).toEqual([]);
  });

  it("select() projections (admin)", async () => {
    const snap = await ai().where("g", "==", "y").select("s", "n").get();
    expect(snap.docs.map((d) => [d.id, d.data()])).toEqual([
      ["a", { s: "fig", n: "6" }],
      ["b", { s: "date", n: 4 }],
      ["c", { s: "kiwi" }],
      ["k", { s: "banana", n: 2 }],
    ]);
    const nested = await ai().orderBy("info.color").select("info.color").get();
    expect(nested.docs.map((d) => [d.id, d.data()])).toEqual([
      ["p", { info: { color: "green" } }],
      ["k", { info: { color: "yellow" } }],
    ]);
    // select() with no fields: names only.
    const none = await ai().select().get();
    expect(none.docs.map((d) => [d.id, d.data()])).toEqual(
      ["a", "b", "c", "k", "m", "p", "q", "z"].map((id) => [id, {}]),
    );
    // The filter and the order still apply to fields outside the projection.
    const filtered = await ai().where("n", ">", 2).select("g").get();
    expect(filtered.docs.map((d) => [d.id, d.data()])).toEqual([
      ["z", { g: "x" }],
      ["b", { g: "y" }],
      ["m", { g: "x" }],
    ]);
  });

  it("select() of __name__ over the wire returns documents without fields", async () => {
    const res = await rest("POST", `${DB}/documents:runQuery`, {
      structuredQuery: {
        from: [{ collectionId: "items" }],
        select: { fields: [{ fieldPath: "__name__" }] },
        where: { fieldFilter: { field: { fieldPath: "g" }, op: "EQUAL", value: { stringValue: "x" } } },
      },
    });
    expect(res.status).toBe(200);
    const items = res.json as { document?: { name: string; fields?: unknown; updateTime: string } }[];
    expect(items.map((i) => i.document?.name)).toEqual(
      ["m", "p", "q", "z"].map((id) => docName(PROJECT, `items/${id}`)),
    );
    for (const i of items) {
      expect(i.document?.fields ?? {}).toEqual({});
      expect(i.document?.updateTime).toBeDefined();
    }
  });
});

describe("collection groups and sub-collections", () => {
  const ALL = [
    "a/b/c/d/landmarks/l3",
    "groups/g1/landmarks/l1",
    "groups/g1/landmarks/l1/landmarks/l5",
    "groups/g2/landmarks/l2",
    "landmarks/l0",
  ];

  it("collectionGroup finds every collection with that id, at any depth, ordered by full path", async () => {
    expect(await lpaths(lite.query(lite.collectionGroup(l.db, "landmarks")))).toEqual(ALL);
    expect(await apaths(a.collectionGroup("landmarks"))).toEqual(ALL);
    const museums = ["a/b/c/d/landmarks/l3", "groups/g2/landmarks/l2", "landmarks/l0"];
    expect(
      await lpaths(lite.query(lite.collectionGroup(l.db, "landmarks"), lite.where("type", "==", "museum"))),
    ).toEqual(museums);
    expect(await apaths(a.collectionGroup("landmarks").where("type", "==", "museum"))).toEqual(museums);
    const byTypeDesc = [
      "groups/g1/landmarks/l1/landmarks/l5",
      "landmarks/l0",
      "groups/g2/landmarks/l2",
      "a/b/c/d/landmarks/l3",
      "groups/g1/landmarks/l1",
    ];
    expect(await lpaths(lite.query(lite.collectionGroup(l.db, "landmarks"), lite.orderBy("type", "desc")))).toEqual(
      byTypeDesc,
    );
    expect(await apaths(a.collectionGroup("landmarks").orderBy("type", "desc"))).toEqual(byTypeDesc);
    expect(await apaths(a.collectionGroup("nothing"))).toEqual([]);
  });

  it("collection group cursors and limits use the full path", async () => {
    const l1 = await lite.getDoc(lite.doc(l.db, "groups/g1/landmarks/l1"));
    expect(
      await lpaths(lite.query(lite.collectionGroup(l.db, "landmarks"), lite.startAfter(l1), lite.limit(2))),
    ).toEqual(["groups/g1/landmarks/l1/landmarks/l5", "groups/g2/landmarks/l2"]);
    const al1 = await a.doc("groups/g1/landmarks/l1").get();
    expect(await apaths(a.collectionGroup("landmarks").startAfter(al1).limit(2))).toEqual([
      "groups/g1/landmarks/l1/landmarks/l5",
      "groups/g2/landmarks/l2",
    ]);
  });

  it("a query on a sub-collection only sees that parent's direct children", async () => {
    expect(await lpaths(lite.query(lcoll("groups/g1/landmarks")))).toEqual(["groups/g1/landmarks/l1"]);
    expect(await apaths(acoll("groups/g1/landmarks"))).toEqual(["groups/g1/landmarks/l1"]);
    expect(await apaths(a.doc("groups/g1").collection("landmarks").where("type", "==", "bridge"))).toEqual([
      "groups/g1/landmarks/l1",
    ]);
    expect(await apaths(acoll("groups/g1/landmarks/l1/landmarks"))).toEqual(["groups/g1/landmarks/l1/landmarks/l5"]);
    expect(await apaths(acoll("landmarks"))).toEqual(["landmarks/l0"]);
  });

  it("REST: …/documents/groups/g1:runQuery with a collection, with allDescendants, and kindless", async () => {
    const run = async (from: unknown) => {
      const res = await rest("POST", `${DB}/documents/groups/g1:runQuery`, { structuredQuery: { from: [from] } });
      expect(res.status, res.text).toBe(200);
      return (res.json as { document?: { name: string } }[]).flatMap((i) =>
        i.document ? [i.document.name.slice(`${DB}/documents/`.length)] : [],
      );
    };
    expect(await run({ collectionId: "landmarks" })).toEqual(["groups/g1/landmarks/l1"]);
    expect(await run({ collectionId: "landmarks", allDescendants: true })).toEqual([
      "groups/g1/landmarks/l1",
      "groups/g1/landmarks/l1/landmarks/l5",
    ]);
    expect(await run({ allDescendants: true })).toEqual([
      "groups/g1/landmarks/l1",
      "groups/g1/landmarks/l1/landmarks/l5",
    ]);
    // The parent document itself does not exist, and a parent with no children yields nothing.
    const empty = await rest("POST", `${DB}/documents/groups/none:runQuery`, {
      structuredQuery: { from: [{ collectionId: "landmarks" }] },
    });
    expect(empty.status).toBe(200);
    const items = empty.json as Record<string, unknown>[];
    expect(items).toHaveLength(1);
    expect(items[0]?.document).toBeUndefined();
    expect(typeof items[0]?.readTime).toBe("string");
  });
});

describe("transactions with queries (admin)", () => {
  it("runs a query in a transaction and writes based on its results", async () => {
    await a.doc("accounts/acc1").set({ balance: 10 });
    await a.doc("accounts/acc2").set({ balance: 0 });
    await a.doc("accounts/acc3").set({ balance: 25 });
    const total = await a.runTransaction(async (t) => {
      const snap = await t.get(acoll("accounts").where("balance", ">", 0));
      let sum = 0;
      for (const d of snap.docs) {
        sum += d.get("balance") as number;
        t.update(d.ref, { balance: 0 });
      }
      t.set(a.doc("summaries/accounts"), { total: sum, drained: snap.docs.map((d) => d.id) });
      return sum;
    });
    expect(total).toBe(35);
    expect((await a.doc("summaries/accounts").get()).data()).toEqual({ total: 35, drained: ["acc1", "acc3"] });
    expect(await aids(acoll("accounts").where("balance", ">", 0))).toEqual([]);
    expect(await aids(acoll("accounts").where("balance", "==", 0))).toEqual(["acc1", "acc2", "acc3"]);
  });

  it("a transaction whose first read is a query with no results still gets a transaction id and commits", async () => {
    const n = await a.runTransaction(async (t) => {
      const snap = await t.get(acoll("accounts").where("balance", "<", 0));
      t.set(a.doc("summaries/negative"), { count: snap.size });
      return snap.size;
    });
    expect(n).toBe(0);
    expect((await a.doc("summaries/negative").get()).data()).toEqual({ count: 0 });
  });

  it("aggregation queries and read-only transactions", async () => {
    const count = await a.runTransaction(async (t) => {
      const agg = await t.get(acoll("accounts").count());
      const c = agg.data().count;
      t.set(a.doc("summaries/count"), { count: c });
      return c;
    });
    expect(count).toBe(3);
    const viaAggregate = await a.runTransaction(async (t) => {
      const agg = await t.get(acoll("items").aggregate({ n: AggregateField.count(), total: AggregateField.sum("n") }));
      return agg.data();
    });
    // With sum("n") beside it, count() sees only the documents that have `n` (7 of the 8).
    expect(viaAggregate).toEqual({ n: 7, total: 15.5 });
    const ids = await a.runTransaction(async (t) => (await t.get(ai().where("g", "==", "x"))).docs.map((d) => d.id), {
      readOnly: true,
    });
    expect(ids).toEqual(["m", "p", "q", "z"]);
  });

  it("REST: runQuery with newTransaction returns the transaction in the first element", async () => {
    const res = await rest("POST", `${DB}/documents:runQuery`, {
      structuredQuery: {
        from: [{ collectionId: "items" }],
        where: { fieldFilter: { field: { fieldPath: "g" }, op: 5, value: { stringValue: "y" } } },
      },
      newTransaction: { readWrite: {} },
    });
    expect(res.status, res.text).toBe(200);
    const items = res.json as { transaction?: string; document?: { name: string } }[];
    expect(typeof items[0]?.transaction).toBe("string");
    expect(items.map((i) => i.document?.name.split("/").pop())).toEqual(["a", "b", "c", "k"]);
    const rb = await rest("POST", `${DB}/documents:rollback`, { transaction: items[0]?.transaction });
    expect(rb.status, rb.text).toBe(200);
  });
});

describe("wire shapes", () => {
  it("lite and admin enum spellings (names and numbers) give the same results; no match is [{readTime}]", async () => {
    const q = (op: string | number, dir: string | number) => ({
      structuredQuery: {
        from: [{ collectionId: "items" }],
        where: { fieldFilter: { field: { fieldPath: "n" }, op, value: { integerValue: "2" } } },
        orderBy: [{ field: { fieldPath: "n" }, direction: dir }],
      },
    });
    const names = async (body: unknown) => {
      const res = await rest("POST", `${DB}/documents:runQuery`, body);
      expect(res.status, res.text).toBe(200);
      return (res.json as { document?: { name: string } }[]).map((i) => i.document?.name.split("/").pop());
    };
    expect(await names(q("GREATER_THAN", "DESCENDING"))).toEqual(["m", "b", "z"]);
    expect(await names(q(3, 2))).toEqual(["m", "b", "z"]);
    // A double operand compares equal to an integer value.
    const eq = await names({
      structuredQuery: {
        from: [{ collectionId: "items" }],
        where: { fieldFilter: { field: { fieldPath: "n" }, op: "EQUAL", value: { doubleValue: 2.0 } } },
      },
    });
    expect(eq).toEqual(["k"]);
    const none = await rest("POST", `${DB}/documents:runQuery`, q("GREATER_THAN", "ASCENDING"));
    const res = await rest("POST", `${DB}/documents:runQuery`, {
      structuredQuery: {
        from: [{ collectionId: "items" }],
        where: { fieldFilter: { field: { fieldPath: "n" }, op: "GREATER_THAN", value: { integerValue: "100" } } },
      },
    });
    expect(none.status).toBe(200);
    expect(res.status).toBe(200);
    expect(res.text.startsWith("[")).toBe(true);
    const items = res.json as Record<string, unknown>[];
    expect(items).toHaveLength(1);
    expect(items[0]?.document).toBeUndefined();
    expect(typeof items[0]?.readTime).toBe("string");
  });
});

/** Asserts an admin REST error: HTTP status as code, INVALID_ARGUMENT in the JSON body, a message matching `re`. */
function expectAdminInvalid(e: { code?: unknown; message: string }, re: RegExp): void {
  const error = adminError(e);
  expect(error).toMatchObject({ http: 400, status: "INVALID_ARGUMENT" });
  expect(error.message).toMatch(re);
}

/** Posts a raw query and asserts 400 INVALID_ARGUMENT with a message matching `re`. */
async function expectRestInvalid(structuredQuery: unknown, re: RegExp): Promise<void> {
  const res = await rest("POST", `${DB}/documents:runQuery`, { structuredQuery });
  expect(res.status, res.text).toBe(400);
  const body = res.json as { error: { code: number; status: string; message: string } };
  expect(body.error.code).toBe(400);
  expect(body.error.status).toBe("INVALID_ARGUMENT");
  expect(body.error.message).toMatch(re);
}

describe("invalid queries the server must reject", () => {
  const from = [{ collectionId: "items" }];
  const int = (n: number) => ({ integerValue: String(n) });
  const eqN = (n: number) => ({ fieldFilter: { field: { fieldPath: "n" }, op: "EQUAL", value: int(n) } });

  it("not-in with 11 values: both SDKs pass it through, the server answers 400", async () => {
    const values = Array.from({ length: 11 }, (_, i) => i);
    const le = await rejection(() => lite.getDocs(li(lite.where("n", "not-in", values))));
    expect(le.code).toBe("failed-precondition"); // lite's mapping of HTTP 400
    expect(le.message).toMatch(/NOT_IN|not-in/i);
    expectAdminInvalid(await rejection(() => ai().where("n", "not-in", values).get()), /NOT_IN|not-in/i);
    // 10 values are fine.
    expect(await aids(ai().where("n", "not-in", values.slice(0, 10)))).toEqual(["m", "a"]);
  });

  it("more than 30 disjunctions (in with 31 values, an AND of two 6-value ins, a 31-branch or)", async () => {
    const v31 = Array.from({ length: 31 }, (_, i) => i);
    const v6 = [1, 2, 3, 4, 5, 6];
    const le = await rejection(() => lite.getDocs(li(lite.where("n", "in", v31))));
    expect(le.code).toBe("failed-precondition");
    expect(le.message).toMatch(/disjunction/i);
    expectAdminInvalid(await rejection(() => ai().where("n", "in", v31).get()), /disjunction/i);
    expectAdminInvalid(await rejection(() => ai().where("n", "in", v6).where("m", "in", v6).get()), /disjunction/i);
    const le2 = await rejection(() =>
      lite.getDocs(lite.query(lcoll("items"), lite.or(...v31.map((v) => lite.where("n", "==", v))))),
    );
    expect(le2.code).toBe("failed-precondition");
    expect(le2.message).toMatch(/disjunction/i);
    expectAdminInvalid(
      await rejection(() => ai().where("tags", "array-contains-any", v31.map(String)).get()),
      /disjunction/i,
    );
    // 30 are fine.
    expect(await aids(ai().where("n", "in", v31.slice(0, 30)))).toEqual(["b", "k", "p", "z"]);
    await expectRestInvalid({ from, where: { compositeFilter: { op: "OR", filters: v31.map(eqN) } } }, /disjunction/i);
  });

  it("a cursor with more values than the (normalized) order", async () => {
    // orderBy n normalizes to [n, __name__]: two values are fine, three are not.
    const ref = { referenceValue: docName(PROJECT, "items/k") };
    const ok = await rest("POST", `${DB}/documents:runQuery`, {
      structuredQuery: { from, orderBy: [{ field: { fieldPath: "n" } }], startAt: { values: [int(2), ref] } },
    });
    expect(ok.status, ok.text).toBe(200);
    expect((ok.json as { document?: { name: string } }[]).map((i) => i.document?.name.split("/").pop())).toEqual([
      "z",
      "b",
      "m",
      "a",
    ]);
    await expectRestInvalid(
      { from, orderBy: [{ field: { fieldPath: "n" } }], startAt: { values: [int(2), ref, int(3)] } },
      /cursor/i,
    );
    await expectRestInvalid({ from, endAt: { values: [ref, ref] } }, /cursor/i);
    // A __name__ cursor value must be a reference.
    await expectRestInvalid(
      { from, orderBy: [{ field: { fieldPath: "n" } }], startAt: { values: [int(2), { stringValue: "k" }] } },
      /__name__|reference/i,
    );
  });

  it("!= together with not-in (admin passes it through)", async () => {
    expectAdminInvalid(
      await rejection(() => ai().where("n", "!=", 1).where("s", "not-in", ["a"]).get()),
      /NOT_IN|NOT_EQUAL|not-in|!=/i,
    );
    // Two != filters on different fields.
    expectAdminInvalid(await rejection(() => ai().where("n", "!=", 1).where("s", "!=", "a").get()), /NOT_EQUAL|!=/i);
  });

  it("malformed structured queries: duplicate orderBy, negative offset/limit, bad operator, empty in", async () => {
    await expectRestInvalid(
      { from, orderBy: [{ field: { fieldPath: "n" } }, { field: { fieldPath: "n" }, direction: "DESCENDING" }] },
      /duplicate/i,
    );
    await expectRestInvalid({ from, offset: -1 }, /offset/i);
    await expectRestInvalid({ from, limit: -1 }, /limit/i);
    await expectRestInvalid(
      { from, where: { fieldFilter: { field: { fieldPath: "n" }, op: "LIKE", value: int(1) } } },
      /op|operator|LIKE/i,
    );
    await expectRestInvalid(
      { from, where: { fieldFilter: { field: { fieldPath: "n" }, op: "IN", value: { arrayValue: {} } } } },
      /IN/,
    );
    await expectRestInvalid(
      { from, where: { fieldFilter: { field: { fieldPath: "n" }, op: "IN", value: int(1) } } },
      /arrayValue|array/i,
    );
    await expectRestInvalid({ from: [] }, /collection|from/i);
    await expectRestInvalid(
      {
        from,
        where: {
          fieldFilter: { field: { fieldPath: "__name__" }, op: "EQUAL", value: { stringValue: "items/k" } },
        },
      },
      /__name__|reference/i,
    );
  });
});

describe("value encoding edge cases (exact types written over REST)", () => {
  const int = (s: string) => ({ integerValue: s });
  const dbl = (n: number) => ({ doubleValue: n });
  const put = async (coll: string, docs: Record<string, Record<string, unknown>>) => {
    const writes = Object.entries(docs).map(([id, fields]) => ({
      update: { name: docName(PROJECT, `${coll}/${id}`), fields },
    }));
    const res = await rawCommit(PROJECT, writes);
    expect(res.status, res.text).toBe(200);
  };
  const restIds = async (structuredQuery: Record<string, unknown>) => {
    const res = await rest("POST", `${DB}/documents:runQuery`, { structuredQuery });
    expect(res.status, res.text).toBe(200);
    return (res.json as { document?: { name: string } }[]).flatMap((i) =>
      i.document ? [i.document.name.split("/").pop()] : [],
    );
  };
  const where = (op: string, value: unknown) => ({ fieldFilter: { field: { fieldPath: "v" }, op, value } });

  it("int64 and double compare exactly (beyond 2^53, around ±2^63); 1 equals 1.0", async () => {
    await put("nums", {
      n1: { v: int("9007199254740993") }, // 2^53 + 1
      n2: { v: dbl(9007199254740992) }, // 2^53 as a double
      n3: { v: int("9007199254740992") }, // 2^53 as an int
      n4: { v: int("-9223372036854775808") },
      n5: { v: dbl(-1e19) },
      n6: { v: int("9223372036854775807") },
      n7: { v: dbl(2 ** 63) }, // 2^63, above every int64
      n8: { v: dbl(0.5) },
      n9: { v: int("1") },
      n10: { v: dbl(1) },
    });
    const asc = ["n5", "n4", "n8", "n10", "n9", "n2", "n3", "n1", "n6", "n7"];
    expect(await aids(acoll("nums").orderBy("v"))).toEqual(asc);
    expect(await lids(lite.query(lcoll("nums"), lite.orderBy("v", "desc")))).toEqual([
      "n7",
      "n6",
      "n1",
      "n3",
      "n2",
      "n9",
      "n10",
      "n8",
      "n4",
      "n5",
    ]);
    const from = [{ collectionId: "nums" }];
    expect(await restIds({ from, where: where("EQUAL", int("9007199254740993")) })).toEqual(["n1"]);
    expect(await restIds({ from, where: where("EQUAL", dbl(9007199254740992)) })).toEqual(["n2", "n3"]);
    expect(await restIds({ from, where: where("GREATER_THAN", int("9007199254740992")) })).toEqual(["n1", "n6", "n7"]);
    expect(await restIds({ from, where: where("LESS_THAN", int("-9223372036854775808")) })).toEqual(["n5"]);
    expect(await restIds({ from, where: where("GREATER_THAN", int("9223372036854775807")) })).toEqual(["n7"]);
    expect(await restIds({ from, where: where("EQUAL", dbl(1)) })).toEqual(["n10", "n9"]);
    expect(await restIds({ from, where: where("IN", { arrayValue: { values: [int("1")] } }) })).toEqual(["n10", "n9"]);
    expect(await restIds({ from, where: where("NOT_IN", { arrayValue: { values: [int("1"), dbl(0.5)] } }) })).toEqual([
      "n5",
      "n4",
      "n2",
      "n3",
      "n1",
      "n6",
      "n7",
    ]);
    // Cursors compare the same way.
    expect(
      await restIds({
        from,
        orderBy: [{ field: { fieldPath: "v" } }],
        startAt: { values: [dbl(9007199254740992)], before: false },
      }),
    ).toEqual(["n1", "n6", "n7"]);
  });

  it("strings order by UTF-8 bytes, NUL included; bytes order bytewise", async () => {
    const strings = ["", "a", "a\u0000", "a\u0000b", "a\u0001", "ab", "b", "é", "\uFB01", "😀"];
    const sdocs: Record<string, Record<string, unknown>> = {};
    // Ids in reverse, so name order is the opposite of value order.
    strings.forEach((s, i) => {
      sdocs[`s${String(strings.length - i).padStart(2, "0")}`] = { v: { stringValue: s } };
    });
    await put("strs", sdocs);
    const sAsc = strings.map((_, i) => `s${String(strings.length - i).padStart(2, "0")}`);
    expect(await aids(acoll("strs").orderBy("v"))).toEqual(sAsc);
    expect(await lids(lite.query(lcoll("strs"), lite.orderBy("v")))).toEqual(sAsc);
    // ["a\0", "a\u0001"): a\0 and a\0b.
    expect(
      await lids(lite.query(lcoll("strs"), lite.where("v", ">=", "a\u0000"), lite.where("v", "<", "a\u0001"))),
    ).toEqual(["s08", "s07"]);
    expect(await aids(acoll("strs").where("v", ">", "a").where("v", "<", "ab"))).toEqual(["s08", "s07", "s06"]);
    expect(await aids(acoll("strs").where("v", "==", "a\u0000"))).toEqual(["s08"]);

    const bytes = ["", "AA==", "AAA=", "AP8=", "AQ==", "/w==", "/wA="]; // [], [0], [0,0], [0,255], [1], [255], [255,0]
    const bdocs: Record<string, Record<string, unknown>> = {};
    bytes.forEach((b, i) => {
      bdocs[`b${bytes.length - i}`] = { v: { bytesValue: b } };
    });
    await put("bytes", bdocs);
    const bAsc = bytes.map((_, i) => `b${bytes.length - i}`);
    expect(await aids(acoll("bytes").orderBy("v"))).toEqual(bAsc);
    expect(await lids(lite.query(lcoll("bytes"), lite.orderBy("v", "desc")))).toEqual([...bAsc].reverse());
    expect(
      await lids(lite.query(lcoll("bytes"), lite.where("v", ">", lite.Bytes.fromUint8Array(new Uint8Array([0, 0]))))),
    ).toEqual(["b4", "b3", "b2", "b1"]);
    expect(await aids(acoll("bytes").where("v", "==", Buffer.from([0, 255])))).toEqual(["b4"]);
  });

  it("maps order by sorted keys, then values, then size", async () => {
    const m = (fields: Record<string, unknown>) => ({ mapValue: { fields } });
    const maps = [
      { mapValue: {} },
      m({ B: int("1") }),
      m({ a: int("1") }),
      m({ a: int("1"), b: int("0") }),
      m({ a: int("2") }),
      m({ a: m({ b: int("1") }) }),
      m({ a: m({ c: int("0") }) }),
      m({ b: int("0") }),
    ];
    const docs: Record<string, Record<string, unknown>> = {};
    maps.forEach((v, i) => {
      docs[`m${maps.length - i}`] = { v };
    });
    await put("maps", docs);
    const asc = maps.map((_, i) => `m${maps.length - i}`);
    expect(await aids(acoll("maps").orderBy("v"))).toEqual(asc);
    expect(await lids(lite.query(lcoll("maps"), lite.orderBy("v")))).toEqual(asc);
    expect(await aids(acoll("maps").where("v", "==", { a: 1, b: 0 }))).toEqual(["m5"]);
    expect(await aids(acoll("maps").where("v", ">", { a: 2 }))).toEqual(["m3", "m2", "m1"]);
    // Filters and orders on nested fields see into the maps.
    expect(await aids(acoll("maps").where("v.a", ">=", 1))).toEqual(["m5", "m6", "m4"]);
    expect(await lids(lite.query(lcoll("maps"), lite.orderBy("v.a.b")))).toEqual(["m3"]);
  });

  it("field paths that need quoting (dots, backticks, non-identifiers)", async () => {
    await a.doc("fp/f1").set({ "a.b": 1, a: { b: 2 }, "we`ird": 3, ü: 1, "1num": 5 });
    await a.doc("fp/f2").set({ "a.b": 2, a: { b: 1 } });
    const dotted = new FieldPath("a.b");
    expect(await aids(acoll("fp").where(dotted, "==", 1))).toEqual(["f1"]);
    expect(await aids(acoll("fp").where("a.b", "==", 1))).toEqual(["f2"]);
    expect(await lids(lite.query(lcoll("fp"), lite.where(new lite.FieldPath("a.b"), "==", 1)))).toEqual(["f1"]);
    expect(await lids(lite.query(lcoll("fp"), lite.where("a.b", "==", 1)))).toEqual(["f2"]);
    expect(await aids(acoll("fp").orderBy(dotted))).toEqual(["f1", "f2"]);
    expect(await lids(lite.query(lcoll("fp"), lite.orderBy("a.b")))).toEqual(["f2", "f1"]);
    expect(await aids(acoll("fp").where(new FieldPath("we`ird"), "==", 3))).toEqual(["f1"]);
    expect(await lids(lite.query(lcoll("fp"), lite.where(new lite.FieldPath("we`ird"), ">", 0)))).toEqual(["f1"]);
    expect(await aids(acoll("fp").where("ü", "==", 1))).toEqual(["f1"]);
    expect(await aids(acoll("fp").where(new FieldPath("1num"), "==", 5))).toEqual(["f1"]);
    expect((await acoll("fp").select(dotted).get()).docs.map((d) => d.data())).toEqual([{ "a.b": 1 }, { "a.b": 2 }]);
  });

  it("in / not-in / != with array operands, and != inside or()", async () => {
    await expectBoth({
      lite: () => li(lite.where("tags", "in", [["red"], ["brown"]])),
      admin: () => ai().where("tags", "in", [["red"], ["brown"]]),
      expected: ["a", "b"],
    });
    await expectBoth({
      lite: () => li(lite.where("tags", "not-in", [["red"], []])),
      admin: () => ai().where("tags", "not-in", [["red"], []]),
      expected: ["q", "b", "p", "z", "k"],
    });
    await expectBoth({
      lite: () => li(lite.where("tags", "!=", ["red"])),
      admin: () => ai().where("tags", "!=", ["red"]),
      expected: ["q", "m", "b", "p", "z", "k"],
    });
    await expectBoth({
      lite: () => li(lite.where("tags", "array-contains-any", [1, "small"])),
      admin: () => ai().where("tags", "array-contains-any", [1, "small"]),
      expected: ["z"],
    });
    await expectBoth({
      lite: () => lite.query(lcoll("items"), lite.or(lite.where("n", "!=", 1), lite.where("s", "==", "kiwi"))),
      admin: () => ai().where(Filter.or(Filter.where("n", "!=", 1), Filter.where("s", "==", "kiwi"))),
      expected: ["k", "z", "b", "m", "a"],
    });
    await expectBoth({
      lite: () => li(lite.orderBy("g"), lite.orderBy("n", "desc"), lite.startAfter("x", 3)),
      admin: () => ai().orderBy("g").orderBy("n", "desc").startAfter("x", 3),
      expected: ["p", "q", "a", "b", "k"],
    });
  });
});

describe("queries follow writes", () => {
  it("updates, deletes, removed fields and transforms are reflected; readTime queries see the past", async () => {
    const mc = () => acoll("mut");
    const [w] = await a
      .batch()
      .set(a.doc("mut/m1"), { v: 1 })
      .set(a.doc("mut/m2"), { v: 2 })
      .set(a.doc("mut/m3"), { v: 3 })
      .commit();
    const before = w!.writeTime;
    expect(await aids(mc().where("v", ">=", 2))).toEqual(["m2", "m3"]);

    await a.doc("mut/m1").update({ v: 5 });
    await a.doc("mut/m2").delete();
    await a.doc("mut/m3").set({ w: 1 });
    expect(await aids(mc().where("v", ">=", 2))).toEqual(["m1"]);
    expect(await lids(lite.query(lcoll("mut"), lite.orderBy("v")))).toEqual(["m1"]);
    expect(await aids(mc().where("w", "==", 1))).toEqual(["m3"]);

    await a.doc("mut/m2").set({ v: [2] });
    expect(await aids(mc().where("v", "array-contains", 2))).toEqual(["m2"]);
    expect(await aids(mc().where("v", ">=", 2))).toEqual(["m1"]);

    const t0 = AdminTimestamp.now();
    await a.doc("mut/m1").update({ t: FieldValue.serverTimestamp() });
    await a.doc("mut/m3").update({ v: FieldValue.increment(10) });
    await a.doc("mut/m2").update({ v: FieldValue.arrayUnion(7) });
    expect(await aids(mc().where("t", ">", new AdminTimestamp(t0.seconds - 60, 0)))).toEqual(["m1"]);
    expect(await aids(mc().where("v", ">=", 2))).toEqual(["m1", "m3"]);
    expect(await lids(lite.query(lcoll("mut"), lite.where("v", "array-contains", 7)))).toEqual(["m2"]);
    await a.doc("mut/m2").update({ v: FieldValue.arrayRemove(2, 7) });
    expect(await aids(mc().where("v", "array-contains-any", [2, 7]))).toEqual([]);
    expect(await aids(mc().where("v", "==", []))).toEqual(["m2"]);

    // The same query at the first commit's time sees the original documents.
    const past = await a.runTransaction((t) => t.get(mc().where("v", ">=", 2)), { readOnly: true, readTime: before });
    expect(past.docs.map((d) => [d.id, d.get("v")])).toEqual([
      ["m2", 2],
      ["m3", 3],
    ]);
    const pastCount = await a.runTransaction(async (t) => (await t.get(mc().count())).data().count, {
      readOnly: true,
      readTime: before,
    });
    expect(pastCount).toBe(3);
  });
});

describe("named databases", () => {
  it("queries, collection groups and counts stay inside their database", async () => {
    const other = l.database("otherdb");
    const aOther = adminClient(PROJECT, { databaseId: "otherdb" });
    try {
      await lite.setDoc(lite.doc(other, "items/only-other"), { n: 100, g: "x" });
      await lite.setDoc(lite.doc(other, "deep/d/landmarks/lo"), { type: "museum" });
      expect(await lids(lite.query(lite.collection(other, "items"), lite.where("n", ">", 0)))).toEqual(["only-other"]);
      expect(await aids(aOther.collection("items").where("g", "==", "x"))).toEqual(["only-other"]);
      expect(await apaths(aOther.collectionGroup("landmarks"))).toEqual(["deep/d/landmarks/lo"]);
      expect((await lite.getCount(lite.query(lite.collection(other, "items")))).data()).toEqual({ count: 1 });
      // And the default database does not see them.
      expect(await aids(ai().where("n", ">=", 100))).toEqual([]);
      expect((await apaths(a.collectionGroup("landmarks"))).includes("deep/d/landmarks/lo")).toBe(false);
    } finally {
      await aOther.terminate();
    }
  });
});
