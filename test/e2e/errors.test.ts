/**
 * Failure paths the server must enforce (the SDKs pass these through): reserved names, invalid ids,
 * document size and nesting limits, malformed requests. Lite maps HTTP 400 to
 * `failed-precondition` (wire doc §1.5); the admin SDK over REST surfaces the HTTP status as `code`.
 */
import type * as admin from "@google-cloud/firestore";
import * as lite from "firebase/firestore/lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminClient,
  adminError,
  docName,
  type LiteClient,
  liteClient,
  rawCommit,
  rejection,
  rest,
  serverUrl,
  uniqueProject,
} from "./clients.js";

const PROJECT = uniqueProject("errors");
let l: LiteClient;
let a: admin.Firestore;

beforeAll(() => {
  l = liteClient(PROJECT);
  a = adminClient(PROJECT);
});

afterAll(async () => {
  await l.close();
  await a.terminate();
});

const ldoc = (...path: string[]) => lite.doc(l.db, path.join("/"));
const DB = `projects/${PROJECT}/databases/(default)`;

/** Asserts an admin REST error: HTTP status as code, the google.rpc status name in the body. */
function expectAdminError(e: { code?: unknown; message: string }, http: number, status: string): void {
  const error = adminError(e);
  expect(error.http).toBe(http);
  expect(error.status).toBe(status);
  expect(error.message.length).toBeGreaterThan(0);
}

describe("invalid document data", () => {
  it("reserved field names (__x__) are rejected with INVALID_ARGUMENT (admin), top-level and nested", async () => {
    expectAdminError(await rejection(() => a.doc("inv/f1").set({ __x__: 1 })), 400, "INVALID_ARGUMENT");
    expectAdminError(await rejection(() => a.doc("inv/f2").set({ m: { __name__: 1 } })), 400, "INVALID_ARGUMENT");
    await a.doc("inv/f3").set({ ok: 1 });
    expectAdminError(await rejection(() => a.doc("inv/f3").update({ "m.__y__": 1 })), 400, "INVALID_ARGUMENT");
    const snaps = await a.getAll(a.doc("inv/f1"), a.doc("inv/f2"), a.doc("inv/f3"));
    expect(snaps.map((s) => s.data())).toEqual([undefined, undefined, { ok: 1 }]);
    // Names that merely contain underscores are fine.
    await a.doc("inv/f4").set({ __x: 1, x__: 2, _: 3, __: 4, ___: 5 });
    expect((await a.doc("inv/f4").get()).data()).toEqual({ __x: 1, x__: 2, _: 3, __: 4, ___: 5 });
  });

  it("arrays directly inside arrays are rejected (admin passes them through)", async () => {
    expectAdminError(await rejection(() => a.doc("inv/nested").set({ a: [1, [2]] })), 400, "INVALID_ARGUMENT");
    // An array inside a map inside an array is fine.
    await a.doc("inv/nested-ok").set({ a: [1, { b: [2, { c: [3] }] }] });
    expect((await a.doc("inv/nested-ok").get()).get("a")).toEqual([1, { b: [2, { c: [3] }] }]);
  });

  it("reserved, '.' / '..' and over-long document and collection ids are rejected", async () => {
    for (const path of [
      ["c", "__id__"],
      ["__c__", "d"],
      ["c", "."],
      ["c", ".."],
      ["c", "x".repeat(1501)],
    ]) {
      const e = await rejection(() => lite.setDoc(ldoc(...path), { a: 1 }));
      expect(e.code).toBe("failed-precondition"); // HTTP 400 as lite reports it
    }
    expectAdminError(await rejection(() => a.doc("c/__id__").set({ a: 1 })), 400, "INVALID_ARGUMENT");
    // 1500 bytes is still allowed ("é" is two bytes in UTF-8).
    const id = "é".repeat(750);
    await lite.setDoc(ldoc("c", id), { ok: true });
    expect((await a.collection("c").doc(id).get()).get("ok")).toBe(true);
    const e = await rejection(() => lite.setDoc(ldoc("c", `${id}x`), { a: 1 }));
    expect(e.code).toBe("failed-precondition");
  });

  it("documents over 1 MiB are rejected; a large document under the limit round-trips", async () => {
    const huge = "x".repeat(1024 * 1024);
    expect((await rejection(() => lite.setDoc(ldoc("size/huge"), { s: huge }))).code).toBe("failed-precondition");
    expectAdminError(await rejection(() => a.doc("size/huge").set({ s: huge })), 400, "INVALID_ARGUMENT");
    // Growing an existing document past the limit with update fails too, leaving it unchanged.
    const half = "y".repeat(600_000);
    await a.doc("size/grow").set({ a: half });
    expectAdminError(await rejection(() => a.doc("size/grow").update({ b: half })), 400, "INVALID_ARGUMENT");
    expect(Object.keys((await a.doc("size/grow").get()).data() ?? {})).toEqual(["a"]);

    const big = "😀".repeat(250_000); // 1,000,000 bytes of UTF-8
    await lite.setDoc(ldoc("size/big"), { s: big });
    const snap = await lite.getDoc(ldoc("size/big"));
    expect(snap.get("s") === big).toBe(true);
    expect(((await a.doc("size/big").get()).get("s") as string) === big).toBe(true);
  });

  it("maps nested far beyond 20 levels are rejected; moderate nesting is fine", async () => {
    const nest = (depth: number): unknown => {
      let v: unknown = "leaf";
      for (let i = 0; i < depth; i++) v = { m: v };
      return v;
    };
    await lite.setDoc(ldoc("depth/ok"), { v: nest(10) });
    expect((await lite.getDoc(ldoc("depth/ok"))).get("v")).toEqual(nest(10));
    expect((await rejection(() => lite.setDoc(ldoc("depth/bad"), { v: nest(40) }))).code).toBe("failed-precondition");
    expect((await lite.getDoc(ldoc("depth/bad"))).exists()).toBe(false);
  });
});

