/**
 * Aggregations (`:runAggregationQuery`: count/sum/avg with lite's `getCount`/`getAggregate` and the
 * admin SDK's `count()`/`aggregate()`), query and aggregation explain (`explainOptions`),
 * `collectionGroup().getPartitions()` (`:partitionQuery`) and `recursiveDelete()` (kindless
 * `:runQuery` + `:batchWrite`).
 *
 * Explain expectations follow nodejs-firestore's system tests, which run against production:
 * `analyze:false` gives a plan and no results; `analyze:true` gives results and `executionStats`
 * with a non-zero duration, `resultsReturned` = documents returned (1 for an aggregation).
 */
import type * as admin from "@google-cloud/firestore";
import { AggregateField, FieldPath } from "@google-cloud/firestore";
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

const PROJECT = uniqueProject("aggregations");
const DB = `projects/${PROJECT}/databases/(default)`;
let l: LiteClient;
let a: admin.Firestore;

/**
 * `sales`: qty sums to 18 over three ints (s4's qty is a string, s5 has none); price mixes
 * doubles and an int and sums to 8. A sub-collection `stores/x/sales` adds one more for the group.
 */
const SALES: Record<string, Record<string, unknown>> = {
  s1: { region: "eu", qty: 3, price: 1.5 },
  s2: { region: "eu", qty: 5, price: 2.25 },
  s3: { region: "us", qty: 10, price: 0.25 },
  s4: { region: "us", qty: "n/a", price: 4 },
  s5: { region: "apac" },
};

/** Minimum partition size in production is 128: 383 documents allow 3 partitions. */
const PART_DOCS = 2 * 128 + 127;
const partPath = (i: number) => {
  const id = `p${String(i).padStart(3, "0")}`;
  if (i % 3 === 0) return `parts/${id}`;
  if (i % 3 === 1) return `pa/x/parts/${id}`;
  return `pa/y/z/w/parts/${id}`;
};

beforeAll(async () => {
  l = liteClient(PROJECT);
  a = adminClient(PROJECT);
  const batch = a.batch();
  for (const [id, data] of Object.entries(SALES)) batch.set(a.doc(`sales/${id}`), data);
  batch.set(a.doc("stores/x/sales/t1"), { region: "eu", qty: 7, price: 1 });
  batch.set(a.doc("nan/n1"), { v: 1, w: 1 });
  batch.set(a.doc("nan/n2"), { v: Number.NaN, w: Number.POSITIVE_INFINITY });
  await batch.commit();
  const parts = a.batch();
  for (let i = 0; i < PART_DOCS; i++) parts.set(a.doc(partPath(i)), { i });
  parts.set(a.doc("partsX/other"), { i: -1 });
  parts.set(a.doc("pa/x/partsX/other"), { i: -1 });
  await parts.commit();
  // int64 extremes need raw integerValues (JS numbers lose precision above 2^53).
  const res = await rawCommit(PROJECT, [
    { update: { name: docName(PROJECT, "big/b1"), fields: { v: { integerValue: "9223372036854775807" } } } },
    { update: { name: docName(PROJECT, "big/b2"), fields: { v: { integerValue: "1" } } } },
    { update: { name: docName(PROJECT, "big/b3"), fields: { w: { integerValue: "-9223372036854775808" } } } },
    { update: { name: docName(PROJECT, "big/b4"), fields: { w: { integerValue: "-1" } } } },
    { update: { name: docName(PROJECT, "big/b5"), fields: { x: { integerValue: "4611686018427387904" } } } },
    { update: { name: docName(PROJECT, "big/b6"), fields: { x: { integerValue: "4611686018427387903" } } } },
  ]);
  expect(res.status, res.text).toBe(200);
});

afterAll(async () => {
  await l.close();
  await a.terminate();
});

const lsales = (...c: lite.QueryConstraint[]) => lite.query(lite.collection(l.db, "sales"), ...c);
const asales = () => a.collection("sales");

