/** White-box: the automatic index entries follow every commit exactly. */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { indexEntries } from "../../durable-objects/database/indexes.js";
import { int, newApi, str } from "./helpers.js";

async function entries(project: string): Promise<string[]> {
  const stub = env.DATABASE.get(env.DATABASE.idFromName(`${project}/(default)`));
  return runInDurableObject(stub, (_i, state) =>
    state.storage.sql
      .exec<{ collection_id: string; field: string; kind: number; key: ArrayBuffer }>(
        "SELECT collection_id, field, kind, key FROM index_entries ORDER BY collection_id, field, kind, value, key",
      )
      .toArray()
      .map((r) => `${r.collection_id}:${r.field}:${r.kind}`),
  );
}

describe("index maintenance", () => {
  it("indexes every field, nested map fields and array elements; diffs on update; clears on delete", async () => {
    const api = newApi();
    await api.set("c/a", {
      n: int(1),
      m: { mapValue: { fields: { x: str("y") } } },
      arr: { arrayValue: { values: [int(1), int(1), str("z")] } },
    });
    expect(await entries(api.project)).toEqual([
      "c:arr:0",
      "c:arr:1",
      "c:arr:1", // two distinct elements (1 once, "z")
      "c:m:0",
      "c:m.x:0",
      "c:n:0",
    ]);
    await api.commit([
      { update: { name: api.name("c/a"), fields: { n: int(2) } }, updateMask: { fieldPaths: ["n", "m"] } },
    ]);
    expect(await entries(api.project)).toEqual(["c:arr:0", "c:arr:1", "c:arr:1", "c:n:0"]);
    await api.commit([{ delete: api.name("c/a") }]);
    expect(await entries(api.project)).toEqual([]);
  });

  it("a failed commit leaves no index entries behind", async () => {
    const api = newApi();
    const res = await api.commit([
      { update: { name: api.name("c/a"), fields: { n: int(1) } } },
      { update: { name: api.name("c/missing"), fields: {} }, currentDocument: { exists: true } },
    ]);
    expect(res.status).toBe(404);
    expect(await entries(api.project)).toEqual([]);
  });

  it("does not index inside vectors, and uses distinct entries per array element", () => {
    const vec = {
      mapValue: {
        fields: {
          __type__: str("__vector__"),
          value: { arrayValue: { values: [{ doubleValue: 1 }] } },
        },
      },
    };
    const all = [...indexEntries({ v: vec, a: { arrayValue: { values: [int(1), { doubleValue: 1 }] } } }).values()];
    expect(all.map((e) => `${e.field}:${e.kind}`).sort()).toEqual(["a:0", "a:1", "v:0"]);
  });
});