describe("malformed REST requests", () => {
  it("unparseable JSON, unknown fields and wrong types answer 400 INVALID_ARGUMENT", async () => {
    const bad = await fetch(`${serverUrl()}/v1/${DB}/documents:commit`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { status: string } }).error.status).toBe("INVALID_ARGUMENT");

    for (const body of [
      { writes: [{ update: { name: docName(PROJECT, "m/a"), fields: {} } }], bogus: 1 },
      { writes: [{ update: { name: docName(PROJECT, "m/a"), fields: { x: { integerValue: "12abc" } } } }] },
      { writes: [{ update: { name: docName(PROJECT, "m/a"), fields: { x: { stringValue: 1 } } } }] },
      { writes: [{ update: { name: docName(PROJECT, "m/a"), fields: { x: { timestampValue: "not a time" } } } }] },
      {
        writes: [{ update: { name: docName(PROJECT, "m/a"), fields: { x: { integerValue: "9223372036854775808" } } } }],
      },
      {
        writes: [
          {
            update: { name: docName(PROJECT, "m/a"), fields: { x: { geoPointValue: { latitude: 91, longitude: 0 } } } },
          },
        ],
      },
      { writes: [{ update: { name: docName(PROJECT, "m"), fields: {} } }] },
      { writes: [{ update: { name: `projects/${PROJECT}/databases/other/documents/m/a`, fields: {} } }] },
      { writes: [{ update: { name: docName(PROJECT, "m/a"), fields: { x: {} } } }] },
    ]) {
      const res = await rest("POST", `${DB}/documents:commit`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((res.json as { error: { status: string; code: number } }).error).toMatchObject({
        code: 400,
        status: "INVALID_ARGUMENT",
      });
    }
    expect((await a.doc("m/a").get()).exists).toBe(false);
  });

  it("errors have the google.rpc shape with the proper HTTP status", async () => {
    const res = await rawCommit(PROJECT, [
      { update: { name: docName(PROJECT, "m/missing"), fields: {} }, currentDocument: { exists: true } },
    ]);
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ error: { code: 404, status: "NOT_FOUND" } });
    expect(typeof (res.json as { error: { message: unknown } }).error.message).toBe("string");
  });
});

describe("precondition and transaction misuse", () => {
  it("a commit naming a rolled-back transaction fails and writes nothing", async () => {
    const begin = await rest("POST", `${DB}/documents:beginTransaction`, { options: { readWrite: {} } });
    expect(begin.status).toBe(200);
    const tx = (begin.json as { transaction: string }).transaction;
    expect(typeof tx).toBe("string");
    expect((await rest("POST", `${DB}/documents:rollback`, { transaction: tx })).status).toBe(200);
    const res = await rest("POST", `${DB}/documents:commit`, {
      writes: [{ update: { name: docName(PROJECT, "txm/a"), fields: {} } }],
      transaction: tx,
    });
    expect([400, 409]).toContain(res.status);
    expect((await a.doc("txm/a").get()).exists).toBe(false);
  });

  it("a commit in a read-only transaction is refused", async () => {
    const begin = await rest("POST", `${DB}/documents:beginTransaction`, { options: { readOnly: {} } });
    expect(begin.status).toBe(200);
    const tx = (begin.json as { transaction: string }).transaction;
    const res = await rest("POST", `${DB}/documents:commit`, {
      writes: [{ update: { name: docName(PROJECT, "txm/ro"), fields: {} } }],
      transaction: tx,
    });
    expect(res.status).toBe(400);
    expect((await a.doc("txm/ro").get()).exists).toBe(false);
  });

  it("an exists:false precondition on an existing document fails with 409 (admin create)", async () => {
    await lite.setDoc(ldoc("pre/x"), { v: 1 });
    expectAdminError(await rejection(() => a.doc("pre/x").create({ v: 2 })), 409, "ALREADY_EXISTS");
  });

  it("a stale updateTime precondition fails with 400 FAILED_PRECONDITION", async () => {
    const w = await a.doc("pre/y").set({ v: 1 });
    await a.doc("pre/y").set({ v: 2 });
    expectAdminError(
      await rejection(() => a.doc("pre/y").update({ v: 3 }, { lastUpdateTime: w.writeTime })),
      400,
      "FAILED_PRECONDITION",
    );
    expect((await a.doc("pre/y").get()).get("v")).toBe(2);
  });
});
