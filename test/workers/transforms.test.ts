import { describe, expect, it } from "vitest";
import { type Api, int, newApi, str } from "./helpers.js";

const dbl = (n: number | string) => ({ doubleValue: n });
const arr = (...values: unknown[]) => ({ arrayValue: { values } });

async function transform(api: Api, path: string, transforms: unknown[]) {
  const res = await api.commit([
    { update: { name: api.name(path), fields: {} }, updateMask: { fieldPaths: [] }, updateTransforms: transforms },
  ]);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

describe("field transforms", () => {
  it("REQUEST_TIME is the commit time, one time for every field and document of a commit", async () => {
    const api = newApi();
    const res = await api.commit([
      {
        update: { name: api.name("c/a"), fields: {} },
        updateTransforms: [
          { fieldPath: "t1", setToServerValue: "REQUEST_TIME" },
          { fieldPath: "m.t2", setToServerValue: 1 },
        ],
      },
      {
        update: { name: api.name("c/b"), fields: {} },
        updateTransforms: [{ fieldPath: "t", setToServerValue: "REQUEST_TIME" }],
      },
    ]);
    const ts = { timestampValue: res.body.commitTime };
    expect(res.body.writeResults[0].transformResults).toEqual([ts, ts]);
    expect(res.body.writeResults[1].transformResults).toEqual([ts]);
    expect((await api.read("c/a")).fields).toEqual({ t1: ts, m: { mapValue: { fields: { t2: ts } } } });
  });

  it("increment: integers, doubles, mixing, missing and non-numeric fields, saturation", async () => {
    const api = newApi();
    await api.set("c/d", {
      i: int(5),
      d: dbl(1.5),
      s: str("x"),
      max: int("9223372036854775807"),
      min: int("-9223372036854775808"),
    });
    const body = await transform(api, "c/d", [
      { fieldPath: "i", increment: int(2) },
      { fieldPath: "d", increment: int(1) },
      { fieldPath: "s", increment: int(3) },
      { fieldPath: "missing", increment: dbl(0.5) },
      { fieldPath: "max", increment: int(1) },
      { fieldPath: "min", increment: int(-1) },
    ]);
    const expected = {
      i: int(7),
      d: dbl(2.5),
      s: int(3),
      missing: dbl(0.5),
      max: int("9223372036854775807"),
      min: int("-9223372036854775808"),
    };
    expect(body.writeResults[0].transformResults).toEqual([
      expected.i,
      expected.d,
      expected.s,
      expected.missing,
      expected.max,
      expected.min,
    ]);
    expect((await api.read("c/d")).fields).toEqual(expected);
  });

  it("maximum and minimum keep the stored value when equivalent, NaN wins", async () => {
    const api = newApi();
    await api.set("c/d", { a: int(3), b: int(3), c: dbl(1), n: int(1), z: dbl("-0") });
    const body = await transform(api, "c/d", [
      { fieldPath: "a", maximum: dbl(3) },
      { fieldPath: "b", minimum: dbl(2.5) },
      { fieldPath: "c", maximum: int(4) },
      { fieldPath: "n", minimum: dbl("NaN") },
      { fieldPath: "z", maximum: int(0) },
      { fieldPath: "new", minimum: int(9) },
    ]);
    expect(body.writeResults[0].transformResults).toEqual([int(3), dbl(2.5), int(4), dbl("NaN"), dbl("-0"), int(9)]);
  });

  it("arrayUnion appends missing elements (3 equals 3.0), arrayRemove removes every equivalent", async () => {
    const api = newApi();
    await api.set("c/d", { a: arr(int(1), int(3)), r: arr(int(1), dbl(1), str("x"), int(1), { nullValue: null }) });
    const body = await transform(api, "c/d", [
      { fieldPath: "a", appendMissingElements: { values: [dbl(3), int(4), int(4), { nullValue: null }] } },
      { fieldPath: "r", removeAllFromArray: { values: [int(1), { nullValue: null }] } },
      { fieldPath: "fresh", appendMissingElements: { values: [str("y")] } },
      { fieldPath: "gone", removeAllFromArray: { values: [str("y")] } },
    ]);
    expect(body.writeResults[0].transformResults).toEqual(Array(4).fill({ nullValue: null }));
    expect((await api.read("c/d")).fields).toEqual({
      a: arr(int(1), int(3), int(4), { nullValue: null }),
      r: arr(str("x")),
      fresh: arr(str("y")),
      gone: arr(),
    });
  });

  it("a transform that changes nothing keeps the updateTime", async () => {
    const api = newApi();
    const t = await api.set("c/d", { a: arr(int(1)) });
    const body = await transform(api, "c/d", [{ fieldPath: "a", appendMissingElements: { values: [int(1)] } }]);
    expect(body.writeResults[0].updateTime).toBe(t);
  });

  it("update + mask + transforms together, on a new document", async () => {
    const api = newApi();
    const res = await api.commit([
      {
        update: { name: api.name("c/n"), fields: { a: int(1) } },
        updateMask: { fieldPaths: ["a"] },
        updateTransforms: [{ fieldPath: "count", increment: int(1) }],
        currentDocument: { exists: false },
      },
    ]);
    expect(res.status).toBe(200);
    expect((await api.read("c/n")).fields).toEqual({ a: int(1), count: int(1) });
  });
});
