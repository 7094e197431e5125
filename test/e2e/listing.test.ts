/**
 * Listing through the admin SDK: `collection.listDocuments()` (GET …/{collection}?showMissing=true,
 * paginated) and `listCollections()` (:listCollectionIds) on the root and on documents.
 */
import type * as admin from "@google-cloud/firestore";
import * as lite from "firebase/firestore/lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminClient, type LiteClient, liteClient, rest, uniqueProject } from "./clients.js";

const PROJECT = uniqueProject("listing");
let l: LiteClient;
let a: admin.Firestore;

beforeAll(async () => {
  l = liteClient(PROJECT);
  a = adminClient(PROJECT);
  const batch = a.batch();
  batch.set(a.doc("people/alice"), { name: "Alice" });
  batch.set(a.doc("people/alice/pets/tom"), { kind: "cat" });
  batch.set(a.doc("people/alice/notes/n1"), { t: 1 });
  batch.set(a.doc("people/alice/notes/n1/deep/d"), { t: 1 });
  batch.set(a.doc("people/carol"), { name: "Carol" });
  batch.set(a.doc("people/ghost/pets/rex"), { kind: "dog" }); // "ghost" itself never exists
  batch.set(a.doc("people/zed/a/b/c/d"), { deep: true }); // "zed" missing, only a deep descendant
  batch.set(a.doc("people/bob"), { name: "Bob" });
  batch.set(a.doc("people/gone/pets/p"), { x: 1 });
  batch.set(a.doc("places/paris"), { x: 1 });
  batch.set(a.doc("emptied/x"), { x: 1 });
  await batch.commit();
  await a.doc("people/bob").delete();
  await a.doc("people/gone/pets/p").delete(); // "gone" now has no descendants at all
  await a.doc("emptied/x").delete();
});

afterAll(async () => {
  await l.close();
  await a.terminate();
});

const ids = (refs: { id: string }[]) => refs.map((r) => r.id);

