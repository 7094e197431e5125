/**
 * Named databases and projects are isolated from each other: lite `getFirestore(app, "otherdb")`,
 * admin `databaseId`. Same paths, different data; listing, batches and transactions stay inside
 * their database; references carry the database they were written in.
 */
import type * as admin from "@google-cloud/firestore";
import * as lite from "firebase/firestore/lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminClient, type LiteClient, liteClient, rawGet, uniqueProject } from "./clients.js";

const PROJECT = uniqueProject("databases");
const OTHER_PROJECT = uniqueProject("databases-other");
let l: LiteClient;
let lOther: lite.Firestore;
let a: admin.Firestore;
let aOther: admin.Firestore;
let aOtherProject: admin.Firestore;

beforeAll(() => {
  l = liteClient(PROJECT);
  lOther = l.database("otherdb");
  a = adminClient(PROJECT);
  aOther = adminClient(PROJECT, { databaseId: "otherdb" });
  aOtherProject = adminClient(OTHER_PROJECT);
});

afterAll(async () => {
  await l.close();
  await a.terminate();
  await aOther.terminate();
  await aOtherProject.terminate();
});

describe("named databases", () => {
  it("the same path holds different documents in (default) and otherdb", async () => {
    await lite.setDoc(lite.doc(l.db, "shared/doc"), { db: "default" });
    await lite.setDoc(lite.doc(lOther, "shared/doc"), { db: "other" });
    await lite.setDoc(lite.doc(lOther, "onlyother/doc"), { x: 1 });
    expect((await lite.getDoc(lite.doc(l.db, "shared/doc"))).data()).toEqual({ db: "default" });
    expect((await lite.getDoc(lite.doc(lOther, "shared/doc"))).data()).toEqual({ db: "other" });
    expect((await a.doc("shared/doc").get()).data()).toEqual({ db: "default" });
    expect((await aOther.doc("shared/doc").get()).data()).toEqual({ db: "other" });
    expect((await lite.getDoc(lite.doc(l.db, "onlyother/doc"))).exists()).toBe(false);
    expect((await a.doc("onlyother/doc").get()).exists).toBe(false);
    expect((await aOther.doc("onlyother/doc").get()).exists).toBe(true);
  });

  it("writes in one database never change the other (update, delete, admin)", async () => {
    await aOther.doc("iso/d").set({ v: 1 });
    await a.doc("iso/d").set({ v: 100 });
    await aOther.doc("iso/d").update({ v: 2 });
    await a.doc("iso/d").delete();
    expect((await aOther.doc("iso/d").get()).data()).toEqual({ v: 2 });
    expect((await a.doc("iso/d").get()).exists).toBe(false);
    // update of a doc that exists only in the other database is not-found here.
    const e = await lite.updateDoc(lite.doc(l.db, "iso/d"), { v: 3 }).catch((err: { code: string }) => err);
    expect((e as { code: string }).code).toBe("not-found");
  });

  it("listCollections and listDocuments only see their own database", async () => {
    await aOther.doc("otherlist/a").set({ x: 1 });
    await a.doc("defaultlist/a").set({ x: 1 });
    const otherCols = (await aOther.listCollections()).map((c) => c.id);
    const defaultCols = (await a.listCollections()).map((c) => c.id);
    expect(otherCols).toContain("otherlist");
    expect(otherCols).not.toContain("defaultlist");
    expect(defaultCols).toContain("defaultlist");
    expect(defaultCols).not.toContain("otherlist");
    expect(await a.collection("otherlist").listDocuments()).toEqual([]);
    expect((await aOther.collection("otherlist").listDocuments()).map((r) => r.id)).toEqual(["a"]);
  });

  it("batches and transactions run inside the named database", async () => {
    const batch = lite.writeBatch(lOther);
    batch.set(lite.doc(lOther, "txdb/counter"), { n: 0 });
    batch.set(lite.doc(lOther, "txdb/other"), { y: 1 });
    await batch.commit();
    await lite.runTransaction(lOther, async (tx) => {
      const s = await tx.get(lite.doc(lOther, "txdb/counter"));
      tx.update(lite.doc(lOther, "txdb/counter"), { n: (s.get("n") as number) + 1 });
    });
    await aOther.runTransaction(async (tx) => {
      const s = await tx.get(aOther.doc("txdb/counter"));
      tx.update(aOther.doc("txdb/counter"), { n: (s.get("n") as number) + 1 });
    });
    expect((await aOther.doc("txdb/counter").get()).get("n")).toBe(2);
    expect((await a.doc("txdb/counter").get()).exists).toBe(false);
    // A transaction in (default) on the same path sees its own (missing) document.
    await a.runTransaction(async (tx) => {
      const s = await tx.get(a.doc("txdb/counter"));
      expect(s.exists).toBe(false);
      tx.set(a.doc("txdb/counter"), { n: 100 });
    });
    expect((await aOther.doc("txdb/counter").get()).get("n")).toBe(2);
    expect((await a.doc("txdb/counter").get()).get("n")).toBe(100);
  });

  it("references written in otherdb name otherdb", async () => {
    await lite.setDoc(lite.doc(lOther, "refs/r"), { to: lite.doc(lOther, "shared/doc") });
    const raw = await rawGet(PROJECT, "refs/r", { databaseId: "otherdb" });
    expect(raw?.fields?.to).toEqual({ referenceValue: `projects/${PROJECT}/databases/otherdb/documents/shared/doc` });
    const ref = (await aOther.doc("refs/r").get()).get("to") as admin.DocumentReference;
    expect(ref.path).toBe("shared/doc");
    expect((await ref.get()).data()).toEqual({ db: "other" });
  });

  it("projects are isolated too", async () => {
    await aOtherProject.doc("shared/doc").set({ project: "other" });
    expect((await a.doc("shared/doc").get()).data()).toEqual({ db: "default" });
    expect((await aOtherProject.doc("shared/doc").get()).data()).toEqual({ project: "other" });
    expect((await aOtherProject.listCollections()).map((c) => c.id)).toEqual(["shared"]);
  });
});

describe("client configurations", () => {
  it("lite without apiKey/appId, and lite with an emulator mockUserToken, both read and write", async () => {
    const bare = liteClient(PROJECT, { bare: true });
    const authed = liteClient(PROJECT, { mockUserToken: { user_id: "alice", email: "alice@example.com" } });
    try {
      await lite.setDoc(lite.doc(bare.db, "config/bare"), { by: "bare" });
      await lite.setDoc(lite.doc(authed.db, "config/authed"), { by: "alice" });
      expect((await lite.getDoc(lite.doc(authed.db, "config/bare"))).data()).toEqual({ by: "bare" });
      expect((await lite.getDoc(lite.doc(bare.db, "config/authed"))).data()).toEqual({ by: "alice" });
      await lite.runTransaction(authed.db, async (tx) => {
        const s = await tx.get(lite.doc(authed.db, "config/authed"));
        tx.update(lite.doc(authed.db, "config/authed"), { seen: s.exists() });
      });
      expect((await a.doc("config/authed").get()).data()).toEqual({ by: "alice", seen: true });
    } finally {
      await bare.close();
      await authed.close();
    }
  });
});
