/**
 * Transactions under contention, through the unmodified server SDK (REST) and raw REST:
 * - Firestore's lock semantics, scenario by scenario as a public conformance suite checked them
 *   against Cloud Firestore: shared read locks, writes waiting for every holder, the older of two
 *   conflicting writers winning, plain writes waiting in order, locks on missing documents;
 * - predicate locks: what a query read cannot change (or gain a phantom) until the transaction ends;
 * - liveness: parallel reads under frequent deadlocks all finish within a hard time limit with exact
 *   counters, and nothing stays locked afterwards (the reproduction of a stuck lock).
 */
import * as admin from "@google-cloud/firestore";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminClient, docName, rest, shortenAdminBackoff, uniqueProject } from "./clients.js";

const PROJECT = uniqueProject("contention");
let a: admin.Firestore;
let restoreBackoff: () => void;

beforeAll(() => {
  a = adminClient(PROJECT);
  restoreBackoff = shortenAdminBackoff();
});

afterAll(async () => {
  restoreBackoff();
  await a.terminate();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with "pending" if `p` has not settled within `ms`. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | "pending"> {
  return Promise.race([p, sleep(ms).then(() => "pending" as const)]);
}

/** One-shot signals between concurrent "processes" of a scenario. */
function signals() {
  const waiting = new Map<string, () => void>();
  const fired = new Set<string>();
  const log: string[] = [];
  return {
    log,
    fire(name: string) {
      log.push(name);
      fired.add(name);
      waiting.get(name)?.();
    },
    when(name: string): Promise<void> {
      if (fired.has(name)) return Promise.resolve();
      return new Promise((r) => waiting.set(name, r));
    },
  };
}

let docSeq = 0;
const ref = (prefix = "d") => a.doc(`scenarios/${prefix}${++docSeq}-${Math.random().toString(36).slice(2, 8)}`);

describe("Firestore's lock semantics", () => {
  it("two transactions read the same document at the same time without waiting", async () => {
    const doc = ref();
    await doc.set({ value: "original" });
    const s = signals();
    const txA = a.runTransaction(async (tx) => {
      s.fire("A started");
      const v = (await tx.get(doc)).get("value");
      s.fire("A read");
      await s.when("B ended");
      return v;
    });
    await s.when("A read");
    const txB = a.runTransaction(async (tx) => (await tx.get(doc)).get("value"));
    expect(await within(txB, 5_000)).toBe("original");
    s.fire("B ended");
    expect(await txA).toBe("original");
    expect(s.log).toEqual(["A started", "A read", "B ended"]);
  });

  it("a commit that writes a document waits until every other transaction that read it has ended", async () => {
    const doc = ref();
    await doc.set({ value: "original" });
    const s = signals();
    let bAttempts = 0;
    const txA = a.runTransaction(async (tx) => {
      await tx.get(doc);
      s.fire("A read");
      await s.when("B asked to commit");
      await sleep(500);
      s.fire("A ends");
    });
    await s.when("A read");
    const txB = a
      .runTransaction(async (tx) => {
        bAttempts++;
        await tx.get(doc);
        tx.update(doc, { value: "changed by B" });
        s.fire("B asked to commit");
      })
      .then(() => s.fire("B ended"));
    await txA;
    await txB;
    expect(s.log).toEqual(["A read", "B asked to commit", "A ends", "B ended"]);
    expect(bAttempts).toBe(1);
    expect((await doc.get()).get("value")).toBe("changed by B");
  });

  it("when both write what both read, the older transaction wins even if the younger commits first", async () => {
    const doc = ref();
    await doc.set({ value: "original" });
    const s = signals();
    const seenByB: string[] = [];
    let aAttempts = 0;
    const txA = a.runTransaction(async (tx) => {
      aAttempts++;
      const v = (await tx.get(doc)).get("value") as string;
      s.fire("A read");
      await s.when("B asked to commit");
      await sleep(300);
      tx.update(doc, { value: "changed by A" });
      return v;
    });
    await s.when("A read");
    const txB = a.runTransaction(async (tx) => {
      seenByB.push((await tx.get(doc)).get("value") as string);
      tx.update(doc, { value: "changed by B" });
      s.fire("B asked to commit");
    });
    expect(await txA).toBe("original");
    await txB;
    expect(aAttempts).toBe(1);
    expect(seenByB).toEqual(["original", "changed by A"]); // B was aborted and retried
    expect((await doc.get()).get("value")).toBe("changed by B");
  });

  it("plain writes wait until every transaction's lock is released, and apply in arrival order", async () => {
    const doc1 = ref();
    const doc2 = ref();
    await doc1.create({ log: ["created outside"] });
    const s = signals();
    const txA = a.runTransaction(async (tx) => {
      await tx.get(doc1);
      s.fire("A read doc1");
      await s.when("B ended");
      tx.update(doc1, { log: admin.FieldValue.arrayUnion("A") });
    });
    await s.when("A read doc1");
    const txB = a
      .runTransaction(async (tx) => {
        await tx.get(doc1);
        s.fire("B read doc1");
        await s.when("P4 started");
        tx.create(doc2, { from: "B" });
      })
      .then(() => s.fire("B ended"));
    await s.when("B read doc1");
    const p1 = doc1.update({ log: admin.FieldValue.arrayUnion("P1") }).then(() => s.fire("P1 done"));
    s.fire("P1 started");
    await sleep(50);
    const p4 = doc1.update({ log: admin.FieldValue.arrayUnion("P4") }).then(() => s.fire("P4 done"));
    s.fire("P4 started");
    await Promise.all([txA, txB, p1, p4]);
    // Neither plain write went through before both transactions had ended; then they applied
    // after A's commit, in the order they arrived.
    expect(s.log.slice(0, 5)).toEqual(["A read doc1", "B read doc1", "P1 started", "P4 started", "B ended"]);
    // Their responses may arrive in either order; the order they applied in is in the log field.
    expect([...s.log.slice(5)].sort()).toEqual(["P1 done", "P4 done"]);
    expect((await doc1.get()).get("log")).toEqual(["created outside", "A", "P1", "P4"]);
  });

  it("a lock taken by reading a missing document blocks its creation", async () => {
    const doc = ref();
    const s = signals();
    const txA = a.runTransaction(async (tx) => {
      expect((await tx.get(doc)).exists).toBe(false);
      s.fire("A read");
      await sleep(500);
      s.fire("A ends");
    });
    await s.when("A read");
    const created = doc.create({ by: "outside" }).then(() => s.fire("created"));
    await Promise.all([txA, created]);
    expect(s.log).toEqual(["A read", "A ends", "created"]);
  });

  it("transactions on different documents never wait for each other", async () => {
    const doc1 = ref();
    const doc2 = ref();
    const s = signals();
    const outer = a.runTransaction(async (tx) => {
      await tx.get(doc1);
      s.fire("outer read");
      await s.when("inner ended");
      tx.set(doc1, { outer: 1 });
    });
    await s.when("outer read");
    const inner = a.runTransaction(async (tx) => {
      await tx.get(doc2);
      tx.set(doc2, { inner: 1 });
    });
    expect(await within(inner, 5_000)).toBeUndefined();
    s.fire("inner ended");
    await outer;
    expect((await doc1.get()).data()).toEqual({ outer: 1 });
  });
});

describe("predicate locks: queries in read-write transactions", () => {
  /**
   * Runs a transaction that queries, holds its locks for 500 ms, then updates `touch`; an outside
   * write starts once the query is locked. Checks whether that write finished during the hold.
   */
  async function scenario(
    query: admin.Query,
    expectedSize: number,
    outside: () => Promise<unknown>,
    opts: { touch?: admin.DocumentReference; expectWait: boolean },
  ) {
    const s = signals();
    let write: Promise<unknown> | undefined;
    let attempts = 0;
    let doneDuringHold: boolean | undefined;
    await a.runTransaction(async (t) => {
      attempts++;
      const snap = await t.get(query);
      expect(snap.size).toBe(expectedSize);
      write ??= outside().then(() => s.fire("outside write done"));
      await sleep(500);
      doneDuringHold = s.log.includes("outside write done");
      if (opts.touch) t.update(opts.touch, { other: "data" });
    });
    await write;
    expect(attempts).toBe(1);
    expect(doneDuringHold).toBe(!opts.expectWait);
  }

  const coll = () => a.collection(`q${++docSeq}-${Math.random().toString(36).slice(2, 8)}`);

  it("updates and deletes of documents a query returned wait until the transaction ends", async () => {
    const c = coll();
    await c.doc("one").create({ testName: "x" });
    await c.doc("two").create({ testName: "x" });
    const q = c.where("testName", "==", "x");
    await scenario(q, 2, () => Promise.all([c.doc("one").update({ simple: 1 }), c.doc("two").update({ simple: 2 })]), {
      touch: c.doc("one"),
      expectWait: true,
    });
    await scenario(q, 2, () => c.doc("two").delete(), { touch: c.doc("one"), expectWait: true });
  });

  it("a document created into a query's range waits (no phantoms, unlike Cloud Firestore)", async () => {
    const c = coll();
    await c.doc("one").create({ testName: "x" });
    const q = c.where("testName", "==", "x");
    await scenario(q, 1, () => c.doc("two").create({ testName: "x" }), { touch: c.doc("one"), expectWait: true });
    // Outside the range: no wait.
    await scenario(q, 2, () => c.doc("three").create({ testName: "y" }), { expectWait: false });
    // Moving a document into the range waits too.
    await scenario(q, 2, () => c.doc("three").update({ testName: "x" }), { expectWait: true });
  });

  it("a limit query locks only up to its last result", async () => {
    const c = coll();
    for (const n of [1, 2, 3]) await c.doc(`n${n}`).create({ n });
    const q = c.orderBy("n").limit(2);
    await scenario(q, 2, () => c.doc("n3").update({ n: 4 }), { expectWait: false });
    await scenario(q, 2, () => c.doc("n0").create({ n: 0 }), { expectWait: true });
  });

  it("count() in a transaction is serializable: inserts that would change it wait", async () => {
    const c = coll();
    await c.doc("a").create({ kind: "k" });
    const s = signals();
    const tx = a.runTransaction(async (t) => {
      const count = (await t.get(c.where("kind", "==", "k").count())).data().count;
      s.fire(`counted ${count}`);
      await sleep(400);
      s.fire("committing");
      t.set(c.doc("summary"), { count });
    });
    await s.when("counted 1");
    const insert = c.doc("b").create({ kind: "k" });
    void insert.then(() => s.fire("inserted"));
    await tx;
    const inserted = await insert;
    // The insert was still waiting when the transaction went to commit, and it
    // was applied after the commit (the responses themselves may arrive in
    // either order, so their arrival is not what is compared).
    expect(s.log.slice(0, 2)).toEqual(["counted 1", "committing"]);
    const summary = await c.doc("summary").get();
    expect(summary.data()).toEqual({ count: 1 });
    expect(inserted.writeTime.toMillis()).toBeGreaterThanOrEqual(summary.updateTime!.toMillis());
    expect(inserted.writeTime.isEqual(summary.updateTime!)).toBe(false);
  });

  it("concurrent capacity checks never overfill a collection", async () => {
    const c = coll();
    const capacity = 3;
    // The SDK gives up after 10 backoffs whatever maxAttempts says ("Exceeded maximum number of
    // retries allowed"). Eight clients on one collection can be aborted more often than that (the
    // deadlock victim is the youngest, and retries keep contending), so a give-up is retried here as
    // an app would: what is checked is that the collection never overfills and that all finish.
    const persist = async <T>(run: () => Promise<T>): Promise<T> => {
      for (let round = 1; ; round++) {
        try {
          return await run();
        } catch (e) {
          if (round >= 5 || !/Exceeded maximum number of retries/.test((e as Error).message)) throw e;
        }
      }
    };
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        persist(() =>
          a.runTransaction(
            async (t) => {
              const members = await t.get(c);
              if (members.size >= capacity) return false;
              t.create(c.doc(`m${i}`), { i });
              return true;
            },
            { maxAttempts: 50 },
          ),
        ),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(capacity);
    expect((await c.get()).size).toBe(capacity);
  });
});

describe("liveness under frequent deadlocks", () => {
  it("a write waiting on an abandoned transaction gets its answer: the idle holder is aborted after 15 s", async () => {
    const base = `projects/${PROJECT}/databases/(default)/documents`;
    const name = docName(PROJECT, `abandoned${++docSeq}/doc`);
    await rest("PATCH", name, { fields: { n: { integerValue: "1" } } });
    // A transaction reads the document, then its client goes away without committing.
    const begun = await rest("POST", `${base}:beginTransaction`, { options: { readWrite: {} } });
    const tx = (begun.json as { transaction: string }).transaction;
    expect((await rest("POST", `${base}:batchGet`, { documents: [name], transaction: tx })).status).toBe(200);
    const t0 = Date.now();
    const write = await rest("PATCH", name, { fields: { n: { integerValue: "2" } } });
    const waited = Date.now() - t0;
    expect(write.status).toBe(200);
    expect(waited).toBeGreaterThan(14_000);
    expect(waited).toBeLessThan(20_000);
    const commit = await rest("POST", `${base}:commit`, { writes: [], transaction: tx });
    expect(commit.status).toBe(409);
    expect((commit.json as { error: { message: string } }).error.message).toMatch(/idle/);
  }, 30_000);

  it("12 raw REST clients doing parallel reads in transactions all finish, counters exact, nothing left locked", async () => {
    const prefix = `raw${++docSeq}`;
    const names = ["a", "b", "c", "d"].map((id) => docName(PROJECT, `${prefix}/${id}`));
    const base = `projects/${PROJECT}/databases/(default)/documents`;
    const committed = new Map(names.map((n) => [n, 0]));
    let aborts = 0;
    let seed = 42;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const read = async (tx: string, name: string) => {
      const res = await rest("POST", `${base}:batchGet`, { documents: [name], transaction: tx });
      if (res.status !== 200) return { status: res.status, n: 0 };
      const found = (res.json as { found?: { fields?: { n?: { integerValue: string } } } }[])[0]?.found;
      return { status: 200, n: Number(found?.fields?.n?.integerValue ?? 0) };
    };
    const client = async (increments: number) => {
      for (let done = 0; done < increments; ) {
        const picked = [...new Set([0, 1, 2].map(() => names[Math.floor(random() * names.length)] as string))];
        let previous: string | undefined;
        for (;;) {
          const options = { readWrite: previous ? { retryTransaction: previous } : {} };
          const begin = await rest("POST", `${base}:beginTransaction`, { options });
          expect(begin.status).toBe(200);
          const tx = (begin.json as { transaction: string }).transaction;
          previous = tx;
          // The server SDK's shape: the first read alone, then the others at once.
          const first = await read(tx, picked[0] as string);
          const rest2 = await Promise.all(picked.slice(1).map((n) => read(tx, n)));
          const reads = [first, ...rest2];
          let status = reads.find((r) => r.status !== 200)?.status ?? 200;
          if (status === 200) {
            const writes = picked.map((n, i) => ({
              update: { name: n, fields: { n: { integerValue: String((reads[i]?.n ?? 0) + 1) } } },
            }));
            status = (await rest("POST", `${base}:commit`, { writes, transaction: tx })).status;
          }
          if (status === 200) {
            for (const n of picked) committed.set(n, (committed.get(n) as number) + 1);
            done++;
            break;
          }
          expect(status).toBe(409);
          aborts++;
          await rest("POST", `${base}:rollback`, { transaction: tx });
        }
      }
    };
    const started = Date.now();
    await Promise.race([
      Promise.all(Array.from({ length: 12 }, () => client(10))),
      sleep(90_000).then(() => {
        throw new Error("transactions did not finish within 90 s");
      }),
    ]);
    const elapsed = Date.now() - started;
    for (const n of names) {
      const got = await rest("GET", n);
      expect(Number((got.json as { fields: { n: { integerValue: string } } }).fields.n.integerValue)).toBe(
        committed.get(n),
      );
    }
    // Nothing is left locked: a plain write to every document goes through at once.
    const t0 = Date.now();
    await Promise.all(names.map((n) => rest("PATCH", n, { fields: { n: { integerValue: "0" } } })));
    expect(Date.now() - t0).toBeLessThan(2_000);
    console.log(`raw REST: 120 transactions in ${elapsed} ms, ${aborts} aborts`);
  }, 120_000);

  it("the server SDK with parallel reads under deadlocks: 8 clients × 6 documents, exact counters", async () => {
    const docs = Array.from({ length: 6 }, (_, i) => a.doc(`sdk${docSeq}/d${i}`));
    docSeq++;
    for (const d of docs) await d.set({ n: 0 });
    const committed = new Array(6).fill(0) as number[];
    let attempts = 0;
    let transactions = 0;
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const client = async () => {
      for (let k = 0; k < 6; k++) {
        const picked = [...new Set([0, 1, 2].map(() => Math.floor(random() * 6)))];
        await a.runTransaction(
          async (tx) => {
            attempts++;
            const first = await tx.get(docs[picked[0] as number] as admin.DocumentReference);
            const others = await Promise.all(picked.slice(1).map((i) => tx.get(docs[i] as admin.DocumentReference)));
            for (const snap of [first, ...others]) tx.update(snap.ref, { n: (snap.get("n") as number) + 1 });
          },
          { maxAttempts: 100 },
        );
        for (const i of picked) committed[i] = (committed[i] as number) + 1;
        transactions++;
      }
    };
    const started = Date.now();
    await Promise.race([
      Promise.all(Array.from({ length: 8 }, client)),
      sleep(90_000).then(() => {
        throw new Error("transactions did not finish within 90 s");
      }),
    ]);
    const elapsed = Date.now() - started;
    const values = await Promise.all(docs.map(async (d) => (await d.get()).get("n") as number));
    expect(values).toEqual(committed);
    const t0 = Date.now();
    await Promise.all(docs.map((d) => d.set({ n: -1 })));
    expect(Date.now() - t0).toBeLessThan(2_000);
    console.log(
      `server SDK: ${transactions} transactions in ${elapsed} ms, ${attempts - transactions} aborted attempts`,
    );
  }, 120_000);
});