describe("listDocuments", () => {
  it("lists existing documents and missing parents that have descendants, in name order", async () => {
    const refs = await a.collection("people").listDocuments();
    expect(ids(refs)).toEqual(["alice", "carol", "ghost", "zed"]);
    for (const r of refs) expect(r.path).toBe(`people/${r.id}`);
    const [ghost] = await a.getAll(a.doc("people/ghost"));
    expect(ghost?.exists).toBe(false);
  });

  it("lists a sub-collection of a missing document", async () => {
    expect(ids(await a.doc("people/ghost").collection("pets").listDocuments())).toEqual(["rex"]);
    expect(ids(await a.doc("people/alice").collection("pets").listDocuments())).toEqual(["tom"]);
    expect(ids(await a.doc("people/zed/a/b").collection("c").listDocuments())).toEqual(["d"]);
    expect(await a.collection("nothing-here").listDocuments()).toEqual([]);
  });

  it("only lists direct children of the collection", async () => {
    const refs = await a.doc("people/alice").collection("notes").listDocuments();
    expect(ids(refs)).toEqual(["n1"]);
  });

  it("pages through large collections (more than one default page)", async () => {
    const n = 650;
    const pad = (i: number) => String(i).padStart(4, "0");
    for (let start = 0; start < n; start += 500) {
      const batch = a.batch();
      for (let i = start; i < Math.min(n, start + 500); i++) batch.set(a.doc(`many/d${pad(i)}`), { i });
      await batch.commit();
    }
    const refs = await a.collection("many").listDocuments();
    expect(refs).toHaveLength(n);
    expect(ids(refs)).toEqual(Array.from({ length: n }, (_, i) => `d${pad(i)}`));
    // One batchGet for all of them.
    const snaps = await a.getAll(...refs);
    expect(snaps.map((s) => s.get("i"))).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it("deleting a parent does not delete its sub-collections; it is then listed as missing", async () => {
    await a.doc("families/smith").set({ name: "Smith" });
    await a.doc("families/smith/kids/k").set({ kid: true });
    await a.doc("families/jones").set({ name: "Jones" });
    await a.doc("families/smith").delete();
    expect((await a.doc("families/smith/kids/k").get()).exists).toBe(true);
    expect(ids(await a.collection("families").listDocuments())).toEqual(["jones", "smith"]);
    expect((await a.doc("families/smith").listCollections()).map((c) => c.id)).toEqual(["kids"]);
    await a.doc("families/smith/kids/k").delete();
    expect(ids(await a.collection("families").listDocuments())).toEqual(["jones"]);
  });

  it("collection and document ids that need URL encoding (spaces, unicode, ':', '%')", async () => {
    // No astral characters in the URL-bound parts: google-gax's REST transcoding percent-encodes
    // UTF-16 code units one by one and throws "URI malformed" on surrogates (a client limitation).
    const parent = a.collection("enc").doc("with:colon and space");
    const coll = parent.collection("sub ü %");
    const docIds = ["a:b", "100%", "ü😀", "x y"];
    for (const id of docIds) await coll.doc(id).set({ id });
    expect(ids(await coll.listDocuments())).toEqual([...docIds].sort());
    expect((await parent.listCollections()).map((c) => c.id)).toEqual(["sub ü %"]);
    expect(ids(await a.collection("enc").listDocuments())).toEqual(["with:colon and space"]);
    await coll.doc("a:b").collection("deeper").doc("d").set({ d: 1 });
    expect((await coll.doc("a:b").listCollections()).map((c) => c.id)).toEqual(["deeper"]);
  });

  it("REST: pageSize/pageToken pagination and showMissing=false (wire)", async () => {
    const base = `projects/${PROJECT}/databases/(default)/documents/people`;
    const first = await rest("GET", `${base}?pageSize=2`);
    expect(first.status).toBe(200);
    const p1 = first.json as {
      documents: { name: string; fields?: unknown; createTime?: string }[];
      nextPageToken?: string;
    };
    expect(p1.documents.map((d) => d.name.split("/").pop())).toEqual(["alice", "carol"]);
    expect(p1.documents[0]?.fields).toEqual({ name: { stringValue: "Alice" } });
    expect(p1.documents[0]?.createTime).toBeDefined();
    // Without showMissing the missing parents are not listed, so nothing follows carol.
    const token = p1.nextPageToken;
    if (token !== undefined && token !== "") {
      const second = await rest("GET", `${base}?pageSize=2&pageToken=${encodeURIComponent(token)}`);
      expect(second.status).toBe(200);
      const p2 = second.json as { documents?: unknown[]; nextPageToken?: string };
      expect(p2.documents ?? []).toEqual([]);
      expect(p2.nextPageToken ?? "").toBe("");
    }
    const missing = await rest("GET", `${base}?showMissing=true`);
    const pm = missing.json as {
      documents: { name: string; createTime?: string; updateTime?: string; fields?: unknown }[];
    };
    expect(pm.documents.map((d) => d.name.split("/").pop())).toEqual(["alice", "carol", "ghost", "zed"]);
    const ghost = pm.documents[2];
    expect(ghost?.createTime).toBeUndefined();
    expect(ghost?.updateTime).toBeUndefined();
    expect(ghost?.fields).toBeUndefined();
  });
});

describe("listCollections", () => {
  it("lists the root collections, sorted, without collections whose documents were all deleted", async () => {
    const cols = await a.listCollections();
    const names = cols.map((c) => c.id);
    expect(names).toEqual([...names].sort());
    expect(names).toContain("people");
    expect(names).toContain("places");
    expect(names).not.toContain("emptied");
    expect(names).not.toContain("pets");
    for (const c of cols) expect(c.path).toBe(c.id);
  });

  it("lists the sub-collections of an existing and of a missing document", async () => {
    expect((await a.doc("people/alice").listCollections()).map((c) => c.id)).toEqual(["notes", "pets"]);
    expect((await a.doc("people/ghost").listCollections()).map((c) => c.id)).toEqual(["pets"]);
    expect((await a.doc("people/zed").listCollections()).map((c) => c.id)).toEqual(["a"]);
    expect((await a.doc("people/alice/notes/n1").listCollections()).map((c) => c.id)).toEqual(["deep"]);
    expect(await a.doc("people/carol").listCollections()).toEqual([]);
    expect(await a.doc("people/gone").listCollections()).toEqual([]);
  });

  it("sees collections written by lite", async () => {
    await lite.setDoc(lite.doc(l.db, "people/carol/lite-sub/x"), { by: "lite" });
    expect((await a.doc("people/carol").listCollections()).map((c) => c.path)).toEqual(["people/carol/lite-sub"]);
  });

  it("REST: listCollectionIds pages with pageSize/pageToken (wire)", async () => {
    const base = `projects/${PROJECT}/databases/(default)/documents/people/alice:listCollectionIds`;
    const first = await rest("POST", base, { pageSize: 1 });
    expect(first.status).toBe(200);
    const p1 = first.json as { collectionIds: string[]; nextPageToken?: string };
    expect(p1.collectionIds).toEqual(["notes"]);
    expect(p1.nextPageToken).toBeTruthy();
    const second = await rest("POST", base, { pageSize: 1, pageToken: p1.nextPageToken });
    const p2 = second.json as { collectionIds: string[]; nextPageToken?: string };
    expect(p2.collectionIds).toEqual(["pets"]);
  });
});
