/**
 * `@firebase/rules-unit-testing`, unchanged, against `npm start`: it loads rules with the
 * emulator's `PUT …:securityRules`, seeds with `withSecurityRulesDisabled` (the `owner` token),
 * signs in with `mockUserToken`s and clears the data with the emulator's DELETE. Its contexts are
 * the full SDK (compat) in Node, which reads and writes over the native gRPC Listen and Write
 * streams: gets, queries, listeners and writes are all decided by the rules there.
 */
import {
  assertFails,
  assertSucceeds,
  initializeTestEnvironment,
  type RulesTestEnvironment,
} from "@firebase/rules-unit-testing";
import { setLogLevel } from "firebase/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serverPort, uniqueProject } from "./clients.js";

const RULES = `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    function signedIn() { return request.auth != null; }
    function isOwner(data) { return signedIn() && data.owner == request.auth.uid; }
    match /notes/{id} {
      allow read: if isOwner(resource.data) || resource.data.shared == true;
      allow create: if isOwner(request.resource.data)
        && request.resource.data.keys().hasOnly(['owner', 'text', 'shared'])
        && request.resource.data.text is string;
      allow update: if isOwner(resource.data)
        && request.resource.data.diff(resource.data).affectedKeys().hasOnly(['text', 'shared']);
      allow delete: if isOwner(resource.data);
    }
    match /profiles/{uid} {
      allow read: if signedIn();
      allow write: if signedIn() && request.auth.uid == uid;
    }
  }
}`;

// The SDK logs each denied write as a warning; the denials here are expected.
setLogLevel(process.env.FLARESTORE_E2E_DEBUG ? "debug" : "silent");

let env: RulesTestEnvironment;

beforeAll(async () => {
  env = await initializeTestEnvironment({
    projectId: uniqueProject("rut"),
    firestore: { host: "127.0.0.1", port: serverPort(), rules: RULES },
  });
});

afterAll(async () => {
  await env?.cleanup();
});

/** Listeners see metadata changes too: a snapshot from the cache is followed by the server's. */
const METADATA = { includeMetadataChanges: true };

/** Waits for a listener's first snapshot from the server (not its cache) or its error (at most 15 s). */
function firstEvent(
  listen: (next: (v: { metadata: { fromCache: boolean } }) => void, error: (e: Error) => void) => () => void,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no snapshot and no error within 15 s")), 15_000);
    const unsubscribe = listen(
      (v) => {
        if (v.metadata.fromCache) return;
        clearTimeout(timer);
        unsubscribe();
        resolve(v);
      },
      (e) => {
        clearTimeout(timer);
        resolve(e);
      },
    );
  });
}

describe("@firebase/rules-unit-testing against flarestore", () => {
  it("seeds with rules disabled, then reads as the rules say: gets, queries and listeners", async () => {
    await env.withSecurityRulesDisabled(async (ctx) => {
      const db = ctx.firestore();
      await db.doc("notes/a").set({ owner: "alice", text: "mine" });
      await db.doc("notes/b").set({ owner: "bob", text: "his" });
      await db.doc("notes/s").set({ owner: "bob", text: "for all", shared: true });
    });
    const alice = env.authenticatedContext("alice").firestore();
    const anonymous = env.unauthenticatedContext().firestore();

    await assertSucceeds(alice.doc("notes/a").get());
    await assertSucceeds(alice.doc("notes/s").get());
    await assertFails(alice.doc("notes/b").get());
    await assertFails(anonymous.doc("notes/a").get());
    // Rules are not filters: a query must be limited to what the caller may read.
    const mine = await assertSucceeds(alice.collection("notes").where("owner", "==", "alice").get());
    expect(mine.docs.map((d) => d.id)).toEqual(["a"]);
    await assertFails(alice.collection("notes").get());

    // Listeners (the Listen stream): data for what the rules allow, permission-denied otherwise.
    const allowed = (await firstEvent((next, error) => alice.doc("notes/a").onSnapshot(METADATA, next, error))) as {
      data(): unknown;
    };
    expect(allowed.data()).toEqual({ owner: "alice", text: "mine" });
    const denied = (await firstEvent((next, error) => alice.doc("notes/b").onSnapshot(METADATA, next, error))) as {
      code?: string;
    };
    expect(denied.code).toBe("permission-denied");
    const deniedQuery = (await firstEvent((next, error) =>
      alice.collection("notes").onSnapshot(METADATA, next, error),
    )) as {
      code?: string;
    };
    expect(deniedQuery.code).toBe("permission-denied");
  });

  it("writes go through the Write stream and are decided per document, with request.resource", async () => {
    const alice = env.authenticatedContext("alice").firestore();
    const bob = env.authenticatedContext("bob").firestore();
    await assertSucceeds(alice.doc("notes/n1").set({ owner: "alice", text: "hello" }));
    await assertFails(alice.doc("notes/n2").set({ owner: "bob", text: "forged" }));
    await assertFails(alice.doc("notes/n3").set({ owner: "alice", text: "x", extra: 1 }));
    await assertSucceeds(alice.doc("notes/n1").update({ text: "edited" }));
    await assertFails(alice.doc("notes/n1").update({ owner: "bob" }));
    await assertFails(bob.doc("notes/n1").delete());
    // A batch with one denied write writes nothing.
    const batch = alice.batch();
    batch.set(alice.doc("profiles/alice"), { name: "Alice" });
    batch.set(alice.doc("profiles/bob"), { name: "not bob" });
    await assertFails(batch.commit());
    await env.withSecurityRulesDisabled(async (ctx) => {
      const db = ctx.firestore();
      expect((await db.doc("notes/n1").get()).data()).toEqual({ owner: "alice", text: "edited" });
      expect((await db.doc("notes/n2").get()).exists).toBe(false);
      expect((await db.doc("profiles/alice").get()).exists).toBe(false);
    });
    await assertSucceeds(alice.doc("profiles/alice").set({ name: "Alice" }));
    await assertSucceeds(bob.doc("profiles/alice").get());
    // Transactions: reads and writes both checked.
    await assertSucceeds(
      alice.runTransaction(async (tx) => {
        const note = await tx.get(alice.doc("notes/n1"));
        tx.update(note.ref, { text: `${note.get("text")}!` });
      }),
    );
    await assertFails(
      alice.runTransaction(async (tx) => {
        await tx.get(alice.doc("notes/b"));
      }),
    );
  });

  it("clearFirestore empties the database and keeps the rules", async () => {
    await env.clearFirestore();
    const alice = env.authenticatedContext("alice").firestore();
    const gone = await assertSucceeds(alice.doc("profiles/alice").get());
    expect(gone.exists).toBe(false);
    await assertFails(alice.doc("profiles/bob").set({ name: "x" }));
  });
});
