/**
 * Document writes through both SDKs: set, set-merge, mergeFields, update (nested paths, dotted
 * field names, deleteField), delete, addDoc/add, create, preconditions, and their failure paths.
 */
import * as admin from "@google-cloud/firestore";
import * as lite from "firebase/firestore/lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminClient, adminError, type LiteClient, liteClient, rejection, uniqueProject } from "./clients.js";

const PROJECT = uniqueProject("writes");
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
async function liteData(path: string): Promise<lite.DocumentData | undefined> {
  return (await lite.getDoc(ldoc(path))).data();
}

describe("set", () => {
  it("set replaces the whole document (lite)", async () => {
    await lite.setDoc(ldoc("set/replace"), { a: 1, b: { c: 2, d: 3 }, e: [1] });
    await lite.setDoc(ldoc("set/replace"), { b: { c: 20 } });
    expect(await liteData("set/replace")).toEqual({ b: { c: 20 } });
  });

  it("set replaces the whole document (admin) and keeps createTime", async () => {
    const ref = a.doc("set/replace-admin");
    const w1 = await ref.set({ a: 1, b: { c: 2 } });
    const s1 = await ref.get();
    expect(s1.createTime?.isEqual(w1.writeTime)).toBe(true);
    expect(s1.updateTime?.isEqual(w1.writeTime)).toBe(true);
    const w2 = await ref.set({ z: true });
    const s2 = await ref.get();
    expect(s2.data()).toEqual({ z: true });
    expect(s2.createTime?.isEqual(s1.createTime as admin.Timestamp)).toBe(true);
    expect(s2.updateTime?.isEqual(w2.writeTime)).toBe(true);
    expect(w2.writeTime.toMillis()).toBeGreaterThanOrEqual(w1.writeTime.toMillis());
    expect(w2.writeTime.isEqual(w1.writeTime)).toBe(false);
  });

  it("set {merge:true} deep-merges maps and keeps untouched fields (lite)", async () => {
    await lite.setDoc(ldoc("set/merge"), { a: 1, m: { x: 1, y: { z: 1 } }, keep: "k" });
    await lite.setDoc(ldoc("set/merge"), { a: 2, m: { y: { w: 2 }, n: 3 }, "dot.key": "d" }, { merge: true });
    expect(await liteData("set/merge")).toEqual({
      a: 2,
      m: { x: 1, y: { z: 1, w: 2 }, n: 3 },
      keep: "k",
      "dot.key": "d",
    });
  });

  it("set {merge:true} on a missing document creates it", async () => {
    await lite.setDoc(ldoc("set/merge-new"), { a: { b: 1 } }, { merge: true });
    expect(await liteData("set/merge-new")).toEqual({ a: { b: 1 } });
    const snap = await a.doc("set/merge-new").get();
    expect(snap.createTime?.isEqual(snap.updateTime as admin.Timestamp)).toBe(true);
  });

  it("set {merge:true} with an empty map sets that map to {} (the SDK masks empty maps as leaves)", async () => {
    await lite.setDoc(ldoc("set/merge-empty"), { m: { a: 1 }, n: { b: 1 }, o: { c: 1 } });
    await lite.setDoc(ldoc("set/merge-empty"), { m: {} }, { merge: true });
    expect(await liteData("set/merge-empty")).toEqual({ m: {}, n: { b: 1 }, o: { c: 1 } });
    await lite.setDoc(ldoc("set/merge-empty"), { n: {}, o: { d: 1 } }, { mergeFields: ["n"] });
    expect(await liteData("set/merge-empty")).toEqual({ m: {}, n: {}, o: { c: 1 } });
  });

  it("set with deleteField() under merge deletes the field (lite and admin)", async () => {
    await lite.setDoc(ldoc("set/merge-delete"), { a: 1, b: 2, m: { x: 1, y: 2 } });
    await lite.setDoc(
      ldoc("set/merge-delete"),
      { a: lite.deleteField(), m: { x: lite.deleteField() } },
      { merge: true },
    );
    expect(await liteData("set/merge-delete")).toEqual({ b: 2, m: { y: 2 } });
    await a
      .doc("set/merge-delete")
      .set({ b: admin.FieldValue.delete(), m: { y: admin.FieldValue.delete() } }, { merge: true });
    expect((await a.doc("set/merge-delete").get()).data()).toEqual({ m: {} });
  });

  it("mergeFields writes only the listed fields (lite)", async () => {
    await lite.setDoc(ldoc("set/mergefields"), { a: 1, b: 1, m: { x: 1, y: 1 } });
    await lite.setDoc(
      ldoc("set/mergefields"),
      { a: 2, b: 2, m: { x: 2, y: 2 }, c: 2 },
      { mergeFields: ["a", "m.x", new lite.FieldPath("c")] },
    );
    expect(await liteData("set/mergefields")).toEqual({ a: 2, b: 1, m: { x: 2, y: 1 }, c: 2 });
  });

  it("mergeFields of a field absent from the data deletes it (admin)", async () => {
    const ref = a.doc("set/mergefields-admin");
    await ref.set({ a: 1, b: 1, m: { x: 1, y: 1 } });
    // A listed map field is replaced as a whole.
    await ref.set({ a: 2, m: { x: 2 } }, { mergeFields: ["m", "a"] });
    expect((await ref.get()).data()).toEqual({ a: 2, b: 1, m: { x: 2 } });
    await ref.set({ b: admin.FieldValue.delete() }, { mergeFields: ["b"] });
    expect((await ref.get()).data()).toEqual({ a: 2, m: { x: 2 } });
  });

  it("set merge with dotted map keys treats them as single field names (admin)", async () => {
    const ref = a.doc("set/dotted-admin");
    await ref.set({ "a.b": 1, a: { b: 2 } });
    await ref.set({ "a.b": 10 }, { merge: true });
    expect((await ref.get()).data()).toEqual({ "a.b": 10, a: { b: 2 } });
    expect((await ref.get()).get(new admin.FieldPath("a.b"))).toBe(10);
    expect((await ref.get()).get("a.b")).toBe(2);
  });
});

