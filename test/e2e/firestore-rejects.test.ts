/**
 * What Cloud Firestore refuses, through the official SDKs: kindless queries (the admin SDK builds
 * them for recursiveDelete) with a field filter, a field order, limitToLast (which the SDK sends
 * as a descending __name__ order) or an aggregation; and reads of ids Firestore refuses. `____`
 * is a valid id for both SDKs.
 */
import { FieldPath, type Firestore, Query } from "@google-cloud/firestore";
import * as lite from "firebase/firestore/lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminClient, adminError, type LiteClient, liteClient, rejection, uniqueProject } from "./clients.js";

const PROJECT = uniqueProject("rejects");
let a: Firestore;
let l: LiteClient;

beforeAll(async () => {
  a = adminClient(PROJECT);
  l = liteClient(PROJECT);
  const batch = a.batch();
  for (const p of ["k/a", "k/b", "k/b/sub/c", "other/d"]) batch.set(a.doc(p), { n: 1 });
  await batch.commit();
});

afterAll(async () => {
  await a.terminate();
  await l.close();
});

/**
 * The kindless all-descendants query of the root, as recursiveDelete builds it (QueryOptions
 * .forKindlessAllDescendants; the class is reached through a collection group's options because
 * the package exports only `Query`).
 */
function kindless(): Query {
  const options = (a.collectionGroup("unused") as any)._queryOptions;
  const InternalQuery = Query as unknown as new (firestore: Firestore, options: unknown) => Query;
  return new InternalQuery(a, options.constructor.forKindlessAllDescendants(options.parentPath, "unused"));
}

/** A server SDK error that must be INVALID_ARGUMENT (HTTP 400); returns its message. */
function invalid(e: { code?: unknown; message: string }): string {
  const error = adminError(e);
  expect(error).toMatchObject({ http: 400, status: "INVALID_ARGUMENT" });
  return error.message;
}

describe("kindless queries through @google-cloud/firestore", () => {
  it("name order ascending works (what recursiveDelete relies on)", async () => {
    const snap = await kindless().orderBy(FieldPath.documentId()).limit(10).get();
    expect(snap.docs.map((d) => d.ref.path)).toEqual(["k/a", "k/b", "k/b/sub/c", "other/d"]);
  });

  it("limitToLast is refused: the SDK sends __name__ descending", async () => {
    const e = await rejection(() => kindless().orderBy(FieldPath.documentId()).limitToLast(2).get());
    expect(invalid(e)).toBe("kind is required for all orders except __key__ ascending");
  });

  it("a descending name order, a field order and a field filter are refused", async () => {
    const order = "kind is required for all orders except __key__ ascending";
    expect(invalid(await rejection(() => kindless().orderBy(FieldPath.documentId(), "desc").get()))).toBe(order);
    expect(invalid(await rejection(() => kindless().orderBy("n").get()))).toBe(order);
    expect(invalid(await rejection(() => kindless().where("n", "==", 1).get()))).toBe("kind is required for filter: n");
  });

  it("aggregations are refused", async () => {
    expect(invalid(await rejection(() => kindless().count().get()))).toMatch(/kind is required for aggregation/);
  });
});

describe("ids", () => {
  it("____ is a valid document and collection id for both SDKs", async () => {
    await a.doc("u/____").set({ v: 1 });
    await lite.setDoc(lite.doc(l.db, "____/____"), { v: 2 });
    expect((await a.doc("u/____").get()).data()).toEqual({ v: 1 });
    expect((await lite.getDoc(lite.doc(l.db, "u/____"))).data()).toEqual({ v: 1 });
    expect((await a.doc("____/____").get()).data()).toEqual({ v: 2 });
    expect((await lite.getDocs(lite.collection(l.db, "____"))).docs.map((d) => d.id)).toEqual(["____"]);
  });

  it("reads of reserved ids are refused, as writes are", async () => {
    expect(invalid(await rejection(() => a.doc("u/__x__").get()))).toMatch(/"__x__" is invalid because it is reserved/);
    const le = await rejection(() => lite.getDoc(lite.doc(l.db, "u/__x__")));
    expect(le.code).toBe("failed-precondition"); // lite's mapping of HTTP 400
    expect(le.message).toMatch(/reserved/);
    expect(invalid(await rejection(() => a.collection("__x__").get()))).toMatch(/collectionId/);
    expect(invalid(await rejection(() => a.doc("u/__x__").listCollections()))).toMatch(/reserved/);
  });
});
