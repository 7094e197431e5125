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
