import { describe, expect, it } from "vitest";
import { expectError, int, newApi, str } from "./helpers.js";

describe("commit: update, mask, delete, verify", () => {
  it("replaces the whole document without a mask", async () => {
    const api = newApi();
    await api.set("c/d", { a: int(1), b: int(2) });
    await api.set("c/d", { c: int(3) });
    expect((await api.read("c/d")).fields).toEqual({ c: int(3) });
  });

  it("sets and deletes exactly the masked paths", async () => {
    const api = newApi();
    await api.set("c/d", { a: int(1), b: int(2), nested: { mapValue: { fields: { x: int(1), y: int(2) } } } });
    const res = await api.commit([
      {
        update: { name: api.name("c/d"), fields: { a: int(10), nested: { mapValue: { fields: { y: int(20) } } } } },
        updateMask: { fieldPaths: ["a", "b", "nested.y", "new"] },
      },
    ]);
    expect(res.status).toBe(200);
    expect((await api.read("c/d")).fields).toEqual({
      a: int(10),
      nested: { mapValue: { fields: { x: int(1), y: int(20) } } },
    });
  });

  it("treats an empty mask as 'change no fields' (transforms-only updates)", async () => {
    const api = newApi();
    await api.set("c/d", { a: int(1), n: int(5) });
    for (const updateMask of [{ fieldPaths: [] }, {}]) {
      const res = await api.commit([
        {
          update: { name: api.name("c/d"), fields: {} },
          updateMask,
          updateTransforms: [{ fieldPath: "n", increment: int(1) }],
        },
      ]);
      expect(res.status).toBe(200);
    }
    expect((await api.read("c/d")).fields).toEqual({ a: int(1), n: int(7) });
  });

  it("creates a missing document on a masked update (upsert) and with quoted field paths", async () => {
    const api = newApi();
    const res = await api.commit([
      { update: { name: api.name("c/new"), fields: { "a.b": int(1) } }, updateMask: { fieldPaths: ["`a.b`"] } },
    ]);
    expect(res.status).toBe(200);
    expect((await api.read("c/new")).fields).toEqual({ "a.b": int(1) });
  });

  it("deletes documents; deleting a missing document is not an error", async () => {
    const api = newApi();
    await api.set("c/d", { a: int(1) });
    const res = await api.commit([{ delete: api.name("c/d") }, { delete: api.name("c/never") }]);
    expect(res.status).toBe(200);
    expect(res.body.writeResults).toEqual([{}, {}]);
    expect(await api.read("c/d")).toBeUndefined();
  });

  it("checks verify preconditions and writes nothing", async () => {
    const api = newApi();
    const t = await api.set("c/d", { a: int(1) });
    const ok = await api.commit([{ verify: api.name("c/d"), currentDocument: { updateTime: t } }]);
    expect(ok.status).toBe(200);
    expect(ok.body.writeResults).toEqual([{}]);
    expect((await api.read("c/d")).updateTime).toBe(t);
    const stale = await api.commit([
      { update: { name: api.name("c/other"), fields: { x: int(1) } } },
      { verify: api.name("c/d"), currentDocument: { updateTime: "2001-01-01T00:00:00Z" } },
    ]);
    expectError(stale, 400, "FAILED_PRECONDITION");
    expect(await api.read("c/other")).toBeUndefined();
  });

  it("applies repeated writes to one document in order within a commit", async () => {
    const api = newApi();
    const res = await api.commit([
      { update: { name: api.name("c/d"), fields: { a: int(1) } }, currentDocument: { exists: false } },
      {
        update: { name: api.name("c/d"), fields: { b: int(2) } },
        updateMask: { fieldPaths: ["b"] },
        currentDocument: { exists: true },
      },
      {
        update: { name: api.name("c/d"), fields: {} },
        updateMask: { fieldPaths: [] },
        updateTransforms: [{ fieldPath: "a", increment: int(1) }],
      },
    ]);
    expect(res.status).toBe(200);
    expect((await api.read("c/d")).fields).toEqual({ a: int(2), b: int(2) });
  });

  it("accepts the legacy transform write", async () => {
    const api = newApi();
    const res = await api.commit([
      { transform: { document: api.name("c/d"), fieldTransforms: [{ fieldPath: "n", increment: int(3) }] } },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.writeResults[0].transformResults).toEqual([int(3)]);
    expect((await api.read("c/d")).fields).toEqual({ n: int(3) });
  });
});

describe("commit: preconditions", () => {
  it("exists:true on a missing document is NOT_FOUND naming it", async () => {
    const api = newApi();
    const res = await api.commit([
      { update: { name: api.name("c/x"), fields: {} }, currentDocument: { exists: true } },
    ]);
    expect(expectError(res, 404, "NOT_FOUND")).toContain(api.name("c/x"));
  });

  it("exists:false on an existing document is ALREADY_EXISTS", async () => {
    const api = newApi();
    await api.set("c/x", {});
    const res = await api.commit([
      { update: { name: api.name("c/x"), fields: {} }, currentDocument: { exists: false } },
    ]);
    expect(expectError(res, 409, "ALREADY_EXISTS")).toContain("c/x");
  });

  it("compares updateTime preconditions as instants, whatever the precision", async () => {
    const api = newApi();
    const t = await api.set("c/x", { a: int(1) }); // e.g. 2026-11-22T01:51:42.450000Z
    const ms = new Date(t).toISOString(); // 3 fractional digits
    const nanos = t.replace("Z", "000Z"); // 9 fractional digits
    for (const updateTime of [t, ms, nanos]) {
      const res = await api.commit([{ verify: api.name("c/x"), currentDocument: { updateTime } }]);
      expect(res.status, updateTime).toBe(200);
    }
    const offset = await api.commit([
      { verify: api.name("c/x"), currentDocument: { updateTime: new Date(Date.parse(t) + 1).toISOString() } },
    ]);
    expectError(offset, 400, "FAILED_PRECONDITION");
    const missing = await api.commit([{ verify: api.name("c/none"), currentDocument: { updateTime: t } }]);
    expectError(missing, 400, "FAILED_PRECONDITION");
  });

  it("fails the whole commit atomically when a later write fails", async () => {
    const api = newApi();
    await api.set("c/a", { v: int(1) });
    const res = await api.commit([
      { update: { name: api.name("c/a"), fields: { v: int(2) } } },
      { delete: api.name("c/b") },
      { update: { name: api.name("c/new"), fields: { v: int(3) } } },
      { update: { name: api.name("c/missing"), fields: {} }, currentDocument: { exists: true } },
    ]);
    expectError(res, 404, "NOT_FOUND");
    expect((await api.read("c/a")).fields).toEqual({ v: int(1) });
    expect(await api.read("c/new")).toBeUndefined();
  });
});

describe("commit: times", () => {
  it("gives every write of a commit the commit time, and strictly increasing commit times", async () => {
    const api = newApi();
    let last = "";
    for (let i = 0; i < 5; i++) {
      const res = await api.commit([
        { update: { name: api.name("c/a"), fields: { i: int(i) } } },
        { update: { name: api.name("c/b"), fields: { i: int(i) } } },
      ]);
      expect(res.body.writeResults.map((r: any) => r.updateTime)).toEqual([res.body.commitTime, res.body.commitTime]);
      expect(res.body.commitTime > last).toBe(true);
      last = res.body.commitTime;
    }
  });

  it("keeps updateTime when a write does not change the document, and createTime across updates", async () => {
    const api = newApi();
    const t1 = await api.set("c/d", { a: int(1), m: { mapValue: { fields: { x: int(1), y: int(2) } } } });
    // Same content, map keys in another order: no change.
    const again = await api.commit([
      {
        update: { name: api.name("c/d"), fields: { m: { mapValue: { fields: { y: int(2), x: int(1) } } }, a: int(1) } },
      },
    ]);
    expect(again.body.writeResults[0].updateTime).toBe(t1);
    expect(again.body.commitTime > t1).toBe(true);
    expect((await api.read("c/d")).updateTime).toBe(t1);
    // 1 (integer) and 1.0 (double) are different stored values: a change.
    const t2 = await api.set("c/d", { a: { doubleValue: 1 }, m: { mapValue: { fields: { x: int(1), y: int(2) } } } });
    expect(t2 > t1).toBe(true);
    const doc = await api.read("c/d");
    expect(doc.createTime).toBe(t1);
    expect(doc.updateTime).toBe(t2);
  });

  it("returns microsecond timestamps, truncating nanoseconds", async () => {
    const api = newApi();
    await api.set("c/d", {
      t: { timestampValue: "2023-11-14T22:13:20.123456789Z" },
      u: { timestampValue: "2023-11-14T23:13:20+01:00" },
    });
    expect((await api.read("c/d")).fields).toEqual({
      t: { timestampValue: "2023-11-14T22:13:20.123456Z" },
      u: { timestampValue: "2023-11-14T22:13:20.000000Z" },
    });
  });
});

describe("commit: values round-trip", () => {
  it("stores every value type in canonical form", async () => {
    const api = newApi();
    const fields = {
      nul: { nullValue: "NULL_VALUE" },
      nul2: { nullValue: null },
      t: { booleanValue: true },
      i: { integerValue: "-9223372036854775808" },
      i2: { integerValue: 42 },
      d: { doubleValue: 1.5 },
      nan: { doubleValue: "NaN" },
      inf: { doubleValue: "-Infinity" },
      s: str("héllo 🌍"),
      b: { bytesValue: "AQID" },
      r: { referenceValue: api.name("c/other") },
      g: { geoPointValue: { latitude: 37.7, longitude: -122.4 } },
      g0: { geoPointValue: {} },
      a: { arrayValue: { values: [int(1), { mapValue: { fields: { x: { arrayValue: {} } } } }] } },
      e: { arrayValue: {} },
      m: { mapValue: {} },
      v: {
        mapValue: {
          fields: {
            __type__: str("__vector__"),
            value: { arrayValue: { values: [{ doubleValue: 1 }, { doubleValue: 2 }] } },
          },
        },
      },
    };
    await api.set("c/d", fields);
    const doc = await api.read("c/d");
    expect(doc.fields).toEqual({
      ...fields,
      nul: { nullValue: null },
      i2: int(42),
      g0: { geoPointValue: { latitude: 0, longitude: 0 } },
      a: { arrayValue: { values: [int(1), { mapValue: { fields: { x: { arrayValue: { values: [] } } } } }] } },
      e: { arrayValue: { values: [] } },
      m: { mapValue: { fields: {} } },
    });
  });

  it("keeps -0 distinct from 0", async () => {
    const api = newApi();
    // JSON.stringify drops the sign of -0: send the literal, as a hand-written body would.
    const body = `{"writes":[{"update":{"name":"${api.name("c/d")}","fields":{"z":{"doubleValue":-0},"s":{"doubleValue":"-0"}}}}]}`;
    expect((await api.post(":commit", body)).status).toBe(200);
    const raw = await (await api.fetch("/c/d")).text();
    const doc = JSON.parse(raw);
    expect(Object.is(Number(doc.fields.z.doubleValue), -0)).toBe(true);
    expect(Object.is(Number(doc.fields.s.doubleValue), -0)).toBe(true);
  });
});