describe("count, sum, average", () => {
  it("lite getCount / getAggregate", async () => {
    expect((await lite.getCount(lsales())).data()).toEqual({ count: 5 });
    expect((await lite.getCount(lsales(lite.where("region", "==", "eu")))).data()).toEqual({ count: 2 });
    const all = await lite.getAggregate(lsales(), {
      n: lite.count(),
      total: lite.sum("qty"),
      mean: lite.average("qty"),
      ptotal: lite.sum("price"),
      pmean: lite.average("price"),
    });
    // Several aggregations see only documents that have every aggregated field (qty and price):
    // the fifth sale lacks one of them, so count() says 4 here although the collection holds 5.
    expect(all.data()).toEqual({ n: 4, total: 18, mean: 6, ptotal: 8, pmean: 2 });
    const eu = await lite.getAggregate(lsales(lite.where("region", "==", "eu")), {
      total: lite.sum("qty"),
      pmean: lite.average("price"),
    });
    expect(eu.data()).toEqual({ total: 8, pmean: 1.875 });
    const big = await lite.getAggregate(lsales(lite.where("qty", ">", 4)), {
      n: lite.count(),
      total: lite.sum("qty"),
      mean: lite.average("qty"),
    });
    expect(big.data()).toEqual({ n: 2, total: 15, mean: 7.5 });
  });

  it("admin count() / aggregate()", async () => {
    expect((await asales().count().get()).data()).toEqual({ count: 5 });
    expect((await asales().where("region", "in", ["us", "apac"]).count().get()).data()).toEqual({ count: 3 });
    const all = await asales()
      .aggregate({
        n: AggregateField.count(),
        total: AggregateField.sum("qty"),
        mean: AggregateField.average("qty"),
        ptotal: AggregateField.sum("price"),
        pmean: AggregateField.average("price"),
      })
      .get();
    // Several aggregations see only documents that have every aggregated field (qty and price):
    // the fifth sale lacks one of them, so count() says 4 here although the collection holds 5.
    expect(all.data()).toEqual({ n: 4, total: 18, mean: 6, ptotal: 8, pmean: 2 });
    const us = await asales()
      .where("region", "==", "us")
      .aggregate({ total: AggregateField.sum("qty"), pmean: AggregateField.average("price") })
      .get();
    expect(us.data()).toEqual({ total: 10, pmean: 2.125 });
  });

  it("empty results: count 0, sum 0, average null (both SDKs)", async () => {
    const none = lsales(lite.where("region", "==", "none"));
    expect((await lite.getCount(none)).data()).toEqual({ count: 0 });
    expect(
      (await lite.getAggregate(none, { n: lite.count(), total: lite.sum("qty"), mean: lite.average("qty") })).data(),
    ).toEqual({ n: 0, total: 0, mean: null });
    const anone = await asales()
      .where("region", "==", "none")
      .aggregate({ n: AggregateField.count(), total: AggregateField.sum("qty"), mean: AggregateField.average("qty") })
      .get();
    expect(anone.data()).toEqual({ n: 0, total: 0, mean: null });
    // A field no document has: sum 0, average null, and count 0 beside them (only documents with
    // every aggregated field count); alone, count() still counts them all.
    const missing = await lite.getAggregate(lsales(), {
      n: lite.count(),
      total: lite.sum("nope"),
      mean: lite.average("nope"),
    });
    expect(missing.data()).toEqual({ n: 0, total: 0, mean: null });
    expect((await lite.getAggregate(lsales(), { n: lite.count() })).data()).toEqual({ n: 5 });
  });

  it("aggregations over queries with limits and orders", async () => {
    // orderBy qty keeps s1 (3), s2 (5), s3 (10), s4 ("n/a"); limit 2 → s1, s2.
    const q = lsales(lite.orderBy("qty"), lite.limit(2));
    expect((await lite.getCount(q)).data()).toEqual({ count: 2 });
    expect((await lite.getAggregate(q, { total: lite.sum("qty"), mean: lite.average("price") })).data()).toEqual({
      total: 8,
      mean: 1.875,
    });
    expect((await lite.getCount(lsales(lite.limit(3)))).data()).toEqual({ count: 3 });
    expect((await lite.getCount(lsales(lite.orderBy("qty")))).data()).toEqual({ count: 4 });
    const aq = asales().orderBy("qty", "desc").limit(2);
    // desc: s4 ("n/a", strings sort after numbers), s3 (10).
    expect((await aq.count().get()).data()).toEqual({ count: 2 });
    expect((await aq.aggregate({ total: AggregateField.sum("qty") }).get()).data()).toEqual({ total: 10 });
    expect((await asales().offset(4).count().get()).data()).toEqual({ count: 1 });
  });

  it("collection groups and sub-collections", async () => {
    expect((await lite.getCount(lite.query(lite.collectionGroup(l.db, "sales")))).data()).toEqual({ count: 6 });
    const g = await a
      .collectionGroup("sales")
      .where("region", "==", "eu")
      .aggregate({ n: AggregateField.count(), total: AggregateField.sum("qty") })
      .get();
    expect(g.data()).toEqual({ n: 3, total: 15 });
    expect((await a.collection("stores/x/sales").count().get()).data()).toEqual({ count: 1 });
  });

  it("NaN and Infinity propagate through sum and average", async () => {
    const ln = lite.query(lite.collection(l.db, "nan"));
    const r = await lite.getAggregate(ln, {
      sv: lite.sum("v"),
      av: lite.average("v"),
      sw: lite.sum("w"),
      aw: lite.average("w"),
    });
    expect(r.data()).toEqual({
      sv: Number.NaN,
      av: Number.NaN,
      sw: Number.POSITIVE_INFINITY,
      aw: Number.POSITIVE_INFINITY,
    });
  });

  it("wire: int sums are integerValue, double sums and averages doubleValue, aliases echoed, count upTo", async () => {
    const run = async (structuredQuery: unknown, aggregations: unknown[]) => {
      const res = await rest("POST", `${DB}/documents:runAggregationQuery`, {
        structuredAggregationQuery: { structuredQuery, aggregations },
      });
      expect(res.status, res.text).toBe(200);
      expect(res.text.startsWith("[")).toBe(true);
      const items = res.json as { result?: { aggregateFields: Record<string, unknown> }; readTime?: string }[];
      expect(items).toHaveLength(1);
      expect(typeof items[0]?.readTime).toBe("string");
      return items[0]?.result?.aggregateFields;
    };
    const f = (fieldPath: string) => ({ field: { fieldPath } });
    expect(
      await run({ from: [{ collectionId: "sales" }] }, [
        { alias: "total_qty", sum: f("qty") },
        { alias: "total_price", sum: f("price") },
        { alias: "avg qty", avg: f("qty") },
        { alias: "n", count: {} },
        { alias: "upto", count: { upTo: "3" } },
      ]),
    ).toEqual({
      total_qty: { integerValue: "18" },
      total_price: { doubleValue: 8 },
      "avg qty": { doubleValue: 6 },
      n: { integerValue: "4" }, // every aggregated field present: 4 of the 5 sales
      upto: { integerValue: "3" },
    });
    const none = {
      from: [{ collectionId: "sales" }],
      where: { fieldFilter: { field: { fieldPath: "region" }, op: "EQUAL", value: { stringValue: "none" } } },
    };
    const empty = await run(none, [
      { alias: "s", sum: f("qty") },
      { alias: "a", avg: f("qty") },
      { alias: "c", count: {} },
    ]);
    expect(empty?.s).toEqual({ integerValue: "0" });
    expect(empty?.c).toEqual({ integerValue: "0" });
    expect(Object.keys(empty?.a as object)).toEqual(["nullValue"]);
    // count.upTo above the number of matches does not change it.
    expect(await run({ from: [{ collectionId: "sales" }] }, [{ alias: "c", count: { upTo: 100 } }])).toEqual({
      c: { integerValue: "5" },
    });
  });

  it("wire: int64 overflow makes the sum a double", async () => {
    const agg = async (field: string) => {
      const res = await rest("POST", `${DB}/documents:runAggregationQuery`, {
        structuredAggregationQuery: {
          structuredQuery: { from: [{ collectionId: "big" }] },
          aggregations: [
            { alias: "s", sum: { field: { fieldPath: field } } },
            { alias: "a", avg: { field: { fieldPath: field } } },
          ],
        },
      });
      expect(res.status, res.text).toBe(200);
      return (
        res.json as [{ result: { aggregateFields: { s: Record<string, unknown>; a: Record<string, unknown> } } }]
      )[0].result.aggregateFields;
    };
    const v = await agg("v"); // 2^63 - 1 + 1
    expect(Object.keys(v.s)).toEqual(["doubleValue"]);
    expect(Number(v.s.doubleValue)).toBe(2 ** 63);
    expect(Number(v.a.doubleValue)).toBe(2 ** 62);
    const w = await agg("w"); // -2^63 - 1
    expect(Object.keys(w.s)).toEqual(["doubleValue"]);
    expect(Number(w.s.doubleValue)).toBe(-(2 ** 63));
    const x = await agg("x"); // 2^62 + 2^62 - 1 = 2^63 - 1: fits exactly
    expect(x.s).toEqual({ integerValue: "9223372036854775807" });
  });

  it("invalid aggregations are rejected with 400 INVALID_ARGUMENT", async () => {
    const post = (aggregations: unknown) =>
      rest("POST", `${DB}/documents:runAggregationQuery`, {
        structuredAggregationQuery: { structuredQuery: { from: [{ collectionId: "sales" }] }, aggregations },
      });
    const expect400 = (res: { status: number; json: unknown; text: string }, re: RegExp) => {
      expect(res.status, res.text).toBe(400);
      const body = res.json as { error: { status: string; message: string } };
      expect(body.error.status).toBe("INVALID_ARGUMENT");
      expect(body.error.message).toMatch(re);
    };
    expect400(await post(Array.from({ length: 6 }, (_, i) => ({ alias: `c${i}`, count: {} }))), /aggregation/i);
    expect400(
      await post([
        { alias: "x", count: {} },
        { alias: "x", sum: { field: { fieldPath: "qty" } } },
      ]),
      /alias/i,
    );
    expect400(await post([{ alias: "x", count: { upTo: "0" } }]), /upTo/i);
    expect400(await post([{ alias: "x", sum: {} }]), /field/i);
    // The admin SDK lets six aggregations through; the server refuses them.
    const six: Record<string, admin.AggregateField<number>> = {};
    for (let i = 0; i < 6; i++) six[`c${i}`] = AggregateField.count();
    const e = await rejection(() => asales().aggregate(six).get());
    expect(adminError(e)).toMatchObject({ http: 400, status: "INVALID_ARGUMENT" });
    // Lite maps HTTP 400 to failed-precondition.
    const le = await rejection(() =>
      lite.getAggregate(lsales(), {
        a: lite.count(),
        b: lite.count(),
        c: lite.count(),
        d: lite.count(),
        e: lite.count(),
        f: lite.count(),
      }),
    );
    expect(le.code).toBe("failed-precondition");
  });
});

