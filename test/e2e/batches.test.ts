/**
 * Atomic batches (lite writeBatch, admin batch → :commit) and the non-atomic admin BulkWriter
 * (→ :batchWrite, one status per write).
 */
import * as admin from "@google-cloud/firestore";
import * as lite from "firebase/firestore/lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminClient,
  adminError,
  docName,
  type LiteClient,
  liteClient,
  rejection,
  rest,
  uniqueProject,
} from "./clients.js";

const PROJECT = uniqueProject("batches");
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

const ldoc = (path: string) => lite.doc(l.db, path);

async function state(paths: string[]): Promise<Record<string, admin.DocumentData | null>> {
  const snaps = await a.getAll(...paths.map((p) => a.doc(p)));
  return Object.fromEntries(snaps.map((s) => [s.ref.path, s.exists ? (s.data() as admin.DocumentData) : null]));
}

describe("writeBatch (lite)", () => {
  it("applies set, update, delete and sub-collection writes together, with one commit time", async () => {
    await lite.setDoc(ldoc("lb/upd"), { n: 1, keep: true });
    await lite.setDoc(ldoc("lb/del"), { n: 1 });
    const batch = lite.writeBatch(l.db);
    batch.set(ldoc("lb/new"), { n: 1 });
    batch.update(ldoc("lb/upd"), { n: 2, at: lite.serverTimestamp() });
    batch.delete(ldoc("lb/del"));
    batch.set(ldoc("lb/new/sub/child"), { c: true });
    batch.set(ldoc("lb/new"), { extra: lite.increment(5) }, { merge: true });
    await batch.commit();
    expect(await state(["lb/new", "lb/del", "lb/new/sub/child"])).toEqual({
      "lb/new": { n: 1, extra: 5 },
      "lb/del": null,
      "lb/new/sub/child": { c: true },
    });
    const [upd, created, child] = await a.getAll(a.doc("lb/upd"), a.doc("lb/new"), a.doc("lb/new/sub/child"));
    expect(upd?.get("n")).toBe(2);
    expect(upd?.get("keep")).toBe(true);
    const t = upd?.updateTime as admin.Timestamp;
    const at = upd?.get("at") as admin.Timestamp;
    expect(at.isEqual(t)).toBe(true);
    expect(created?.updateTime?.isEqual(t)).toBe(true);
    expect(child?.updateTime?.isEqual(t)).toBe(true);
  });

  it("a batch whose last write fails (update of a missing doc) applies none of its writes", async () => {
    await lite.setDoc(ldoc("lb2/existing"), { v: "before" });
    await lite.setDoc(ldoc("lb2/doomed"), { v: "before" });
    const batch = lite.writeBatch(l.db);
    batch.set(ldoc("lb2/existing"), { v: "after" });
    batch.set(ldoc("lb2/created"), { v: "new" });
    batch.delete(ldoc("lb2/doomed"));
    batch.update(ldoc("lb2/existing"), { inc: lite.increment(1) });
    batch.update(ldoc("lb2/missing"), { v: 1 });
    const e = await rejection(() => batch.commit());
    expect(e.code).toBe("not-found");
    expect(await state(["lb2/existing", "lb2/created", "lb2/doomed", "lb2/missing"])).toEqual({
      "lb2/existing": { v: "before" },
      "lb2/created": null,
      "lb2/doomed": { v: "before" },
      "lb2/missing": null,
    });
  });

  it("several writes to one document in one batch apply in order", async () => {
    const batch = lite.writeBatch(l.db);
    batch.set(ldoc("lb3/d"), { a: 1, b: 1 });
    batch.update(ldoc("lb3/d"), { b: 2, c: lite.arrayUnion("x") });
    batch.delete(ldoc("lb3/d"));
    batch.set(ldoc("lb3/d"), { final: true }, { merge: true });
    batch.update(ldoc("lb3/d"), { n: lite.increment(2) });
    await batch.commit();
    expect((await lite.getDoc(ldoc("lb3/d"))).data()).toEqual({ final: true, n: 2 });
  });
});

