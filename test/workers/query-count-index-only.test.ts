/**
 * Minimal reproductions of mismatches the randomized differential test
 * (`query-random.test.ts`) found in index-only counts (`QueryEngine.countOnly`): a count must
 * equal the number of documents `runQuery` returns for the same query.
 */
import { describe, expect, it } from "vitest";
import { type Api, int, newApi } from "./helpers.js";

async function countAndDocs(api: Api, structuredQuery: unknown): Promise<{ count: string; docs: string[] }> {
  const agg = await api.post(":runAggregationQuery", {
    structuredAggregationQuery: { structuredQuery, aggregations: [{ alias: "n", count: {} }] },
  });
  const run = await api.post(":runQuery", { structuredQuery });
  expect(agg.status).toBe(200);
  expect(run.status).toBe(200);
  return {
    count: agg.body[0].result.aggregateFields.n.integerValue,
    docs: (run.body as any[]).filter((r) => r.document).map((r) => r.document.name.replace(/^.*?\/documents\//, "")),
  };
}

describe("index-only count() agrees with runQuery", () => {
  it("counts a document once when IN lists equal values (repeated, or 1 and 1.0)", async () => {
    const api = newApi();
    await api.set("c/x", { a: int(1) });
    for (const values of [
      [int(1), int(1)],
      [int(1), { doubleValue: 1 }],
    ]) {
      const { count, docs } = await countAndDocs(api, {
        from: [{ collectionId: "c" }],
        where: { fieldFilter: { field: { fieldPath: "a" }, op: "IN", value: { arrayValue: { values } } } },
      });
      expect(docs).toEqual(["c/x"]);
      expect(count).toBe("1"); // got "2"
    }
  });

  it("a kindless query without allDescendants reads only direct children, and cannot be counted", async () => {
    const api = newApi();
    await api.set("c/x", { a: int(1) });
    await api.set("c/x/sub/y", { a: int(1) });
    // Kindless queries filter on __name__ only (Cloud Firestore's rule), so the count that once
    // counted c/x/sub/y too is now refused before it reaches the planner.
    const structuredQuery = { from: [{}] };
    const run = await api.post(":runQuery", { structuredQuery });
    expect(run.status).toBe(200);
    expect((run.body as any[]).filter((r) => r.document).map((r) => r.document.name)).toEqual([api.name("c/x")]);
    const agg = await api.post(":runAggregationQuery", {
      structuredAggregationQuery: { structuredQuery, aggregations: [{ alias: "n", count: {} }] },
    });
    expect(agg.status).toBe(400);
    expect(agg.body.error.message).toMatch(/kind is required/);
  });
});