describe("queries and aggregations over more documents than one scan batch", () => {
  const N = 700;
  const rank = (i: number) => (i * 37) % N; // a permutation of 0..699
  const id = (i: number) => `d${String(i).padStart(3, "0")}`;

  beforeAll(async () => {
    for (let start = 0; start < N; start += 350) {
      const batch = a.batch();
      for (let i = start; i < start + 350; i++) batch.set(a.doc(`scan/${id(i)}`), { i, odd: i % 2, r: rank(i) });
      await batch.commit();
    }
  });

  const all = Array.from({ length: N }, (_, i) => i);
  const byRank = (xs: number[], desc = false) => [...xs].sort((x, y) => (desc ? rank(y) - rank(x) : rank(x) - rank(y)));

  it("filters, orders, limits, offsets and cursors", async () => {
    const scan = () => a.collection("scan");
    const odd = all.filter((i) => i % 2 === 1);
    expect((await scan().where("odd", "==", 1).orderBy("r", "desc").limit(5).get()).docs.map((d) => d.id)).toEqual(
      byRank(odd, true).slice(0, 5).map(id),
    );
    expect((await scan().where("r", ">=", 690).get()).docs.map((d) => d.id)).toEqual(
      byRank(all.filter((i) => rank(i) >= 690)).map(id),
    );
    expect((await scan().orderBy("r").offset(600).limit(5).get()).docs.map((d) => d.id)).toEqual(
      byRank(all).slice(600, 605).map(id),
    );
    expect(
      (
        await lite.getDocs(
          lite.query(lite.collection(l.db, "scan"), lite.orderBy("r"), lite.startAfter(650), lite.limit(3)),
        )
      ).docs.map((d) => d.id),
    ).toEqual(
      byRank(all.filter((i) => rank(i) > 650))
        .slice(0, 3)
        .map(id),
    );
    expect(
      (
        await lite.getDocs(
          lite.query(lite.collection(l.db, "scan"), lite.where("odd", "==", 0), lite.limitToLast(2), lite.orderBy("i")),
        )
      ).docs.map((d) => d.id),
    ).toEqual([id(696), id(698)]);
    expect((await scan().where("i", "in", [0, 511, 512, 513, 699]).get()).docs.map((d) => d.id)).toEqual(
      [0, 511, 512, 513, 699].map(id),
    );
    expect((await scan().get()).size).toBe(N);
  });

  it("aggregations", async () => {
    const odd = await a
      .collection("scan")
      .where("odd", "==", 1)
      .aggregate({ n: AggregateField.count(), total: AggregateField.sum("i"), mean: AggregateField.average("r") })
      .get();
    const oddIs = all.filter((i) => i % 2 === 1);
    expect(odd.data()).toEqual({
      n: 350,
      total: oddIs.reduce((x, y) => x + y, 0),
      mean: oddIs.reduce((x, i) => x + rank(i), 0) / 350,
    });
    expect((await lite.getCount(lite.query(lite.collection(l.db, "scan")))).data()).toEqual({ count: N });
    expect(
      (
        await lite.getCount(lite.query(lite.collection(l.db, "scan"), lite.where("r", "<", 100), lite.limit(60)))
      ).data(),
    ).toEqual({ count: 60 });
  });
});

