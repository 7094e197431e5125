/**
 * Bounded memory, end to end: a server whose V8 heap is limited (`FLARESTORE_HEAP_MB`, as
 * production limits a Durable Object's isolate) holds several times that much data, and the
 * unmodified server SDK reads all of it, queries it, aggregates it and reads it at a past time.
 * If any of these held its whole result (or input) at once, workerd would run out of heap and
 * abort, and the request would fail.
 *
 * The data: BIG documents of ~1 MB (`tail: true`, i from 1000) after SMALL small ones (i from 0)
 * in one collection, so a query for the tail ordered by i makes the planner give up its ordered
 * scan and read every tail document as a candidate, then sort them.
 */
import type { Firestore } from "@google-cloud/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningServer, startServer } from "../helpers/server.js";
import { adminClient, uniqueProject } from "./clients.js";

const HEAP_MB = 40;
const BIG = 60; // × ~1 MB: 1.5 times the heap
const SMALL = 200;
const BODY = 1_000_000;

const project = uniqueProject("memory");
let server: RunningServer;
let db: Firestore;

beforeAll(async () => {
  server = await startServer({ env: { FLARESTORE_HEAP_MB: String(HEAP_MB) } });
  db = adminClient(project, { port: server.port });
  const c = db.collection("c");
  const small = db.batch();
  for (let i = 0; i < SMALL; i++) small.set(c.doc(`a${String(i).padStart(4, "0")}`), { i, n: 1 });
  await small.commit();
  // Four ~1 MB documents per commit (a commit of 10 MiB needs more than this heap: see README).
  for (let k = 0; k < BIG; k += 4) {
    const batch = db.batch();
    for (let j = k; j < Math.min(BIG, k + 4); j++) {
      batch.set(c.doc(`z${String(j).padStart(4, "0")}`), {
        i: 1000 + j,
        n: 2,
        tail: true,
        s: String.fromCharCode(97 + (j % 26)).repeat(BODY),
      });
    }
    await batch.commit();
  }
}, 120_000);

afterAll(async () => {
  await db?.terminate();
  await server?.stop();
});

describe(`a server limited to a ${HEAP_MB} MB heap, holding ${BIG} MB`, () => {
  const bigRefs = () => Array.from({ length: BIG }, (_, j) => db.doc(`c/z${String(j).padStart(4, "0")}`));
  const expectBig = (data: FirebaseFirestore.DocumentData | undefined, j: number) => {
    expect(data?.i).toBe(1000 + j);
    expect(data?.s.length).toBe(BODY);
    expect(data?.s[0]).toBe(String.fromCharCode(97 + (j % 26)));
  };

  it("batchGet (getAll) returns every large document", { timeout: 120_000 }, async () => {
    const snaps = await db.getAll(...bigRefs());
    expect(snaps.length).toBe(BIG);
    snaps.forEach((s, j) => {
      expectBig(s.data(), j);
    });
  });

  it("a query whose candidates are all large sorts them and returns them all", { timeout: 120_000 }, async () => {
    const snap = await db.collection("c").where("tail", "==", true).orderBy("i", "desc").get();
    expect(snap.size).toBe(BIG);
    snap.docs.forEach((d, k) => {
      expectBig(d.data(), BIG - 1 - k);
    });
  });

  it("aggregations over every document", { timeout: 120_000 }, async () => {
    const { AggregateField } = await import("@google-cloud/firestore");
    const all = await db
      .collection("c")
      .aggregate({ count: AggregateField.count(), total: AggregateField.sum("i"), mean: AggregateField.average("n") })
      .get();
    const sumSmall = (SMALL * (SMALL - 1)) / 2;
    const sumBig = BIG * 1000 + (BIG * (BIG - 1)) / 2;
    expect(all.data()).toEqual({
      count: SMALL + BIG,
      total: sumSmall + sumBig,
      mean: (SMALL + 2 * BIG) / (SMALL + BIG),
    });
    // With a limit the aggregation keeps only what it adds up.
    const limited = await db
      .collection("c")
      .where("tail", "==", true)
      .orderBy("i")
      .limit(BIG - 10)
      .aggregate({ total: AggregateField.sum("i") })
      .get();
    expect(limited.data().total).toBe((BIG - 10) * 1000 + ((BIG - 10) * (BIG - 11)) / 2);
  });

  it("listing with a large page size returns shorter pages, in order, and every document once", {
    timeout: 120_000,
  }, async () => {
    for (const orderBy of [undefined, "i desc"]) {
      const names: string[] = [];
      let pages = 0;
      let token: string | undefined;
      do {
        const params = new URLSearchParams({ pageSize: "1000" });
        if (orderBy) params.set("orderBy", orderBy);
        if (token) params.set("pageToken", token);
        const res = await fetch(`${server.url}/v1/projects/${project}/databases/(default)/documents/c?${params}`);
        expect(res.status).toBe(200);
        const body = (await res.json()) as { documents?: { name: string }[]; nextPageToken?: string };
        names.push(...(body.documents ?? []).map((d) => d.name.replace(/^.*\/documents\//, "")));
        token = body.nextPageToken;
        pages++;
      } while (token);
      const expected = [
        ...Array.from({ length: SMALL }, (_, i) => `c/a${String(i).padStart(4, "0")}`),
        ...Array.from({ length: BIG }, (_, j) => `c/z${String(j).padStart(4, "0")}`),
      ];
      expect(names).toEqual(orderBy ? [...expected].reverse() : expected);
      expect(pages).toBeGreaterThan(BIG / 8); // about 4 MB a page
    }
  });

  it("a query at a past read time, after every large document changed", { timeout: 120_000 }, async () => {
    const before = await db.collection("c").where("tail", "==", true).limit(1).get();
    const readTime = before.readTime;
    for (let k = 0; k < BIG; k += 8) {
      const batch = db.batch();
      for (const ref of bigRefs().slice(k, k + 8)) batch.update(ref, { s: "changed" });
      await batch.commit();
    }
    const past = await db.runTransaction((tx) => tx.get(db.collection("c").where("tail", "==", true).orderBy("i")), {
      readOnly: true,
      readTime,
    });
    expect(past.size).toBe(BIG);
    past.docs.forEach((d, j) => {
      expectBig(d.data(), j);
    });
    const now = await db.collection("c").where("tail", "==", true).select("s").get();
    expect(now.docs.every((d) => d.get("s") === "changed")).toBe(true);
  });
});