describe("field names that need escaping in field paths", () => {
  const WEIRD = ["a b", "1st", "back`tick", "back\\slash", "dot.ted", "ünï😀", "-dash", "$dollar", "new\nline", "`"];

  it("set-merge and update masks with such names address exactly those fields (lite)", async () => {
    const initial = Object.fromEntries(WEIRD.map((k) => [k, { v: 0, keep: true }]));
    await lite.setDoc(ldoc("esc/merge"), { ...initial, plain: 1 });
    // Merge: the SDK sends an updateMask of back-quoted paths such as `a b`.v
    await lite.setDoc(ldoc("esc/merge"), Object.fromEntries(WEIRD.map((k) => [k, { v: 1 }])), { merge: true });
    let data = await liteData("esc/merge");
    for (const k of WEIRD) expect(data?.[k]).toEqual({ v: 1, keep: true });
    // Update through FieldPath segments, including a delete.
    const args: unknown[] = [];
    for (const k of WEIRD) args.push(new lite.FieldPath(k, "v"), 2);
    args.push(new lite.FieldPath(WEIRD[0] as string, "keep"), lite.deleteField());
    await (lite.updateDoc as (...a: unknown[]) => Promise<void>)(ldoc("esc/merge"), ...args);
    data = await liteData("esc/merge");
    expect(data?.[WEIRD[0] as string]).toEqual({ v: 2 });
    for (const k of WEIRD.slice(1)) expect(data?.[k]).toEqual({ v: 2, keep: true });
    expect(data?.plain).toBe(1);
  });

  it("admin reads back the same names and can address them with FieldPath", async () => {
    const snap = await a.doc("esc/merge").get();
    for (const k of WEIRD) expect(snap.get(new admin.FieldPath(k, "v"))).toBe(2);
    const [masked] = await a.getAll(a.doc("esc/merge"), {
      fieldMask: [new admin.FieldPath("back`tick", "v"), "plain"],
    });
    expect(masked?.data()).toEqual({ "back`tick": { v: 2 }, plain: 1 });
  });
});

