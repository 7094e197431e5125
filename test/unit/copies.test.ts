import { describe, expect, it } from "vitest";
import { binaryString } from "../../src/model/bytes.js";
import { applyUpdate, cloneFields } from "../../src/model/mutation.js";
import type { Fields } from "../../src/model/types.js";
import { Aggregator, aggregate } from "../../src/query/aggregate.js";

describe("binaryString", () => {
  it("maps each byte to one code unit, across chunk boundaries", () => {
    for (const n of [0, 1, 0x2000, 0x2001, 50_000]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
      const s = binaryString(bytes);
      expect(s.length).toBe(n);
      for (let i = 0; i < n; i += 997) expect(s.charCodeAt(i)).toBe(bytes[i]);
      if (n > 0) expect(s.charCodeAt(n - 1)).toBe(bytes[n - 1]);
    }
  });
});

describe("cloneFields", () => {
  const original = (): Fields => ({
    s: { stringValue: "x".repeat(100) },
    m: {
      mapValue: { fields: { a: { arrayValue: { values: [{ integerValue: "1" }, { mapValue: { fields: {} } }] } } } },
    },
    g: { geoPointValue: { latitude: 1, longitude: 2 } },
  });

  it("copies every map, array and value object, and keeps equal content", () => {
    const src = original();
    const copy = cloneFields(src);
    expect(copy).toEqual(src);
    expect(copy.m).not.toBe(src.m);
    const inner = (f: Fields) =>
      (f.m as { mapValue: { fields: Fields } }).mapValue.fields.a as {
        arrayValue: { values: unknown[] };
      };
    expect(inner(copy).arrayValue.values).not.toBe(inner(src).arrayValue.values);
    expect(copy.g).not.toBe(src.g);
    (copy.g as { geoPointValue: { latitude: number } }).geoPointValue.latitude = 5;
    inner(copy).arrayValue.values.push({ nullValue: null });
    expect(src).toEqual(original());
  });

  it("keeps a field named __proto__ an ordinary field", () => {
    const src = JSON.parse('{"__proto__": {"integerValue": "1"}}') as Fields;
    const copy = cloneFields(src);
    expect(Object.keys(copy)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
  });

  it("updates never change the write's or the document's maps", () => {
    const current = original();
    const write = { fields: original(), mask: [["m", "a"], ["n"]], transforms: [] };
    const { fields } = applyUpdate(current, write, "2026-01-01T00:00:00Z");
    (fields.m as { mapValue: { fields: Fields } }).mapValue.fields.z = { nullValue: null };
    expect(current).toEqual(original());
    expect(write.fields).toEqual(original());
  });
});

describe("Aggregator", () => {
  it("gives what aggregate() gives over the same documents, added one at a time", () => {
    const docs = [1, 2.5, "x", 4].map((v, i) => ({
      path: `c/d${i}`,
      name: `projects/p/databases/(default)/documents/c/d${i}`,
      fields:
        typeof v === "string"
          ? { a: { stringValue: v } }
          : { a: Number.isInteger(v) ? { integerValue: String(v) } : { doubleValue: v } },
      createTime: 0,
      updateTime: 0,
    }));
    const aggregations = [
      { alias: "n", kind: "count" as const },
      { alias: "s", kind: "sum" as const, field: ["a"] },
      { alias: "m", kind: "avg" as const, field: ["a"] },
    ];
    const streamed = new Aggregator(aggregations);
    for (const d of docs) streamed.add(d);
    expect(streamed.result()).toEqual(aggregate(docs, aggregations));
    expect(streamed.result()).toEqual({ n: { integerValue: "4" }, s: { doubleValue: 7.5 }, m: { doubleValue: 2.5 } });
  });
});
