/**
 * Native gRPC on the `npm start` port (HTTP/2 with prior knowledge, as clients speak to an
 * emulator): the unmodified server SDK over its default transport (@grpc/grpc-js), which the
 * front converts to the Worker's gRPC-Web. Writes, reads, queries, aggregations, transactions,
 * batches, listings, and errors with their exact gRPC codes; REST on the same port goes on.
 * (Listen and Write, bidirectional, are not served over gRPC yet: `onSnapshot` here does not work.)
 */
import { FieldValue, Firestore } from "@google-cloud/firestore";
import { afterAll, describe, expect, it } from "vitest";
import { rest, serverPort, uniqueProject } from "./clients.js";

const clients: Firestore[] = [];
afterAll(async () => {
  for (const c of clients) await c.terminate();
});

/** The server SDK as `FIRESTORE_EMULATOR_HOST` configures it: gRPC, no TLS, the owner token. */
function grpcClient(projectId = uniqueProject("grpc")): Firestore {
  const db = new Firestore({
    projectId,
    host: "127.0.0.1",
    port: serverPort(),
    ssl: false,
    customHeaders: { Authorization: "Bearer owner" },
  });
  clients.push(db);
  return db;
}

describe("native gRPC: the server SDK over its default transport", () => {
  it("set, get, update, delete, queries, count, listings", async () => {
    const projectId = uniqueProject("grpc");
    const db = grpcClient(projectId);
    const when = new Date("2026-03-04T05:06:07.089Z");
    await db.doc("rooms/a").set({ n: 1, s: "hé", t: when, b: Buffer.from([0, 255]), m: { k: [1, "x", null] } });
    await db.doc("rooms/b").set({ n: 2 });
    await db.doc("rooms/a/msgs/m1").set({ text: "hi" });
    const a = await db.doc("rooms/a").get();
    expect(a.exists).toBe(true);
    expect(a.get("n")).toBe(1);
    expect(a.get("s")).toBe("hé");
    expect(a.get("t").toDate()).toEqual(when);
    expect(Buffer.from(a.get("b"))).toEqual(Buffer.from([0, 255]));
    expect(a.get("m")).toEqual({ k: [1, "x", null] });
    await db.doc("rooms/b").update({ n: FieldValue.increment(5), tags: FieldValue.arrayUnion("x") });
    expect((await db.doc("rooms/b").get()).data()).toEqual({ n: 7, tags: ["x"] });

    const q = await db.collection("rooms").where("n", ">", 0).orderBy("n", "desc").get();
    expect(q.docs.map((d) => d.id)).toEqual(["b", "a"]);
    expect((await db.collection("rooms").count().get()).data().count).toBe(2);
    expect((await db.collectionGroup("msgs").get()).docs.map((d) => d.ref.path)).toEqual(["rooms/a/msgs/m1"]);
    expect((await db.listCollections()).map((c) => c.id)).toEqual(["rooms"]);
    expect((await db.doc("rooms/a").listCollections()).map((c) => c.id)).toEqual(["msgs"]);
    expect((await db.collection("rooms").listDocuments()).map((d) => d.id).sort()).toEqual(["a", "b"]);
    const [one, none] = await db.getAll(db.doc("rooms/a"), db.doc("rooms/zz"));
    expect([one?.exists, none?.exists]).toEqual([true, false]);

    await db.doc("rooms/b").delete();
    expect((await db.doc("rooms/b").get()).exists).toBe(false);
    // The same data over REST on the same port.
    const viaRest = await rest("GET", `projects/${projectId}/databases/(default)/documents/rooms/a`);
    expect(viaRest.status).toBe(200);
  });

  it("transactions and batches", async () => {
    const db = grpcClient();
    await db.doc("c/x").set({ n: 0 });
    await Promise.all(
      Array.from({ length: 4 }, () =>
        db.runTransaction(async (tx) => {
          const s = await tx.get(db.doc("c/x"));
          tx.update(db.doc("c/x"), { n: (s.get("n") as number) + 1 });
        }),
      ),
    );
    expect((await db.doc("c/x").get()).get("n")).toBe(4);
    const batch = db.batch();
    batch.set(db.doc("c/y"), { n: 1 });
    batch.update(db.doc("c/x"), { n: FieldValue.increment(10) });
    await batch.commit();
    expect((await db.doc("c/x").get()).get("n")).toBe(14);
    const writer = db.bulkWriter();
    for (let i = 0; i < 30; i++) void writer.set(db.doc(`bulk/d${i}`), { i });
    await writer.close();
    expect((await db.collection("bulk").count().get()).data().count).toBe(30);
  });

  it("errors carry their exact gRPC codes and messages", async () => {
    const db = grpcClient();
    const code = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (e) {
        return { code: (e as { code: number }).code, message: (e as Error).message };
      }
      throw new Error("expected a failure");
    };
    const missing = await code(db.doc("c/none").update({ a: 1 }));
    expect(missing.code).toBe(5);
    expect(missing.message).toMatch(/No document to update/);
    await db.doc("c/here").set({});
    const exists = await code(db.doc("c/here").create({}));
    expect(exists.code).toBe(6);
    const bad = await code(db.collection("c").where("a", "in", []).get());
    expect(bad.code).toBe(3);
  });
});
