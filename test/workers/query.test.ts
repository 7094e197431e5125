/** runQuery / runAggregationQuery / partitionQuery: response shapes, transactions, errors. */
import { describe, expect, it } from "vitest";
import { type Api, expectError, int, newApi, str } from "./helpers.js";

async function seed(api: Api, n: number): Promise<void> {
  const writes = Array.from({ length: n }, (_, i) => ({
    update: {
      name: api.name(`items/i${String(i).padStart(3, "0")}`),
      fields: { n: int(i), even: { booleanValue: i % 2 === 0 } },
    },
  }));
  expect((await api.commit(writes)).status).toBe(200);
}

const itemsQuery = (extra: Record<string, unknown> = {}) => ({ from: [{ collectionId: "items" }], ...extra });

describe("runQuery over REST", () => {
  it("streams documents as one JSON array, with readTime on each and done on the last", async () => {
    const api = newApi();
    await seed(api, 5);
    const res = await api.post(":runQuery", {
      structuredQuery: itemsQuery({
        where: { fieldFilter: { field: { fieldPath: "n" }, op: "GREATER_THAN_OR_EQUAL", value: int(3) } },
      }),
    });
    expect(res.status).toBe(200);
    expect(res.body.map((e: any) => e.document.fields.n)).toEqual([int(3), int(4)]);
    expect(res.body.every((e: any) => typeof e.readTime === "string")).toBe(true);
    expect(res.body[1].done).toBe(true);
  });

  it("answers an empty result as [{readTime}] and reports skipped results", async () => {
    const api = newApi();
    await seed(api, 3);
    const empty = await api.post(":runQuery", {
      structuredQuery: itemsQuery({
        where: { fieldFilter: { field: { fieldPath: "n" }, op: "EQUAL", value: int(99) } },
      }),
    });
    expect(empty.body).toEqual([{ readTime: expect.any(String), done: true }]);
    const skipped = await api.post(":runQuery", { structuredQuery: itemsQuery({ offset: 2 }) });
    expect(skipped.body[0].skippedResults).toBe(2);
    expect(skipped.body.map((e: any) => e.document.fields.n)).toEqual([int(2)]);
  });

  it("runs under a document parent and as a collection group", async () => {
    const api = newApi();
    await api.set("rooms/a/msgs/1", { t: str("a1") });
    await api.set("rooms/b/msgs/1", { t: str("b1") });
    await api.set("msgs/top", { t: str("top") });
    const sub = await api.post("/rooms/a:runQuery", { structuredQuery: { from: [{ collectionId: "msgs" }] } });
    expect(sub.body.map((e: any) => e.document.fields.t.stringValue)).toEqual(["a1"]);
    const group = await api.post(":runQuery", {
      structuredQuery: { from: [{ collectionId: "msgs", allDescendants: true }] },
    });
    expect(group.body.map((e: any) => e.document.fields.t.stringValue)).toEqual(["top", "a1", "b1"]);
  });

  it("returns a new transaction id in the first element and locks results in read-write transactions", async () => {
    const api = newApi();
    await seed(api, 2);
    const res = await api.post(":runQuery", { structuredQuery: itemsQuery(), newTransaction: { readWrite: {} } });
    const tx = res.body[0].transaction;
    expect(typeof tx).toBe("string");
    let plainDone = false;
    const plain = api.set("items/i000", { n: int(100) }).then(() => (plainDone = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(plainDone).toBe(false);
    expect((await api.commit([{ update: { name: api.name("items/i001"), fields: { n: int(9) } } }], tx)).status).toBe(
      200,
    );
    await plain;
    const empty = await api.post(":runQuery", {
      structuredQuery: itemsQuery({
        where: { fieldFilter: { field: { fieldPath: "n" }, op: "EQUAL", value: int(-1) } },
      }),
      newTransaction: { readOnly: {} },
    });
    expect(empty.body[0]).toEqual({ transaction: expect.any(String), readTime: expect.any(String), done: true });
  });

  it("reads at a readTime", async () => {
    const api = newApi();
    const t1 = await api.set("items/a", { n: int(1) });
    await api.set("items/a", { n: int(2) });
    await api.set("items/b", { n: int(3) });
    const then = await api.post(":runQuery", { structuredQuery: itemsQuery(), readTime: t1 });
    expect(then.body.map((e: any) => e.document.fields.n)).toEqual([int(1)]);
  });

  it("explains: the plan only, or results with execution statistics", async () => {
    const api = newApi();
    await seed(api, 4);
    const q = itemsQuery({
      where: { fieldFilter: { field: { fieldPath: "even" }, op: "EQUAL", value: { booleanValue: true } } },
    });
    const plan = await api.post(":runQuery", { structuredQuery: q, explainOptions: {} });
    expect(plan.body).toHaveLength(1);
    expect(plan.body[0].document).toBeUndefined();
    expect(plan.body[0].readTime).toBeUndefined(); // no snapshot for a plan-only explain
    expect(plan.body[0].explainMetrics.planSummary.indexesUsed).toEqual([
      { query_scope: "Collection", properties: "(even ASC, __name__ ASC)" },
    ]);
    const analyzed = await api.post(":runQuery", { structuredQuery: q, explainOptions: { analyze: true } });
    expect(analyzed.body).toHaveLength(2);
    const stats = analyzed.body[1].explainMetrics.executionStats;
    expect(stats.resultsReturned).toBe("2");
    expect(stats.executionDuration).toMatch(/^\d+(\.\d+)?s$/);
    expect(stats.debugStats.documents_scanned).toBe("2");
  });

  it("rejects invalid queries with INVALID_ARGUMENT naming the problem", async () => {
    const api = newApi();
    const bad = async (structuredQuery: unknown, mention: RegExp) =>
      expect(expectError(await api.post(":runQuery", { structuredQuery }), 400, "INVALID_ARGUMENT")).toMatch(mention);
    await bad(itemsQuery({ startAt: { values: [int(1), int(2), int(3)] } }), /cursor/i);
    await bad(
      itemsQuery({
        where: {
          fieldFilter: {
            field: { fieldPath: "n" },
            op: "NOT_IN",
            value: { arrayValue: { values: Array.from({ length: 11 }, (_, i) => int(i)) } },
          },
        },
      }),
      /10/,
    );
    await bad({ from: [] }, /from/);
    await bad(
      itemsQuery({ where: { fieldFilter: { field: { fieldPath: "n" }, op: "SOMETIMES", value: int(1) } } }),
      /op/,
    );
    expectError(await api.post(":runQuery", {}), 400, "INVALID_ARGUMENT");
  });
});

describe("runAggregationQuery and partitionQuery over REST", () => {
  it("aggregates count, sum and avg with aliases", async () => {
    const api = newApi();
    await seed(api, 4);
    const res = await api.post(":runAggregationQuery", {
      structuredAggregationQuery: {
        structuredQuery: itemsQuery(),
        aggregations: [
          { alias: "c", count: {} },
          { alias: "s", sum: { field: { fieldPath: "n" } } },
          { alias: "a", avg: { field: { fieldPath: "n" } } },
          { alias: "up", count: { upTo: "2" } },
        ],
      },
    });
    expect(res.body).toEqual([
      {
        result: { aggregateFields: { c: int(4), s: int(6), a: { doubleValue: 1.5 }, up: int(2) } },
        readTime: expect.any(String),
      },
    ]);
  });

  it("partitions a collection group into parts that cover every document once", async () => {
    const api = newApi();
    await seed(api, 10);
    const res = await api.post(":partitionQuery", {
      structuredQuery: {
        from: [{ collectionId: "items", allDescendants: true }],
        orderBy: [{ field: { fieldPath: "__name__" } }],
      },
      partitionCount: "3",
    });
    expect(res.body.partitions.map((p: any) => p.values[0].referenceValue)).toEqual([
      api.name("items/i002"),
      api.name("items/i005"),
      api.name("items/i007"),
    ]);
    expectError(
      await api.post(":partitionQuery", { structuredQuery: itemsQuery(), partitionCount: "3" }),
      400,
      "INVALID_ARGUMENT",
    );
  });
});