describe("explain", () => {
  const nonZero = (d: { seconds: number; nanoseconds: number }) => d.seconds > 0 || d.nanoseconds > 0;

  it("query explain {analyze:false}: a plan with indexesUsed and no stats", async () => {
    for (const q of [asales().where("region", "==", "eu"), asales().where("qty", ">", 1), asales()]) {
      const res = await q.explain({ analyze: false });
      expect(res.metrics.executionStats).toBeNull();
      expect(res.metrics.planSummary.indexesUsed.length).toBeGreaterThan(0);
      for (const idx of res.metrics.planSummary.indexesUsed) expect(typeof idx).toBe("object");
      expect(res.snapshot?.size ?? 0).toBe(0);
    }
    // Default options = analyze false.
    const def = await asales().explain();
    expect(def.metrics.executionStats).toBeNull();
  });

  it("query explain {analyze:false} and explain(): the snapshot is null", async () => {
    // The SDK builds a snapshot whenever a response element carries a readTime (query-util.js
    // `_getResponse`), so a plan-only answer must not carry one.
    const plan = await asales().where("region", "==", "eu").explain({ analyze: false });
    expect(plan.snapshot === null, "explain({analyze:false}).snapshot must be null").toBe(true);
    const def = await asales().explain();
    expect(def.snapshot === null, "explain().snapshot must be null").toBe(true);
  });

  it("query explain {analyze:true}: the results and executionStats", async () => {
    const res = await asales().where("region", "==", "eu").explain({ analyze: true });
    expect(res.snapshot?.docs.map((d) => d.id)).toEqual(["s1", "s2"]);
    const stats = res.metrics.executionStats;
    expect(stats).not.toBeNull();
    expect(stats?.resultsReturned).toBe(2);
    expect(stats?.readOperations).toBeGreaterThan(0);
    expect(Object.keys(stats?.debugStats ?? {}).length).toBeGreaterThan(0);
    expect(res.metrics.planSummary.indexesUsed.length).toBeGreaterThan(0);
    // Ordered and limited.
    const top = await asales().orderBy("qty", "desc").limit(3).explain({ analyze: true });
    expect(top.snapshot?.docs.map((d) => d.id)).toEqual(["s4", "s3", "s2"]);
    expect(top.metrics.executionStats?.resultsReturned).toBe(3);
  });

  it("query explain {analyze:true} with no matches", async () => {
    const res = await asales().where("qty", "==", 12345).explain({ analyze: true });
    expect(res.snapshot?.size).toBe(0);
    const stats = res.metrics.executionStats;
    expect(stats?.resultsReturned).toBe(0);
    expect(stats?.readOperations).toBeGreaterThan(0);
  });

  it("aggregate explain: plan only, then analyze (resultsReturned is the one aggregation result)", async () => {
    const q = asales().where("qty", ">", 0).count();
    const plan = await q.explain({ analyze: false });
    expect(plan.snapshot).toBeNull();
    expect(plan.metrics.executionStats).toBeNull();
    expect(plan.metrics.planSummary.indexesUsed.length).toBeGreaterThan(0);
    const def = await q.explain();
    expect(def.snapshot).toBeNull();
    const res = await q.explain({ analyze: true });
    expect(res.snapshot?.data()).toEqual({ count: 3 });
    const stats = res.metrics.executionStats;
    expect(stats?.readOperations).toBeGreaterThan(0);
    expect(Object.keys(stats?.debugStats ?? {}).length).toBeGreaterThan(0);
    const sums = await asales()
      .aggregate({ total: AggregateField.sum("qty"), mean: AggregateField.average("price") })
      .explain({ analyze: true });
    expect(sums.snapshot?.data()).toEqual({ total: 18, mean: 2 });
    // Production answers resultsReturned 1 for an aggregation (nodejs-firestore system test
    // "can profile an aggregate query": 3 documents counted, resultsReturned 1).
    expect(stats?.resultsReturned).toBe(1);
  });

  it("executionStats.executionDuration is non-zero (queries, a no-match query, aggregations)", async () => {
    // Production reports the real duration; the SDK's own system tests assert it is > 0 for each.
    const runs = [
      () => asales().where("region", "==", "eu").explain({ analyze: true }),
      () => asales().where("qty", "==", 12345).explain({ analyze: true }),
      () => asales().orderBy("qty").limit(1).explain({ analyze: true }),
      () => asales().where("qty", ">", 0).count().explain({ analyze: true }),
      () =>
        asales()
          .aggregate({ s: AggregateField.sum("qty") })
          .explain({ analyze: true }),
    ];
    const durations: unknown[] = [];
    for (const run of runs) durations.push((await run()).metrics.executionStats?.executionDuration);
    for (const d of durations) {
      expect(d !== undefined && nonZero(d as { seconds: number; nanoseconds: number }), JSON.stringify(durations)).toBe(
        true,
      );
    }
  });

  it("wire: runQuery explain {analyze:false} is one element without a document", async () => {
    const res = await rest("POST", `${DB}/documents:runQuery`, {
      structuredQuery: { from: [{ collectionId: "sales" }] },
      explainOptions: { analyze: false },
    });
    expect(res.status, res.text).toBe(200);
    const items = res.json as {
      document?: unknown;
      readTime?: string;
      explainMetrics?: { planSummary?: { indexesUsed?: unknown[] }; executionStats?: unknown };
    }[];
    expect(items).toHaveLength(1);
    expect(items[0]?.document).toBeUndefined();
    expect(items[0]?.explainMetrics?.planSummary?.indexesUsed?.length).toBeGreaterThan(0);
    expect(items[0]?.explainMetrics?.executionStats).toBeUndefined();
    // analyze:true: every document, the metrics on the last element only.
    const full = await rest("POST", `${DB}/documents:runQuery`, {
      structuredQuery: { from: [{ collectionId: "sales" }] },
      explainOptions: { analyze: true },
    });
    const all = full.json as { document?: { name: string }; explainMetrics?: { executionStats?: unknown } }[];
    expect(all.map((i) => i.document?.name.split("/").pop())).toEqual(["s1", "s2", "s3", "s4", "s5"]);
    expect(all.slice(0, -1).every((i) => i.explainMetrics === undefined)).toBe(true);
    expect(all[all.length - 1]?.explainMetrics?.executionStats).toBeDefined();
  });
});