describe("batch (admin)", () => {
  it("a batch failing on its last write (create of an existing doc → 409) applies nothing", async () => {
    await a.doc("ab/exists").set({ v: 0 });
    await a.doc("ab/keep").set({ v: 0 });
    const batch = a.batch();
    batch.set(a.doc("ab/fresh"), { v: 1 });
    batch.update(a.doc("ab/keep"), { v: admin.FieldValue.increment(1) });
    batch.delete(a.doc("ab/keep"));
    batch.create(a.doc("ab/exists"), { v: 1 });
    const e = await rejection(() => batch.commit());
    expect(adminError(e)).toMatchObject({ http: 409, status: "ALREADY_EXISTS" });
    expect(await state(["ab/fresh", "ab/keep", "ab/exists"])).toEqual({
      "ab/fresh": null,
      "ab/keep": { v: 0 },
      "ab/exists": { v: 0 },
    });
  });

  it("a batch failing on an update of a missing document (404) applies nothing", async () => {
    const batch = a.batch();
    batch.set(a.doc("ab2/one"), { v: 1 });
    batch.set(a.doc("ab2/two"), { v: 2 });
    batch.update(a.doc("ab2/none"), { v: 3 });
    const e = await rejection(() => batch.commit());
    expect(adminError(e).http).toBe(404);
    expect(await state(["ab2/one", "ab2/two", "ab2/none"])).toEqual({
      "ab2/one": null,
      "ab2/two": null,
      "ab2/none": null,
    });
  });

  it("a successful batch returns one WriteResult per write, in order", async () => {
    const batch = a.batch();
    for (let i = 0; i < 25; i++) batch.set(a.doc(`ab3/d${i}`), { i });
    batch.delete(a.doc("ab3/d0"));
    const results = await batch.commit();
    expect(results).toHaveLength(26);
    const t = results[1]?.writeTime as admin.Timestamp;
    for (const r of results) expect(r.writeTime.isEqual(t)).toBe(true);
    const snaps = await a.getAll(...Array.from({ length: 25 }, (_, i) => a.doc(`ab3/d${i}`)));
    expect(snaps.map((s) => s.exists)).toEqual([false, ...Array(24).fill(true)]);
  });
});

describe("bulkWriter (admin, :batchWrite)", () => {
  it("applies writes independently: failures are reported per write, the rest succeed", async () => {
    await a.doc("bw/exists").set({ v: 0 });
    const writer = a.bulkWriter();
    const errors: admin.BulkWriterError[] = [];
    writer.onWriteError((err) => {
      errors.push(err);
      return false;
    });
    const ok: Promise<admin.WriteResult>[] = [];
    for (let i = 0; i < 30; i++) ok.push(writer.set(a.doc(`bw/d${i}`), { i }));
    const failedCreate = writer.create(a.doc("bw/exists"), { v: 1 });
    const failedUpdate = writer.update(a.doc("bw/missing"), { v: 1 });
    ok.push(writer.update(a.doc("bw/exists"), { v: 2 }));
    ok.push(writer.delete(a.doc("bw/d29")));
    const settled = await Promise.allSettled([failedCreate, failedUpdate]);
    await writer.close();
    const results = await Promise.all(ok);
    for (const r of results) expect(r.writeTime).toBeInstanceOf(admin.Timestamp);

    expect(settled.map((s) => s.status)).toEqual(["rejected", "rejected"]);
    const [ce, ue] = settled.map((s) => (s as PromiseRejectedResult).reason as admin.BulkWriterError);
    expect(ce?.code).toBe(admin.GrpcStatus.ALREADY_EXISTS);
    expect(ce?.documentRef.path).toBe("bw/exists");
    expect(ue?.code).toBe(admin.GrpcStatus.NOT_FOUND);
    expect(ue?.documentRef.path).toBe("bw/missing");
    expect(errors).toHaveLength(2);

    const snaps = await a.getAll(
      ...Array.from({ length: 30 }, (_, i) => a.doc(`bw/d${i}`)),
      a.doc("bw/exists"),
      a.doc("bw/missing"),
    );
    expect(snaps.slice(0, 29).every((s, i) => s.get("i") === i)).toBe(true);
    expect(snaps[29]?.exists).toBe(false);
    expect(snaps[30]?.data()).toEqual({ v: 2 });
    expect(snaps[31]?.exists).toBe(false);
  });

  it("several writes to the same document are applied in order", async () => {
    const writer = a.bulkWriter();
    void writer.set(a.doc("bw2/same"), { n: 1 });
    void writer.update(a.doc("bw2/same"), { n: admin.FieldValue.increment(1) });
    void writer.update(a.doc("bw2/same"), { m: "x" });
    await writer.close();
    expect((await a.doc("bw2/same").get()).data()).toEqual({ n: 2, m: "x" });
  });

  it("batchWrite answers 200 with per-write status codes (wire)", async () => {
    const db = `projects/${PROJECT}/databases/(default)`;
    const res = await rest("POST", `${db}/documents:batchWrite`, {
      writes: [
        { update: { name: docName(PROJECT, "bw3/a"), fields: { v: { integerValue: "1" } } } },
        { update: { name: docName(PROJECT, "bw3/b"), fields: {} }, currentDocument: { exists: true } },
        { delete: docName(PROJECT, "bw3/c") },
      ],
    });
    expect(res.status).toBe(200);
    const body = res.json as { writeResults: { updateTime?: string }[]; status: { code?: number; message?: string }[] };
    expect(body.writeResults).toHaveLength(3);
    expect(body.status).toHaveLength(3);
    expect(body.status[0]?.code ?? 0).toBe(0);
    expect(body.writeResults[0]?.updateTime).toBeDefined();
    expect(body.status[1]?.code).toBe(5);
    expect(body.writeResults[1]).toEqual({});
    expect(body.status[2]?.code ?? 0).toBe(0);
  });
});