describe("update", () => {
  it("update with nested dotted paths changes only the leaves (lite)", async () => {
    await lite.setDoc(ldoc("upd/nested"), { m: { a: 1, b: { c: 1, d: 1 } }, top: 1 });
    await lite.updateDoc(ldoc("upd/nested"), { "m.b.c": 2, "m.new": "n", top: 2 });
    expect(await liteData("upd/nested")).toEqual({ m: { a: 1, b: { c: 2, d: 1 }, new: "n" }, top: 2 });
  });

  it("update with a map value replaces the whole map (lite)", async () => {
    await lite.setDoc(ldoc("upd/map"), { m: { a: 1, b: 2 } });
    await lite.updateDoc(ldoc("upd/map"), { m: { c: 3 } });
    expect(await liteData("upd/map")).toEqual({ m: { c: 3 } });
  });

  it("update with FieldPath('a.b') writes the top-level field named 'a.b' (lite and admin)", async () => {
    await lite.setDoc(ldoc("upd/fieldpath"), { a: { b: "nested" }, "a.b": "dotted" });
    await lite.updateDoc(ldoc("upd/fieldpath"), new lite.FieldPath("a.b"), "dotted2", "a.b", "nested2");
    expect(await liteData("upd/fieldpath")).toEqual({ a: { b: "nested2" }, "a.b": "dotted2" });

    const ref = a.doc("upd/fieldpath");
    await ref.update(new admin.FieldPath("a.b"), "dotted3", new admin.FieldPath("x", "y.z", "`w`"), 1);
    expect((await ref.get()).data()).toEqual({ a: { b: "nested2" }, "a.b": "dotted3", x: { "y.z": { "`w`": 1 } } });
  });

  it("update through a non-map parent replaces it with a map (admin)", async () => {
    const ref = a.doc("upd/nonmap");
    await ref.set({ p: "string", q: [1, 2] });
    await ref.update({ "p.x": 1, "q.y": 2, "fresh.deep.leaf": true });
    expect((await ref.get()).data()).toEqual({ p: { x: 1 }, q: { y: 2 }, fresh: { deep: { leaf: true } } });
  });

  it("deleteField() in update removes top-level and nested fields; deleting absent ones is a no-op", async () => {
    await lite.setDoc(ldoc("upd/delete"), { a: 1, m: { x: 1, y: 1 }, keep: 1 });
    await lite.updateDoc(ldoc("upd/delete"), {
      a: lite.deleteField(),
      "m.x": lite.deleteField(),
      "no.such": lite.deleteField(),
    });
    expect(await liteData("upd/delete")).toEqual({ m: { y: 1 }, keep: 1 });
    await a.doc("upd/delete").update({ "m.y": admin.FieldValue.delete() });
    expect((await a.doc("upd/delete").get()).data()).toEqual({ m: {}, keep: 1 });
  });

  it("update on a missing document fails with not-found (lite) / 404 (admin) and creates nothing", async () => {
    const e1 = await rejection(() => lite.updateDoc(ldoc("upd/missing"), { a: 1 }));
    expect(e1.name).toBe("FirebaseError");
    expect(e1.code).toBe("not-found");
    const e2 = await rejection(() => a.doc("upd/missing").update({ a: 1 }));
    expect(adminError(e2)).toMatchObject({ http: 404, status: "NOT_FOUND" });
    expect((await lite.getDoc(ldoc("upd/missing"))).exists()).toBe(false);
  });

  it("update keeps createTime and moves updateTime (admin)", async () => {
    const ref = a.doc("upd/times");
    const w1 = await ref.set({ n: 1 });
    const w2 = await ref.update({ n: 2 });
    const snap = await ref.get();
    expect(snap.createTime?.isEqual(w1.writeTime)).toBe(true);
    expect(snap.updateTime?.isEqual(w2.writeTime)).toBe(true);
    expect(w2.writeTime > w1.writeTime).toBe(true);
  });

  it("update with a lastUpdateTime precondition succeeds when current and fails (400) when stale", async () => {
    const ref = a.doc("upd/precondition");
    const w1 = await ref.set({ n: 1 });
    const w2 = await ref.update({ n: 2 }, { lastUpdateTime: w1.writeTime });
    const e = await rejection(() => ref.update({ n: 3 }, { lastUpdateTime: w1.writeTime }));
    expect(adminError(e)).toMatchObject({ http: 400, status: "FAILED_PRECONDITION" });
    const snap = await ref.get();
    expect(snap.get("n")).toBe(2);
    expect(snap.updateTime?.isEqual(w2.writeTime)).toBe(true);
  });
});

