/**
 * Large results come from the Durable Object in pages of about 4 MB (src/routes/stream.ts): with
 * 120 documents of ~100 KB every batchGet and runQuery below spans several pages, and must still
 * answer exactly what one whole read would: every document once, in order, with offsets, limits,
 * projections, cursors and descending orders, in and out of transactions.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type Api, int, newApi, str } from "./helpers.js";

const COUNT = 120;
const BIG = "x".repeat(100_000);
let api: Api;

beforeAll(async () => {
  api = newApi();
  for (let i = 0; i < COUNT; i += 20) {
    const writes = Array.from({ length: 20 }, (_, j) => ({
      update: { name: api.name(`big/d${String(i + j).padStart(3, "0")}`), fields: { n: int(i + j), s: str(BIG) } },
    }));
    expect((await api.commit(writes)).status).toBe(200);
  }
}, 60_000);

async function runQuery(structuredQuery: unknown, extra: Record<string, unknown> = {}) {
  const res = await api.post(":runQuery", { structuredQuery, ...extra });
  expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
  const items = res.body as { document?: { fields: { n: { integerValue: string } } }; done?: boolean }[];
  expect(items[items.length - 1]?.done).toBe(true);
  expect(items.filter((i) => i.done)).toHaveLength(1);
  return items.filter((i) => i.document).map((i) => Number(i.document?.fields.n.integerValue));
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe("paged results", () => {
  it("batchGet of every document answers each once, in request order, across pages", async () => {
    const names = range(0, COUNT)
      .reverse()
      .map((i) => api.name(`big/d${String(i).padStart(3, "0")}`));
    names.push(api.name("big/missing"));
    const res = await api.post(":batchGet", { documents: names });
    expect(res.status).toBe(200);
    const got = res.body.map((e: any) => e.found?.name ?? e.missing);
    expect(got).toEqual(names);
    expect(new Set(res.body.map((e: any) => e.readTime)).size).toBe(1);
  });

  it("batchGet in a new transaction reports it once, on the first element", async () => {
    const names = range(0, COUNT).map((i) => api.name(`big/d${String(i).padStart(3, "0")}`));
    const res = await api.post(":batchGet", { documents: names, newTransaction: { readWrite: {} } });
    expect(res.body).toHaveLength(COUNT);
    expect(typeof res.body[0].transaction).toBe("string");
    expect(res.body.filter((e: any) => e.transaction)).toHaveLength(1);
    expect((await api.post(":rollback", { transaction: res.body[0].transaction })).status).toBe(200);
  });

  it("runQuery returns every document once, in order, whatever the shape", async () => {
    const from = [{ collectionId: "big" }];
    const byN = (direction: string) => [{ field: { fieldPath: "n" }, direction }];
    expect(await runQuery({ from })).toEqual(range(0, COUNT));
    expect(await runQuery({ from, orderBy: byN("DESCENDING") })).toEqual(range(0, COUNT).reverse());
    expect(await runQuery({ from, orderBy: byN("ASCENDING"), offset: 7, limit: 90 })).toEqual(range(7, 97));
    expect(await runQuery({ from, select: { fields: [{ fieldPath: "n" }] }, orderBy: byN("DESCENDING") })).toEqual(
      range(0, COUNT).reverse(),
    );
    const where = { fieldFilter: { field: { fieldPath: "n" }, op: "GREATER_THAN_OR_EQUAL", value: int(30) } };
    expect(
      await runQuery({ from, where, startAt: { values: [int(40)], before: true }, orderBy: byN("ASCENDING") }),
    ).toEqual(range(40, COUNT));
  });

  it("runQuery in a read-write transaction pages too, and locks what it read", async () => {
    const tx = (await api.post(":beginTransaction", { options: { readWrite: {} } })).body.transaction;
    expect(await runQuery({ from: [{ collectionId: "big" }] }, { transaction: tx })).toEqual(range(0, COUNT));
    let done = false;
    const write = api.set("big/d119", { n: int(119) }).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false); // in the last page's range
    expect((await api.post(":rollback", { transaction: tx })).status).toBe(200);
    await write;
  });
});

describe("paged nearest-neighbour results", () => {
  const vector = (x: number) => ({
    mapValue: {
      fields: { __type__: { stringValue: "__vector__" }, value: { arrayValue: { values: [{ doubleValue: x }] } } },
    },
  });

  it("a findNearest result over several pages keeps the ranking: every document once, nearest first", async () => {
    const vecs = newApi();
    for (let i = 0; i < 60; i += 20) {
      const writes = Array.from({ length: 20 }, (_, j) => ({
        update: { name: vecs.name(`vec/d${i + j}`), fields: { n: int(i + j), v: vector(i + j), s: str(BIG) } },
      }));
      expect((await vecs.commit(writes)).status).toBe(200);
    }
    const res = await vecs.post(":runQuery", {
      structuredQuery: {
        from: [{ collectionId: "vec" }],
        findNearest: {
          vectorField: { fieldPath: "v" },
          queryVector: vector(30.2),
          distanceMeasure: "EUCLIDEAN",
          limit: 50,
        },
      },
    });
    expect(res.status).toBe(200);
    const got = (res.body as any[]).filter((i) => i.document).map((i) => Number(i.document.fields.n.integerValue));
    const expected = Array.from({ length: 60 }, (_, i) => i)
      .sort((a, b) => Math.abs(a - 30.2) - Math.abs(b - 30.2))
      .slice(0, 50);
    expect(got).toEqual(expected);
    // More than one page: 50 documents of ~100 KB are over the 4 MB a page holds.
    expect(new Set((res.body as any[]).map((i) => i.readTime)).size).toBe(1);
  });
});
