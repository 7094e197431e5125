/**
 * Native gRPC on the `npm start` port (HTTP/2 with prior knowledge, as clients speak to an
 * emulator): the unmodified server SDK over its default transport (@grpc/grpc-js), which the
 * front converts to the Worker's gRPC-Web. Writes, reads, queries, aggregations, transactions,
 * batches, listings, errors with their exact gRPC codes (and grpc-status-details-bin), and
 * `onSnapshot` (the bidirectional Listen, a full-duplex gRPC-Web body to the Worker); REST on the
 * same port goes on. Then the full web SDK in Node, which speaks only gRPC and reads and writes
 * through Listen and Write, also with those two over the WebSocket bridge.
 */

import http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FieldValue, Firestore } from "@google-cloud/firestore";
import { deleteApp, initializeApp } from "firebase/app";
import * as web from "firebase/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetDocumentRequestSchema } from "../../src/grpc/gen/google/firestore/v1/firestore_pb.js";
import { StatusSchema } from "../../src/grpc/gen/google/rpc/status_pb.js";
import { type RunningServer, startServer } from "../helpers/server.js";
import { grpcFrame as frame, rest, serverPort, uniqueProject } from "./clients.js";

const clients: Firestore[] = [];
afterAll(async () => {
  for (const c of clients) await c.terminate();
});

/** The server SDK as `FIRESTORE_EMULATOR_HOST` configures it: gRPC, no TLS, the owner token. */
function grpcClient(projectId = uniqueProject("grpc"), port = serverPort()): Firestore {
  const db = new Firestore({
    projectId,
    host: "127.0.0.1",
    port,
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
        const { code, metadata } = e as { code: number; metadata: { get(key: string): unknown[] } };
        return { code, message: (e as Error).message, details: metadata.get("grpc-status-details-bin")[0] };
      }
      throw new Error("expected a failure");
    };
    const missing = await code(db.doc("c/none").update({ a: 1 }));
    expect(missing.code).toBe(5);
    expect(missing.message).toMatch(/No document to update/);
    // The same status as a google.rpc.Status in grpc-status-details-bin.
    const status = fromBinary(StatusSchema, missing.details as Uint8Array);
    expect(status.code).toBe(5);
    expect(missing.message).toContain(status.message);
    await db.doc("c/here").set({});
    const exists = await code(db.doc("c/here").create({}));
    expect(exists.code).toBe(6);
    const bad = await code(db.collection("c").where("a", "in", []).get());
    expect(bad.code).toBe(3);
  });

  it("raw HTTP/2: an unknown method, a frame cut short, a compressed frame and a bad deadline get a gRPC status, and the port goes on", async () => {
    const session = http2.connect(`http://127.0.0.1:${serverPort()}`);
    try {
      const call = (path: string, body: Uint8Array, headers: Record<string, string> = {}) =>
        new Promise<{ status: string; message: string; data: number }>((resolve, reject) => {
          const stream = session.request({
            ":method": "POST",
            ":path": path,
            "content-type": "application/grpc",
            te: "trailers",
            ...headers,
          });
          let data = 0;
          stream.on("data", (d: Buffer) => (data += d.length));
          stream.on("trailers", (t) =>
            resolve({
              status: String(t["grpc-status"]),
              message: decodeURIComponent(String(t["grpc-message"] ?? "")),
              data,
            }),
          );
          stream.on("error", reject);
          stream.end(body);
        });
      const projectId = uniqueProject("grpc-raw");
      const get = toBinary(
        GetDocumentRequestSchema,
        create(GetDocumentRequestSchema, { name: `projects/${projectId}/databases/(default)/documents/c/none` }),
      );
      const path = "/google.firestore.v1.Firestore/GetDocument";
      expect(await call(path, frame(get))).toMatchObject({ status: "5" });
      const unknown = await call("/google.firestore.v1.Firestore/Nope", frame(get));
      expect(unknown).toMatchObject({ status: "12", message: expect.stringMatching(/Nope/) });
      const cut = await call(path, frame(get).subarray(0, 9));
      expect(cut).toMatchObject({ status: "3", message: expect.stringMatching(/frame/) });
      expect(await call(path, frame(get, 1))).toMatchObject({ status: "12" });
      const late = await call(path, frame(get), { "grpc-timeout": "1n" });
      expect(late.status).toBe("4");
      // The port still serves gRPC and REST.
      expect(await call(path, frame(get))).toMatchObject({ status: "5", data: 0 });
      expect((await rest("GET", `projects/${projectId}/databases/(default)/documents/c/none`)).status).toBe(404);
    } finally {
      session.close();
    }
  });

  it("onSnapshot of a document and of a query: the initial state, then another client's changes", async () => {
    const projectId = uniqueProject("grpc-listen");
    const db = grpcClient(projectId);
    const other = grpcClient(projectId);
    await db.doc("rooms/a").set({ n: 1, open: true });
    await db.doc("rooms/b").set({ n: 2, open: false });
    const seen: string[][] = [];
    const docSeen: unknown[] = [];
    let wake: () => void = () => {};
    const changed = () => new Promise<void>((resolve) => (wake = resolve));
    const unsubQuery = db
      .collection("rooms")
      .where("open", "==", true)
      .onSnapshot((s) => {
        seen.push(s.docChanges().map((c) => `${c.type} ${c.doc.id}`));
        wake();
      });
    const unsubDoc = db.doc("rooms/b").onSnapshot((s) => {
      docSeen.push(s.exists ? s.get("n") : null);
      wake();
    });
    const until = async (check: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!check()) {
        if (Date.now() > deadline) throw new Error(`timed out: ${JSON.stringify({ seen, docSeen })}`);
        await Promise.race([changed(), new Promise((r) => setTimeout(r, 200))]);
      }
    };
    await until(() => seen.length >= 1 && docSeen.length >= 1);
    expect(seen[0]).toEqual(["added a"]);
    expect(docSeen[0]).toBe(2);
    await other.doc("rooms/b").update({ open: true, n: 3 });
    await until(() => seen.some((c) => c.includes("added b")) && docSeen.includes(3));
    await other.doc("rooms/a").delete();
    await until(() => seen.some((c) => c.includes("removed a")));
    unsubQuery();
    unsubDoc();
  });
});

