/**
 * Restart durability: a private server with a fresh data directory, documents written by both SDKs
 * (several databases, sub-collections, deletes, history), the server stopped and started again on
 * the same directory, and everything read back identically (fields, createTime, updateTime).
 */
import { rmSync } from "node:fs";
import * as admin from "@google-cloud/firestore";
import * as lite from "firebase/firestore/lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../helpers/server.js";
import { adminClient, liteClient, type RawDocument, rawGet, rest, uniqueProject } from "./clients.js";

const PROJECT = uniqueProject("durability");
let server: RunningServer | undefined;

const PATHS = [
  "lite/values",
  "lite/batch1",
  "lite/batch2",
  "lite/tx",
  "admin/values",
  "admin/big",
  "admin/deep/sub/child",
  "admin/updated",
  "admin/deleted",
  "missingparent/p/kids/k1",
];

interface Snapshot {
  docs: Record<string, RawDocument | undefined>;
  other: RawDocument | undefined;
  collections: string[];
  listing: string[];
  oldVersion: admin.DocumentData | undefined;
}

async function capture(port: number, oldReadTime: admin.Timestamp): Promise<Snapshot> {
  const docs: Record<string, RawDocument | undefined> = {};
  for (const p of PATHS) docs[p] = await rawGet(PROJECT, p, { port });
  const a = adminClient(PROJECT, { port });
  try {
    const collections = (await a.listCollections()).map((c) => c.id);
    const listing = (await a.collection("missingparent").listDocuments()).map((r) => r.path);
    const old = await a.runTransaction((tx) => tx.get(a.doc("admin/updated")), {
      readOnly: true,
      readTime: oldReadTime,
    });
    return {
      docs,
      other: await rawGet(PROJECT, "o/doc", { port, databaseId: "otherdb" }),
      collections,
      listing,
      oldVersion: old.data(),
    };
  } finally {
    await a.terminate();
  }
}

let before: Snapshot;
let oldReadTime: admin.Timestamp;

beforeAll(async () => {
  server = await startServer();
  const port = server.port;
  const l = liteClient(PROJECT, { port });
  const a = adminClient(PROJECT, { port });
  try {
    await lite.setDoc(lite.doc(l.db, "lite/values"), {
      s: "😀 text",
      n: 42,
      d: -0,
      nan: Number.NaN,
      t: new lite.Timestamp(1700000000, 123456789),
      b: lite.Bytes.fromUint8Array(new Uint8Array([0, 255])),
      g: new lite.GeoPoint(1, 2),
      r: lite.doc(l.db, "admin/values"),
      v: lite.vector([1, 2]),
      m: { a: [1, { b: null }] },
      at: lite.serverTimestamp(),
    });
    const batch = lite.writeBatch(l.db);
    batch.set(lite.doc(l.db, "lite/batch1"), { i: 1 });
    batch.set(lite.doc(l.db, "lite/batch2"), { i: 2 });
    await batch.commit();
    await lite.runTransaction(l.db, async (tx) => {
      const s = await tx.get(lite.doc(l.db, "lite/tx"));
      tx.set(lite.doc(l.db, "lite/tx"), { existed: s.exists() });
    });
    await lite.setDoc(lite.doc(l.database("otherdb"), "o/doc"), { db: "other" });

    await a.doc("admin/values").set({
      big: BigInt(2) ** BigInt(62),
      arr: admin.FieldValue.arrayUnion("x", "y"),
      inc: admin.FieldValue.increment(1.5),
      ts: new Date(1234567890123),
    });
    await a.doc("admin/big").set({ s: "z".repeat(900_000) }); // stored in chunks
    await a.doc("admin/deep/sub/child").set({ deep: true });
    const w1 = await a.doc("admin/updated").set({ version: 1 });
    oldReadTime = w1.writeTime;
    await a.doc("admin/updated").update({ version: 2, extra: admin.FieldValue.serverTimestamp() });
    await a.doc("admin/deleted").set({ gone: false });
    await a.doc("admin/deleted").delete();
    await a.doc("missingparent/p/kids/k1").set({ kid: 1 });
  } finally {
    await l.close();
    await a.terminate();
  }
  before = await capture(port, oldReadTime);
});

afterAll(async () => {
  const dir = server?.dataDir;
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("restart durability", () => {
  it("the captured state is what was written (sanity)", () => {
    expect(before.docs["lite/values"]?.fields?.s).toEqual({ stringValue: "😀 text" });
    expect(before.docs["admin/updated"]?.fields?.version).toEqual({ integerValue: "2" });
    expect(before.docs["admin/deleted"]).toBeUndefined();
    expect(before.other?.fields).toEqual({ db: { stringValue: "other" } });
    expect(before.collections).toEqual(["admin", "lite", "missingparent"]);
    expect(before.listing).toEqual(["missingparent/p"]);
    expect(before.oldVersion).toEqual({ version: 1 });
  });

  it("after stop and restart on the same data directory everything reads back identically", async () => {
    const dataDir = (server as RunningServer).dataDir;
    await (server as RunningServer).stop();
    server = undefined;
    server = await startServer({ dataDir });
    const port = server.port;

    const after = await capture(port, oldReadTime);
    expect(after).toEqual(before);

    // The SDKs read the same values.
    const l = liteClient(PROJECT, { port });
    const a = adminClient(PROJECT, { port, settings: { useBigInt: true } });
    try {
      const snap = await lite.getDoc(lite.doc(l.db, "lite/values"));
      expect(Object.is(snap.get("d"), -0)).toBe(true);
      expect(Number.isNaN(snap.get("nan"))).toBe(true);
      expect((snap.get("t") as lite.Timestamp).nanoseconds).toBe(123456000);
      expect((snap.get("v") as lite.VectorValue).toArray()).toEqual([1, 2]);
      const av = await a.doc("admin/values").get();
      expect(av.get("big")).toBe(BigInt(2) ** BigInt(62));
      expect(av.get("arr")).toEqual(["x", "y"]);
      expect(((await a.doc("admin/big").get()).get("s") as string).length).toBe(900_000);

      // Commit times keep increasing across the restart, and writes still work.
      const lastBefore = Math.max(
        ...Object.values(before.docs)
          .filter((d): d is RawDocument => d !== undefined)
          .map((d) => Date.parse(d.updateTime)),
      );
      const w = await a.doc("admin/after-restart").set({ ok: true });
      expect(w.writeTime.toMillis()).toBeGreaterThanOrEqual(lastBefore);
      await lite.updateDoc(lite.doc(l.db, "lite/batch1"), { i: lite.increment(10) });
      expect((await lite.getDoc(lite.doc(l.db, "lite/batch1"))).get("i")).toBe(11);
      const res = await rest(
        "POST",
        `projects/${PROJECT}/databases/(default)/documents:listCollectionIds`,
        {},
        { port },
      );
      expect((res.json as { collectionIds: string[] }).collectionIds).toEqual(["admin", "lite", "missingparent"]);
    } finally {
      await l.close();
      await a.terminate();
    }
  });
});