describe("partitionQuery", () => {
  async function partitions(group: string, n: number): Promise<admin.QueryPartition[]> {
    const out: admin.QueryPartition[] = [];
    for await (const p of a.collectionGroup(group).getPartitions(n)) out.push(p);
    return out;
  }
  const ALL = Array.from({ length: PART_DOCS }, (_, i) => partPath(i)).sort((x, y) => {
    // Document-name order: segment by segment.
    const xs = x.split("/");
    const ys = y.split("/");
    for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
      if (xs[i] !== ys[i]) return (xs[i] as string) < (ys[i] as string) ? -1 : 1;
    }
    return xs.length - ys.length;
  });

  it("the partitions' queries together return every document exactly once, in order", async () => {
    for (const n of [3, 7, 50]) {
      const parts = await partitions("parts", n);
      expect(parts.length).toBeGreaterThanOrEqual(1);
      expect(parts.length).toBeLessThanOrEqual(n);
      expect(parts[0]?.startAt).toBeUndefined();
      expect(parts[parts.length - 1]?.endBefore).toBeUndefined();
      for (let i = 0; i < parts.length - 1; i++) {
        const end = parts[i]?.endBefore?.[0] as admin.DocumentReference;
        const next = parts[i + 1]?.startAt?.[0] as admin.DocumentReference;
        expect(end.isEqual(next)).toBe(true);
      }
      const seen: string[] = [];
      for (const p of parts) seen.push(...(await p.toQuery().get()).docs.map((d) => d.ref.path));
      expect(seen).toEqual(ALL);
    }
    // 383 documents split into 3 (minimum partition size 128 in production).
    expect((await partitions("parts", 3)).length).toBeGreaterThanOrEqual(2);
  });

  it("manual cursors from the partitions over orderBy(documentId())", async () => {
    const parts = await partitions("parts", 4);
    const seen: string[] = [];
    for (const p of parts) {
      let q: admin.Query = a.collectionGroup("parts").orderBy(FieldPath.documentId());
      if (p.startAt) q = q.startAt(...p.startAt);
      if (p.endBefore) q = q.endBefore(...p.endBefore);
      seen.push(...(await q.get()).docs.map((d) => d.ref.path));
    }
    expect(seen).toEqual(ALL);
  });

  it("one partition, and an empty collection group", async () => {
    const one = await partitions("parts", 1);
    expect(one).toHaveLength(1);
    expect(one[0]?.startAt).toBeUndefined();
    expect(one[0]?.endBefore).toBeUndefined();
    expect((await one[0]!.toQuery().get()).size).toBe(PART_DOCS);
    const empty = await partitions("no-such-group", 3);
    expect(empty).toHaveLength(1);
    expect(empty[0]?.startAt).toBeUndefined();
    expect(empty[0]?.endBefore).toBeUndefined();
  });

  it("wire: partitionQuery cursors are ascending references; invalid requests are rejected", async () => {
    const res = await rest("POST", `${DB}/documents:partitionQuery`, {
      structuredQuery: {
        from: [{ collectionId: "parts", allDescendants: true }],
        orderBy: [{ field: { fieldPath: "__name__" }, direction: "ASCENDING" }],
      },
      partitionCount: "2",
    });
    expect(res.status, res.text).toBe(200);
    const body = res.json as { partitions: { values: { referenceValue: string }[] }[] };
    expect(body.partitions.length).toBeLessThanOrEqual(2);
    const names = body.partitions.map((p) => {
      expect(p.values).toHaveLength(1);
      return (p.values[0] as { referenceValue: string }).referenceValue.slice(`${DB}/documents/`.length);
    });
    for (const n of names) expect(ALL).toContain(n);
    expect([...names].sort((x, y) => ALL.indexOf(x) - ALL.indexOf(y))).toEqual(names);
    const bad = await rest("POST", `${DB}/documents:partitionQuery`, {
      structuredQuery: {
        from: [{ collectionId: "parts", allDescendants: true }],
        where: { fieldFilter: { field: { fieldPath: "i" }, op: "EQUAL", value: { integerValue: "1" } } },
        orderBy: [{ field: { fieldPath: "__name__" } }],
      },
      partitionCount: "2",
    });
    expect(bad.status, bad.text).toBe(400);
    expect((bad.json as { error: { status: string } }).error.status).toBe("INVALID_ARGUMENT");
    const zero = await rest("POST", `${DB}/documents:partitionQuery`, {
      structuredQuery: {
        from: [{ collectionId: "parts", allDescendants: true }],
        orderBy: [{ field: { fieldPath: "__name__" } }],
      },
      partitionCount: "0",
    });
    expect(zero.status, zero.text).toBe(400);
  });
});

