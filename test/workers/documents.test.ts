import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { expectError, int, newApi, str } from "./helpers.js";

describe("documents.get / createDocument / patch / delete", () => {
  it("gets a document with a mask, and 404s a missing one", async () => {
    const api = newApi();
    await api.set("c/d", { a: int(1), b: { mapValue: { fields: { x: int(1), y: int(2) } } }, c: int(3) });
    const masked = await api.get("/c/d?mask.fieldPaths=a&mask.fieldPaths=b.y");
    expect(masked.status).toBe(200);
    expect(masked.body.fields).toEqual({ a: int(1), b: { mapValue: { fields: { y: int(2) } } } });
    const missing = await api.get("/c/nope");
    expect(expectError(missing, 404, "NOT_FOUND")).toContain(api.name("c/nope"));
  });

  it("creates with a given id, rejects a taken id with ALREADY_EXISTS, and generates 20-char ids", async () => {
    const api = newApi();
    const created = await api.post("/rooms?documentId=r1", { fields: { n: int(1) } });
    expect(created.status).toBe(200);
    expect(created.body.name).toBe(api.name("rooms/r1"));
    expect(created.body.createTime).toBe(created.body.updateTime);
    expectError(await api.post("/rooms?documentId=r1", { fields: {} }), 409, "ALREADY_EXISTS");
    const auto = await api.post("/rooms", { fields: { n: int(2) } });
    expect(auto.body.name).toMatch(new RegExp(`^${api.name("rooms/")}[A-Za-z0-9]{20}$`.replace(/[()]/g, "\\$&")));
    const sub = await api.post("/rooms/r1/messages?documentId=m1", { fields: { text: str("hi") } });
    expect(sub.body.name).toBe(api.name("rooms/r1/messages/m1"));
  });

  it("patches with and without updateMask, honours currentDocument, and creates when absent", async () => {
    const api = newApi();
    const patch = (suffix: string, body: unknown) =>
      api
        .fetch(suffix, { method: "PATCH", body: JSON.stringify(body) })
        .then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    const created = await patch("/c/d", { fields: { a: int(1), b: int(2) } });
    expect(created.status).toBe(200);
    expect(created.body.fields).toEqual({ a: int(1), b: int(2) });
    const merged = await patch("/c/d?updateMask.fieldPaths=a&updateMask.fieldPaths=z", {
      fields: { a: int(5), b: int(9) },
    });
    expect(merged.body.fields).toEqual({ a: int(5), b: int(2) });
    expectError(await patch("/c/none?currentDocument.exists=true", { fields: {} }), 404, "NOT_FOUND");
    expectError(await patch("/c/d?currentDocument.exists=false", { fields: {} }), 409, "ALREADY_EXISTS");
    const masked = await patch("/c/d?mask.fieldPaths=b", { fields: { a: int(1), b: int(3) } });
    expect(masked.body.fields).toEqual({ b: int(3) });
    expectError(await patch("/c/d", { name: api.name("c/other"), fields: {} }), 400, "INVALID_ARGUMENT");
  });

  it("deletes with preconditions", async () => {
    const api = newApi();
    const t = await api.set("c/d", { a: int(1) });
    const del = (suffix: string) =>
      api.fetch(suffix, { method: "DELETE" }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    expectError(await del("/c/d?currentDocument.updateTime=2000-01-01T00:00:00Z"), 400, "FAILED_PRECONDITION");
    expectError(await del("/c/zzz?currentDocument.exists=true"), 404, "NOT_FOUND");
    expect(await del(`/c/d?currentDocument.updateTime=${encodeURIComponent(t)}`)).toEqual({ status: 200, body: {} });
    expect(await api.read("c/d")).toBeUndefined();
  });

  it("serves the same API under /v1beta1 and keeps named databases separate", async () => {
    const api = newApi();
    await api.set("c/d", { a: int(1) });
    const beta = await SELF.fetch(`http://x/v1beta1/${api.db}/documents/c/d`);
    expect(beta.status).toBe(200);
    const other = await SELF.fetch(`http://x/v1/projects/${api.project}/databases/otherdb/documents/c/d`);
    expect(other.status).toBe(404);
  });
});

describe("documents.list and listCollectionIds", () => {
  it("lists a collection in name order with paging, masks and descending order", async () => {
    const api = newApi();
    for (const id of ["b", "a", "c", "d", "e"]) await api.set(`c/${id}`, { id: str(id), n: int(id.charCodeAt(0)) });
    await api.set("other/x", {});
    await api.set("c/a/sub/s1", {}); // a subcollection document is not in the listing
    const names: string[] = [];
    let token = "";
    for (let page = 0; page < 5; page++) {
      const res = await api.get(`/c?pageSize=2${token ? `&pageToken=${token}` : ""}`);
      expect(res.status).toBe(200);
      names.push(...res.body.documents.map((d: any) => d.name.split("/").pop()));
      if (!res.body.nextPageToken) break;
      token = res.body.nextPageToken;
    }
    expect(names).toEqual(["a", "b", "c", "d", "e"]);
    const desc = await api.get("/c?orderBy=__name__%20desc&mask.fieldPaths=id");
    expect(desc.body.documents.map((d: any) => d.fields.id.stringValue)).toEqual(["e", "d", "c", "b", "a"]);
    const byField = await api.get("/c?orderBy=n%20desc&pageSize=3");
    expect(byField.body.documents.map((d: any) => d.fields.id.stringValue)).toEqual(["e", "d", "c"]);
    const rest = await api.get(`/c?orderBy=n%20desc&pageSize=3&pageToken=${byField.body.nextPageToken}`);
    expect(rest.body.documents.map((d: any) => d.fields.id.stringValue)).toEqual(["b", "a"]);
  });

  it("shows missing documents (with subcollections but no fields) when asked", async () => {
    const api = newApi();
    await api.set("c/a", {});
    await api.set("c/ghost/sub/x", {});
    await api.set("c/ghost/sub2/y", {});
    const plain = await api.get("/c");
    expect(plain.body.documents.map((d: any) => d.name)).toEqual([api.name("c/a")]);
    const all = await api.get("/c?showMissing=true");
    expect(all.body.documents).toEqual([
      expect.objectContaining({ name: api.name("c/a"), createTime: expect.any(String) }),
      { name: api.name("c/ghost") },
    ]);
    expectError(await api.get("/c?showMissing=true&orderBy=a"), 400, "INVALID_ARGUMENT");
  });

  it("lists collection ids at the root and under a document, paged", async () => {
    const api = newApi();
    for (const p of ["b/1", "a/1", "a/2", "c/1/x/1", "c/1/y/1/deep/1", "c/1/x/2"]) await api.set(p, {});
    const root = await api.post(":listCollectionIds", {});
    expect(root.body).toEqual({ collectionIds: ["a", "b", "c"] });
    const sub = await api.post("/c/1:listCollectionIds", {});
    expect(sub.body.collectionIds).toEqual(["x", "y"]);
    const page1 = await api.post(":listCollectionIds", { pageSize: 2 });
    expect(page1.body.collectionIds).toEqual(["a", "b"]);
    const page2 = await api.post(":listCollectionIds", { pageSize: 2, pageToken: page1.body.nextPageToken });
    expect(page2.body).toEqual({ collectionIds: ["c"] });
  });
});

describe("batchGet and batchWrite", () => {
  it("batchGet returns found and missing entries, each with readTime, honouring the mask", async () => {
    const api = newApi();
    await api.set("c/a", { x: int(1), y: int(2) });
    const res = await api.post(":batchGet", {
      documents: [api.name("c/a"), api.name("c/b")],
      mask: { fieldPaths: ["y"] },
    });
    expect(res.body).toEqual([
      {
        found: expect.objectContaining({ name: api.name("c/a"), fields: { y: int(2) } }),
        readTime: expect.any(String),
      },
      { missing: api.name("c/b"), readTime: expect.any(String) },
    ]);
    const raw = await api.fetch(":batchGet", { method: "POST", body: JSON.stringify({ documents: [] }) });
    expect((await raw.text())[0]).toBe("[");
  });

  it("batchWrite applies writes independently with one status each", async () => {
    const api = newApi();
    await api.set("c/exists", {});
    const res = await api.post(":batchWrite", {
      writes: [
        { update: { name: api.name("c/a"), fields: { n: int(1) } } },
        { update: { name: api.name("c/exists"), fields: {} }, currentDocument: { exists: false } },
        { delete: api.name("c/b") },
        { update: { name: api.name("c/missing"), fields: {} }, currentDocument: { exists: true } },
      ],
      labels: { origin: "test" },
    });
    expect(res.status).toBe(200);
    expect(res.body.status.map((s: any) => s.code ?? 0)).toEqual([0, 6, 0, 5]);
    expect(res.body.writeResults[0].updateTime).toEqual(expect.any(String));
    expect(res.body.writeResults[1]).toEqual({});
    expect(res.body.status[1].message).toContain("c/exists");
    expect((await api.read("c/a")).fields).toEqual({ n: int(1) });
    expect(await api.read("c/missing")).toBeUndefined();
  });

  it("batchWrite rejects two writes to the same document", async () => {
    const api = newApi();
    const res = await api.post(":batchWrite", {
      writes: [{ update: { name: api.name("c/a"), fields: {} } }, { delete: api.name("c/a") }],
    });
    expect(expectError(res, 400, "INVALID_ARGUMENT")).toContain("c/a");
    expect(await api.read("c/a")).toBeUndefined();
  });
});

describe("emulator conventions and CORS", () => {
  it("DELETE /emulator/v1/…/documents empties the database", async () => {
    const api = newApi();
    await api.set("c/a", {});
    await api.set("c/a/s/b", {});
    const res = await SELF.fetch(`http://x/emulator/v1/${api.db}/documents`, { method: "DELETE" });
    expect(res.status).toBe(200);
    expect(await api.read("c/a")).toBeUndefined();
    expect((await api.post(":listCollectionIds", {})).body.collectionIds).toEqual([]);
  });

  it("answers preflights echoing origin and requested headers, with credentials", async () => {
    const api = newApi();
    const pre = await api.fetch(":commit", {
      method: "OPTIONS",
      headers: {
        Origin: "http://localhost:5173",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-goog-api-client",
      },
    });
    expect(pre.status).toBeLessThan(300);
    expect(pre.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(pre.headers.get("access-control-allow-credentials")).toBe("true");
    expect(pre.headers.get("access-control-allow-headers")?.toLowerCase()).toContain("authorization");
    const res = await api.fetch(":batchGet", {
      method: "POST",
      headers: { Origin: "http://localhost:5173" },
      body: JSON.stringify({ documents: [] }),
    });
    expect(res.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
  });
});

describe("numeric document ids", () => {
  it("accepts canonical __id<n>__ document ids, sorting them first and numerically", async () => {
    const api = newApi();
    for (const id of ["b", "__id10__", "a", "__id-3__", "__id2__"]) await api.set(`c/${id}`, {});
    const listed = await api.get("/c");
    expect(listed.body.documents.map((d: any) => d.name.split("/").pop())).toEqual([
      "__id-3__",
      "__id2__",
      "__id10__",
      "a",
      "b",
    ]);
    for (const bad of ["__id07__", "__id-0__", "__id9223372036854775808__", "__idx__"]) {
      const res = await api.commit([{ update: { name: api.name(`c/${bad}`), fields: {} } }]);
      expect(expectError(res, 400, "INVALID_ARGUMENT")).toContain(bad);
    }
    const coll = await api.commit([{ update: { name: api.name("__id1__/d"), fields: {} } }]);
    expectError(coll, 400, "INVALID_ARGUMENT");
  });
});