describe("create, add, delete", () => {
  it("admin create() on a new doc succeeds and on an existing doc fails with 409 ALREADY_EXISTS", async () => {
    const ref = a.doc("create/once");
    const w = await ref.create({ v: 1 });
    const e = await rejection(() => ref.create({ v: 2 }));
    expect(adminError(e)).toMatchObject({ http: 409, status: "ALREADY_EXISTS" });
    const snap = await ref.get();
    expect(snap.get("v")).toBe(1);
    expect(snap.updateTime?.isEqual(w.writeTime)).toBe(true);
  });

  it("addDoc (lite) and add (admin) create documents with 20-character generated ids", async () => {
    const r1 = await lite.addDoc(lite.collection(l.db, "added"), { by: "lite" });
    const r2 = await a.collection("added").add({ by: "admin" });
    for (const id of [r1.id, r2.id]) expect(id).toMatch(/^[A-Za-z0-9]{20}$/);
    expect((await a.doc(`added/${r1.id}`).get()).data()).toEqual({ by: "lite" });
    expect(await liteData(`added/${r2.id}`)).toEqual({ by: "admin" });
  });

  it("delete removes a document; deleting a missing document succeeds", async () => {
    await lite.setDoc(ldoc("del/one"), { a: 1 });
    await lite.deleteDoc(ldoc("del/one"));
    expect((await lite.getDoc(ldoc("del/one"))).exists()).toBe(false);
    await lite.deleteDoc(ldoc("del/never-existed"));
    const w = await a.doc("del/never-existed-admin").delete();
    expect(w.writeTime).toBeInstanceOf(admin.Timestamp);
  });

  it("delete with {exists:true} on a missing doc fails with 404; with a stale lastUpdateTime with 400", async () => {
    const e1 = await rejection(() => a.doc("del/missing").delete({ exists: true }));
    expect(adminError(e1).http).toBe(404);
    const ref = a.doc("del/guarded");
    const w1 = await ref.set({ a: 1 });
    await ref.set({ a: 2 });
    const e2 = await rejection(() => ref.delete({ lastUpdateTime: w1.writeTime }));
    expect(adminError(e2).http).toBe(400);
    expect((await ref.get()).exists).toBe(true);
    await ref.delete({ exists: true });
    expect((await ref.get()).exists).toBe(false);
  });

  it("a re-created document gets a new createTime", async () => {
    const ref = a.doc("del/recreate");
    const w1 = await ref.set({ a: 1 });
    await ref.delete();
    const w2 = await ref.set({ a: 2 });
    const snap = await ref.get();
    expect(snap.createTime?.isEqual(w2.writeTime)).toBe(true);
    expect(snap.createTime?.isEqual(w1.writeTime)).toBe(false);
  });

  it("documents in sub-collections and with unusual ids round-trip in both SDKs", async () => {
    const ids = ["a b", "ünï😀", "100%", "semi;colon", "with:colon", "q?h#", "~tilde", "x".repeat(700)];
    for (const id of ids) {
      await lite.setDoc(lite.doc(l.db, "odd", "parent", "sub coll", id), { id });
    }
    for (const id of ids) {
      const snap = await a.collection("odd").doc("parent").collection("sub coll").doc(id).get();
      expect(snap.exists).toBe(true);
      expect(snap.get("id")).toBe(id);
      expect(snap.id).toBe(id);
    }
    // The parent was never written: it does not exist even though it has a sub-collection.
    expect((await lite.getDoc(ldoc("odd/parent"))).exists()).toBe(false);
  });
});
