/**
 * Security rules with the unmodified clients against `npm start` (emulator mode): rules loaded as
 * scripts load them into the Firebase emulator (`PUT …:securityRules`), then `firebase/firestore/lite`
 * signed in with `mockUserToken`s is allowed and denied as they say (gets, writes, queries,
 * transactions), and the server SDK (the emulator's `owner`) bypasses them.
 */
import {
  collection,
  doc,
  getDoc,
  getDocs,
  query,
  runTransaction,
  setDoc,
  updateDoc,
  where,
} from "firebase/firestore/lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminClient, type LiteClient, liteClient, serverUrl, uniqueProject } from "./clients.js";

const RULES = `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /notes/{id} {
      allow read: if request.auth != null && resource.data.owner == request.auth.uid;
      allow create: if request.auth != null && request.resource.data.owner == request.auth.uid
        && request.resource.data.text is string && request.resource.data.text.size() <= 20;
      allow update: if resource.data.owner == request.auth.uid
        && request.resource.data.diff(resource.data).affectedKeys().hasOnly(['text']);
    }
  }
}`;

const PROJECT = uniqueProject("rules");
let alice: LiteClient;
let bob: LiteClient;
let anonymous: LiteClient;

beforeAll(async () => {
  const res = await fetch(`${serverUrl()}/emulator/v1/projects/${PROJECT}:securityRules`, {
    method: "PUT",
    body: JSON.stringify({ rules: { files: [{ name: "firestore.rules", content: RULES }] } }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
  alice = liteClient(PROJECT, { mockUserToken: { user_id: "alice" } });
  bob = liteClient(PROJECT, { mockUserToken: { user_id: "bob" } });
  anonymous = liteClient(PROJECT);
});

afterAll(async () => {
  for (const c of [alice, bob, anonymous]) await c?.close();
});

const denied = { code: "permission-denied" };

describe("security rules with firebase/firestore/lite (mockUserToken)", () => {
  it("creates are validated: the owner must be the caller, the text a short string", async () => {
    await setDoc(doc(alice.db, "notes/a1"), { owner: "alice", text: "hello" });
    await expect(setDoc(doc(alice.db, "notes/a2"), { owner: "bob", text: "x" })).rejects.toMatchObject(denied);
    await expect(setDoc(doc(alice.db, "notes/a3"), { owner: "alice", text: "x".repeat(21) })).rejects.toMatchObject(
      denied,
    );
    await expect(setDoc(doc(anonymous.db, "notes/a4"), { owner: "alice", text: "x" })).rejects.toMatchObject(denied);
  });

  it("reads: the owner only", async () => {
    expect((await getDoc(doc(alice.db, "notes/a1"))).data()).toEqual({ owner: "alice", text: "hello" });
    await expect(getDoc(doc(bob.db, "notes/a1"))).rejects.toMatchObject(denied);
    await expect(getDoc(doc(anonymous.db, "notes/a1"))).rejects.toMatchObject(denied);
  });

  it("queries: rules are not filters", async () => {
    await setDoc(doc(bob.db, "notes/b1"), { owner: "bob", text: "bob's" });
    const mine = await getDocs(query(collection(alice.db, "notes"), where("owner", "==", "alice")));
    expect(mine.docs.map((d) => d.id)).toEqual(["a1"]);
    await expect(getDocs(collection(alice.db, "notes"))).rejects.toMatchObject(denied);
    await expect(getDocs(query(collection(alice.db, "notes"), where("owner", "==", "bob")))).rejects.toMatchObject(
      denied,
    );
  });

  it("updates: only the text, only by the owner; a transaction is checked like the rest", async () => {
    await updateDoc(doc(alice.db, "notes/a1"), { text: "edited" });
    await expect(updateDoc(doc(alice.db, "notes/a1"), { owner: "bob" })).rejects.toMatchObject(denied);
    await expect(updateDoc(doc(bob.db, "notes/a1"), { text: "mine now" })).rejects.toMatchObject(denied);
    await runTransaction(alice.db, async (tx) => {
      const snap = await tx.get(doc(alice.db, "notes/a1"));
      tx.update(snap.ref, { text: `${snap.get("text")}!` });
    });
    await expect(
      runTransaction(bob.db, async (tx) => {
        await tx.get(doc(bob.db, "notes/a1"));
      }),
    ).rejects.toMatchObject(denied);
  });

  it("the server SDK (the emulator's owner) bypasses the rules", async () => {
    const admin = adminClient(PROJECT);
    try {
      const all = await admin.collection("notes").get();
      expect(all.docs.map((d) => [d.id, d.get("text")]).sort()).toEqual([
        ["a1", "edited!"],
        ["b1", "bob's"],
      ]);
      await admin.doc("notes/z").set({ anything: true });
    } finally {
      await admin.terminate();
    }
  });
});
