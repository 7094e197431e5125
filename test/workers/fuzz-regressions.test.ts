/**
 * Minimal reproductions of what the fuzzer (scripts/fuzz.mjs) found: each answered 500 before.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { type Api, expectError, int, newApi } from "./helpers.js";

let api: Api;

beforeAll(async () => {
  api = newApi();
  for (const id of ["d1", "d2", "d3"]) await api.set(`c/${id}`, { n: int(id.slice(1)) });
});

const token = (v: unknown) => btoa(JSON.stringify(v)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

describe("forged page tokens are INVALID_ARGUMENT, never 500", () => {
  it("documents.list ordered by a field", async () => {
    // A real token still works.
    const first = await api.get("/c?orderBy=n&pageSize=1");
    expect(first.status).toBe(200);
    const next = await api.get(`/c?orderBy=n&pageSize=1&pageToken=${first.body.nextPageToken}`);
    expect(next.body.documents.map((d: any) => d.name)).toEqual([api.name("c/d2")]);

    for (const forged of [
      { path: "c/d1", values: '[{"bogus":1}]' }, // not a Value (was: Cannot read properties of undefined)
      { path: "c/d1", values: '[{"integerValue":"x"}]' },
      { path: "c/d1", values: "{" }, // not JSON (was: Expected property name)
      { path: "c/d1", values: "[1,2]" }, // (was: Cannot use 'in' operator)
      { path: "c/d1", values: "[]" },
      { path: "c/d1" },
      { path: "c/__x__", values: '[{"integerValue":"1"}]' },
      { path: "zz/../..", values: '[{"integerValue":"1"}]' },
      { path: "", values: '[{"integerValue":"1"}]' },
      "c/d1",
      null,
    ]) {
      const res = await api.get(`/c?orderBy=n&pageSize=1&pageToken=${token(forged)}`);
      expect(expectError(res, 400, "INVALID_ARGUMENT"), JSON.stringify(forged)).toMatch(/page_token/);
    }
    // Well-formed values in a non-canonical spelling are decoded like any input (they were
    // handed to the index encoder as they came: 500 "non-canonical timestamp", "invalid base64").
    for (const values of ['[{"timestampValue":"1970-01-01T00:00:00Z"}]', '[{"bytesValue":"_-8"}]']) {
      const res = await api.get(`/c?orderBy=n&pageSize=1&pageToken=${token({ path: "c/d1", values })}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
  });

  it("documents.list in name order, and listCollectionIds", async () => {
    const res = await api.get(`/c?pageSize=1&pageToken=${token({ path: "c/d1", values: "[1]" })}`);
    expectError(res, 400, "INVALID_ARGUMENT");
    expect((await api.get(`/c?pageSize=1&pageToken=${token({ path: "c/d1" })}`)).status).toBe(200);
    for (const forged of [3, { path: "c" }, "__x__", ""]) {
      const r = await api.post(":listCollectionIds", { pageToken: token(forged) });
      expect(expectError(r, 400, "INVALID_ARGUMENT")).toMatch(/page_token/);
    }
  });
});

describe("request bodies nested too deeply", () => {
  const deep = (depth: number, open: string, close: string, inner: string) =>
    open.repeat(depth) + inner + close.repeat(depth);
  const eq = '{"fieldFilter":{"field":{"fieldPath":"n"},"op":"EQUAL","value":{"integerValue":"1"}}}';

  it("thousands of nested single-child filters are INVALID_ARGUMENT (was: 500 Maximum call stack size exceeded)", async () => {
    const where = deep(5000, '{"compositeFilter":{"op":"AND","filters":[', "]}}", eq);
    const res = await api.post(":runQuery", `{"structuredQuery":{"from":[{"collectionId":"c"}],"where":${where}}}`);
    expect(expectError(res, 400, "INVALID_ARGUMENT")).toMatch(/nests objects and arrays more than 100 levels deep/);
  });

  it("deep arrays and maps anywhere are refused the same way", async () => {
    for (const body of [
      `{"writes":${deep(100_000, "[", "]", "")}}`,
      `{"a":${deep(200, '{"b":', "}", "1")}}`,
      `{"writes":[{"update":{"name":"${api.name("c/x")}","fields":{"m":${deep(40, '{"mapValue":{"fields":{"m":', "}}}", "{}")}}}}]}`,
    ]) {
      const res = await api.post(":commit", body);
      expect(expectError(res, 400, "INVALID_ARGUMENT")).toMatch(/100 levels deep/);
    }
  });

  it("the deepest valid values still pass (20 nested maps, under the JSON limit)", async () => {
    let value: unknown = { integerValue: "1" };
    for (let i = 0; i < 20; i++) value = { mapValue: { fields: { m: value } } };
    const res = await api.commit([{ update: { name: api.name("c/deep"), fields: { m: value } } }]);
    expect(res.status).toBe(200);
    const inArrays = await api.commit([
      {
        update: {
          name: api.name("c/deep2"),
          fields: {
            a: JSON.parse(
              deep(10, '{"arrayValue":{"values":[{"mapValue":{"fields":{"m":', "}}}]}}", '{"nullValue":null}'),
            ),
          },
        },
      },
    ]);
    expect(inArrays.status).toBe(200);
  });
});

describe("forged transaction ids are refused, never 500", () => {
  it("a read-only id whose read time is past any real time", async () => {
    for (const readTime of ["99999999999999999999", String(Date.now() * 1000 + 3_600_000_000)]) {
      const forged = btoa(`ro/${readTime}/${Date.now()}/x`);
      const res = await api.post(":batchGet", { documents: [api.name("c/d1")], transaction: forged });
      expectError(res, 400, "INVALID_ARGUMENT");
    }
  });
});