/** The full web SDK in Node against the server on `port`: it reads and writes through Listen and Write. */
async function webSdkRoundTrip(port: number) {
  const projectId = uniqueProject("grpc-web-sdk");
  const app = initializeApp({ projectId }, projectId);
  const db = web.getFirestore(app);
  web.connectFirestoreEmulator(db, "127.0.0.1", port);
  const server = grpcClient(projectId, port);
  try {
    const ref = web.doc(db, "rooms/a");
    await web.setDoc(ref, { n: 1 });
    expect((await web.getDoc(ref)).data()).toEqual({ n: 1 });
    await web.updateDoc(ref, { n: web.increment(2) });
    const q = await web.getDocs(web.query(web.collection(db, "rooms"), web.where("n", ">=", 3)));
    expect(q.docs.map((d) => d.id)).toEqual(["a"]);
    await web.runTransaction(db, async (tx) => {
      const s = await tx.get(ref);
      tx.update(ref, { n: (s.get("n") as number) + 1 });
    });
    expect((await server.doc("rooms/a").get()).get("n")).toBe(4);

    // A listener sees another client's write.
    const values: unknown[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no snapshot with 100: ${JSON.stringify(values)}`)), 10_000);
      const unsubscribe = web.onSnapshot(ref, (s) => {
        // (A first snapshot may come from the SDK's cache, with what the query above saw.)
        if (!s.metadata.fromCache) values.push(s.get("n"));
        if (s.get("n") === 100 && !s.metadata.hasPendingWrites) {
          clearTimeout(timer);
          unsubscribe();
          resolve();
        }
      });
    });
    await new Promise((r) => setTimeout(r, 300));
    await server.doc("rooms/a").set({ n: 100 });
    await done;
    expect(values[0]).toBe(4);

    await web.deleteDoc(ref);
    expect((await web.getDoc(ref)).exists()).toBe(false);
  } finally {
    await web.terminate(db);
    await deleteApp(app);
  }
}

describe("native gRPC: the full web SDK in Node (gRPC only)", () => {
  it("set, get, update with a transform, query, transaction, onSnapshot and delete", () =>
    webSdkRoundTrip(serverPort()));
});

describe("native gRPC with Listen and Write over the WebSocket bridge (FLARESTORE_GRPC_BIDI=websocket)", () => {
  let bridged: RunningServer;
  beforeAll(async () => {
    bridged = await startServer({ env: { FLARESTORE_GRPC_BIDI: "websocket" } });
  });
  afterAll(async () => {
    await bridged?.stop();
  });
  it("the full web SDK: set, get, update with a transform, query, transaction, onSnapshot and delete", () =>
    webSdkRoundTrip(bridged.port));
});
