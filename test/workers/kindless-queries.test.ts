/**
 * Kindless queries (no collection id: `from: [{allDescendants: true}]`, or `from: [{}]`, and
 * listings without a collection id) filter and order by `__name__` ascending only and cannot be
 * aggregated, as in Cloud Firestore, whose words the messages use.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type Api, expectError, int, newApi } from "./helpers.js";

let api: Api;

beforeAll(async () => {
  api = newApi();
  await api.set("c/a", { n: int(1) });
  await api.set("c/a/sub/x", { n: int(2) });
});

async function rejected(res: Response | Promise<Response>, mention?: RegExp | string): Promise<string> {
  const r = await res;
  const message = expectError({ status: r.status, body: await r.json() }, 400, "INVALID_ARGUMENT");
  if (typeof mention === "string") expect(message).toBe(mention);
  else if (mention !== undefined) expect(message).toMatch(mention);
  return message;
}

const post = (suffix: string, body: unknown) => api.fetch(suffix, { method: "POST", body: JSON.stringify(body) });

describe("kindless queries", () => {
  const kindless = (extra: Record<string, unknown>) => ({
    structuredQuery: { from: [{ allDescendants: true }], ...extra },
  });

  it("accept __name__ filters and __name__ ascending (what recursiveDelete sends)", async () => {
    const res = await api.post(
      ":runQuery",
      kindless({
        select: { fields: [{ fieldPath: "__name__" }] },
        where: {
          fieldFilter: {
            field: { fieldPath: "__name__" },
            op: "GREATER_THAN_OR_EQUAL",
            value: { referenceValue: api.name("c/a") },
          },
        },
        orderBy: [{ field: { fieldPath: "__name__" }, direction: "ASCENDING" }],
        limit: 10,
      }),
    );
    expect(res.status).toBe(200);
    expect(res.body.map((r: any) => r.document?.name)).toEqual([api.name("c/a"), api.name("c/a/sub/x")]);
  });

  it("refuse a field filter", async () => {
    await rejected(
      post(
        ":runQuery",
        kindless({ where: { fieldFilter: { field: { fieldPath: "n" }, op: "EQUAL", value: int(1) } } }),
      ),
      "kind is required for filter: n",
    );
    await rejected(
      post(":runQuery", kindless({ where: { unaryFilter: { field: { fieldPath: "m.k" }, op: "IS_NULL" } } })),
      "kind is required for filter: m.k",
    );
  });

  it("refuse a field order and a descending __name__ order", async () => {
    await rejected(
      post(":runQuery", kindless({ orderBy: [{ field: { fieldPath: "n" } }] })),
      "kind is required for all orders except __key__ ascending",
    );
    await rejected(
      post(":runQuery", kindless({ orderBy: [{ field: { fieldPath: "__name__" }, direction: "DESCENDING" }] })),
      "kind is required for all orders except __key__ ascending",
    );
    // Under a document parent too, and for the kindless query of direct children.
    await rejected(
      post("/c/a:runQuery", kindless({ orderBy: [{ field: { fieldPath: "__name__" }, direction: "DESCENDING" }] })),
      "kind is required for all orders except __key__ ascending",
    );
    await rejected(
      post(":runQuery", { structuredQuery: { from: [{}], orderBy: [{ field: { fieldPath: "n" } }] } }),
      "kind is required for all orders except __key__ ascending",
    );
  });

  it("refuse aggregations", async () => {
    const message = await rejected(
      post(":runAggregationQuery", {
        structuredAggregationQuery: {
          structuredQuery: { from: [{ allDescendants: true }] },
          aggregations: [{ count: {} }],
        },
      }),
    );
    expect(message).toMatch(/kind is required for aggregation/);
  });

  it("listings without a collection id: name order only", async () => {
    const byName = await api.get("?orderBy=__name__");
    expect(byName.status).toBe(200);
    expect(byName.body.documents.map((d: any) => d.name)).toEqual([api.name("c/a")]);
    await rejected(api.fetch("?orderBy=n"), "kind is required for all orders except __key__ ascending");
    await rejected(api.fetch("?orderBy=__name__%20desc"), "kind is required for all orders except __key__ ascending");
    // With a collection id, field orders are fine.
    expect((await api.fetch("/c?orderBy=n%20desc")).status).toBe(200);
  });
});