describe("recursiveDelete", () => {
  const exists = async (path: string) => (await a.doc(path).get()).exists;

  it("recursiveDelete(collection) removes every document beneath it, including missing parents' children", async () => {
    const keep = ["rd0/k", "rd-x/k", "rda/k", "rc/k", "keep/k/sub/9", "keep/k"];
    const gone = ["rd/a", "rd/a/x/1", "rd/a/x/1/y/2", "rd/b", "rd/ghost/z/3", "rd/b/sub/s"];
    const bulk: string[] = [];
    for (let i = 0; i < 45; i++) bulk.push(`rd/bulk${String(i).padStart(2, "0")}`);
    const batch = a.batch();
    for (const p of [...keep, ...gone, ...bulk]) batch.set(a.doc(p), { p });
    await batch.commit();
    expect((await a.collection("rd").count().get()).data().count).toBe(2 + 45);

    await a.recursiveDelete(a.collection("rd"));

    for (const p of [...gone, ...bulk]) expect(await exists(p), p).toBe(false);
    for (const p of keep) expect(await exists(p), p).toBe(true);
    expect(await a.collection("rd").listDocuments()).toEqual([]);
    const roots = (await a.listCollections()).map((c) => c.id);
    expect(roots).not.toContain("rd");
    for (const c of ["rd0", "rd-x", "rda", "rc", "keep"]) expect(roots).toContain(c);
    // Nothing beneath remains visible to collection group or kindless queries.
    expect((await a.collectionGroup("x").get()).size).toBe(0);
    expect((await a.collectionGroup("sub").get()).docs.map((d) => d.ref.path)).toEqual(["keep/k/sub/9"]);
    const kindless = await rest("POST", `${DB}/documents/rd/ghost:runQuery`, {
      structuredQuery: { from: [{ allDescendants: true }] },
    });
    expect((kindless.json as { document?: unknown }[]).filter((i) => i.document)).toEqual([]);
  });

  it("recursiveDelete(doc) removes the document and its sub-collections, not its siblings", async () => {
    const gone = ["rd2/d", "rd2/d/sub/s1", "rd2/d/sub/s1/deeper/z", "rd2/d/other/o"];
    const keep = ["rd2/d0", "rd2/d-x", "rd2/dd", "rd2/dd/sub/s2", "rd2/c/sub/s3"];
    const batch = a.batch();
    for (const p of [...gone, ...keep]) batch.set(a.doc(p), { p });
    await batch.commit();

    await a.recursiveDelete(a.doc("rd2/d"));

    for (const p of gone) expect(await exists(p), p).toBe(false);
    for (const p of keep) expect(await exists(p), p).toBe(true);
    expect((await a.collection("rd2").listDocuments()).map((r) => r.id)).toEqual(["c", "d-x", "d0", "dd"]);
    expect(await a.doc("rd2/d").listCollections()).toEqual([]);
    expect((await a.collectionGroup("sub").where("p", ">=", "rd2/").get()).docs.map((d) => d.ref.path)).toEqual([
      "rd2/c/sub/s3",
      "rd2/dd/sub/s2",
    ]);
    // Deleting a document whose parent is missing (only descendants exist) works too.
    await a.doc("rd3/ghost/kids/k1").set({ x: 1 });
    await a.doc("rd3/ghost/kids/k1/more/m").set({ x: 1 });
    await a.recursiveDelete(a.doc("rd3/ghost"));
    expect(await exists("rd3/ghost/kids/k1")).toBe(false);
    expect(await exists("rd3/ghost/kids/k1/more/m")).toBe(false);
  });

  it("wire: the kindless runQuery with __id-…__ and NUL-suffixed bounds that recursiveDelete sends", async () => {
    const batch = a.batch();
    for (const p of ["kd/a", "kd/a/s/1", "kd/b", "kd0/z", "kd-x/z"]) batch.set(a.doc(p), { p });
    await batch.commit();
    const res = await rest("POST", `${DB}/documents:runQuery`, {
      structuredQuery: {
        from: [{ allDescendants: true }],
        select: { fields: [{ fieldPath: "__name__" }] },
        where: {
          compositeFilter: {
            op: "AND",
            filters: [
              {
                fieldFilter: {
                  field: { fieldPath: "__name__" },
                  op: "GREATER_THAN_OR_EQUAL",
                  value: { referenceValue: `${DB}/documents/kd/__id-9223372036854775808__` },
                },
              },
              {
                fieldFilter: {
                  field: { fieldPath: "__name__" },
                  op: "LESS_THAN",
                  value: { referenceValue: `${DB}/documents/kd\u0000/__id-9223372036854775808__` },
                },
              },
            ],
          },
        },
        limit: 5000,
      },
    });
    expect(res.status, res.text).toBe(200);
    const names = (res.json as { document?: { name: string; fields?: unknown } }[]).map((i) =>
      i.document?.name.slice(`${DB}/documents/`.length),
    );
    expect(names).toEqual(["kd/a", "kd/a/s/1", "kd/b"]);
  });
});
