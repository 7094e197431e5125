/**
 * Transactions as the two SDKs run them:
 * - lite: optimistic, no transaction id; batchGet, then one commit whose writes carry updateTime /
 *   exists preconditions and `verify` writes for documents read but not written;
 * - admin over REST: `newTransaction` on the first batchGet, `transaction` on the commit,
 *   `:rollback` when the callback throws; read-only transactions at a `readTime`.
 */
import * as admin from "@google-cloud/firestore";
import * as lite from "firebase/firestore/lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminClient,
  adminError,
  type LiteClient,
  liteClient,
  rejection,
  shortenAdminBackoff,
  uniqueProject,
} from "./clients.js";

const PROJECT = uniqueProject("transactions");
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

describe("lite runTransaction", () => {
  it("read-modify-write of several documents, including one that does not exist yet", async () => {
    await lite.setDoc(ldoc("lt/counter"), { n: 41 });
    const result = await lite.runTransaction(l.db, async (tx) => {
      const c = await tx.get(ldoc("lt/counter"));
      const fresh = await tx.get(ldoc("lt/fresh"));
      expect(fresh.exists()).toBe(false);
      const n = (c.get("n") as number) + 1;
      tx.update(ldoc("lt/counter"), { n });
      tx.set(ldoc("lt/fresh"), { created: true, copy: n });
      tx.set(ldoc("lt/blind"), { unread: true });
      return n;
    });
    expect(result).toBe(42);
    const snaps = await a.getAll(a.doc("lt/counter"), a.doc("lt/fresh"), a.doc("lt/blind"));
    expect(snaps.map((s) => s.data())).toEqual([{ n: 42 }, { created: true, copy: 42 }, { unread: true }]);
    const t = snaps[0]?.updateTime as admin.Timestamp;
    for (const s of snaps) expect(s.updateTime?.isEqual(t)).toBe(true);
  });

  it("10 concurrent read-modify-write transactions on one document all succeed", async () => {
    await lite.setDoc(ldoc("lt/contended"), { n: 0, log: [] });
    const ids = Array.from({ length: 10 }, (_, i) => i);
    const results = await Promise.all(
      ids.map((i) =>
        lite.runTransaction(
          l.db,
          async (tx) => {
            const snap = await tx.get(ldoc("lt/contended"));
            const n = (snap.get("n") as number) + 1;
            tx.update(ldoc("lt/contended"), { n, log: [...(snap.get("log") as number[]), i] });
            return n;
          },
          { maxAttempts: 30 },
        ),
      ),
    );
    const snap = await lite.getDoc(ldoc("lt/contended"));
    expect(snap.get("n")).toBe(10);
    // Serializable: every transaction saw a distinct value, and each appended its id exactly once.
    expect([...results].sort((x, y) => x - y)).toEqual(ids.map((i) => i + 1));
    expect([...(snap.get("log") as number[])].sort((x, y) => x - y)).toEqual(ids);
  });

  it("a document read but not written is verified at commit: a concurrent change forces a retry", async () => {
    await lite.setDoc(ldoc("lt/src"), { v: 1 });
    let attempts = 0;
    await lite.runTransaction(l.db, async (tx) => {
      attempts++;
      const src = await tx.get(ldoc("lt/src"));
      if (attempts === 1) await a.doc("lt/src").set({ v: 2 }); // outside the transaction
      tx.set(ldoc("lt/dst"), { copied: src.get("v") });
    });
    expect(attempts).toBe(2);
    expect((await lite.getDoc(ldoc("lt/dst"))).data()).toEqual({ copied: 2 });
  });

  it("a document read as missing is created with exists:false: a concurrent create forces a retry", async () => {
    let attempts = 0;
    await lite.runTransaction(l.db, async (tx) => {
      attempts++;
      const snap = await tx.get(ldoc("lt/race-create"));
      if (attempts === 1) await a.doc("lt/race-create").set({ by: "other" });
      tx.set(ldoc("lt/race-create"), { by: "tx", sawExisting: snap.exists() });
    });
    expect(attempts).toBe(2);
    expect((await lite.getDoc(ldoc("lt/race-create"))).data()).toEqual({ by: "tx", sawExisting: true });
  });

  it("a conflicting create surfaces as 'aborted' (HTTP 409) when no retry is left", async () => {
    const e = await rejection(() =>
      lite.runTransaction(
        l.db,
        async (tx) => {
          const snap = await tx.get(ldoc("lt/create-conflict"));
          expect(snap.exists()).toBe(false);
          await a.doc("lt/create-conflict").set({ by: "other" });
          tx.set(ldoc("lt/create-conflict"), { by: "tx" });
        },
        { maxAttempts: 1 },
      ),
    );
    expect(e.code).toBe("aborted");
    expect((await lite.getDoc(ldoc("lt/create-conflict"))).data()).toEqual({ by: "other" });
  });

  it("a transaction that conflicts on every attempt fails after maxAttempts without writing", async () => {
    await lite.setDoc(ldoc("lt/always"), { n: 0 });
    let attempts = 0;
    const e = await rejection(() =>
      lite.runTransaction(
        l.db,
        async (tx) => {
          attempts++;
          const snap = await tx.get(ldoc("lt/always"));
          await a.doc("lt/always").update({ n: admin.FieldValue.increment(100) });
          tx.update(ldoc("lt/always"), { n: (snap.get("n") as number) + 1 });
        },
        { maxAttempts: 2 },
      ),
    );
    expect(attempts).toBe(2);
    expect(["aborted", "failed-precondition"]).toContain(e.code);
    expect((await lite.getDoc(ldoc("lt/always"))).get("n")).toBe(200);
  });

  it("a callback that throws writes nothing and rejects with the callback's error", async () => {
    await lite.setDoc(ldoc("lt/throw"), { n: 1 });
    const e = await rejection(() =>
      lite.runTransaction(l.db, async (tx) => {
        await tx.get(ldoc("lt/throw"));
        tx.set(ldoc("lt/throw"), { n: 2 });
        tx.set(ldoc("lt/throw-other"), { n: 2 });
        throw new Error("boom");
      }),
    );
    expect(e.message).toBe("boom");
    expect((await lite.getDoc(ldoc("lt/throw"))).data()).toEqual({ n: 1 });
    expect((await lite.getDoc(ldoc("lt/throw-other"))).exists()).toBe(false);
  });
});

describe("admin runTransaction", () => {
  it("read-modify-write with getAll, create, update and delete", async () => {
    await a.doc("at/acc1").set({ balance: 100 });
    await a.doc("at/acc2").set({ balance: 5 });
    await a.doc("at/old").set({ x: 1 });
    const moved = await a.runTransaction(async (tx) => {
      const [s1, s2] = await tx.getAll(a.doc("at/acc1"), a.doc("at/acc2"));
      const amount = 30;
      tx.update(a.doc("at/acc1"), { balance: (s1?.get("balance") as number) - amount });
      tx.update(a.doc("at/acc2"), { balance: (s2?.get("balance") as number) + amount });
      tx.create(a.doc("at/log"), { amount, at: admin.FieldValue.serverTimestamp() });
      tx.delete(a.doc("at/old"));
      return amount;
    });
    expect(moved).toBe(30);
    const snaps = await a.getAll(a.doc("at/acc1"), a.doc("at/acc2"), a.doc("at/log"), a.doc("at/old"));
    expect(snaps[0]?.get("balance")).toBe(70);
    expect(snaps[1]?.get("balance")).toBe(35);
    expect(snaps[2]?.get("amount")).toBe(30);
    const at = snaps[2]?.get("at") as admin.Timestamp;
    expect(at.isEqual(snaps[0]?.updateTime as admin.Timestamp)).toBe(true);
    expect(snaps[3]?.exists).toBe(false);
  });

  it("a transaction reading only missing documents still gets a transaction id and commits", async () => {
    await a.runTransaction(async (tx) => {
      const snap = await tx.get(a.doc("at/none"));
      expect(snap.exists).toBe(false);
      tx.set(a.doc("at/none"), { made: true });
    });
    expect((await a.doc("at/none").get()).data()).toEqual({ made: true });
  });

  it("10 concurrent read-modify-write transactions on one document all commit (final count 10)", async () => {
    // Reads share locks, so concurrent read-modify-writes of one document conflict and the younger
    // ones are aborted and retried, as in Firestore; a retry keeps its age, so each transaction is
    // aborted at most 9 times here (the SDK gives up after 10 backoffs, so 20 would not all
    // finish, on Firestore either). The SDK's REST backoff after ABORTED is 30–90 s: shortened
    // so that the test measures the server.
    const restore = shortenAdminBackoff();
    try {
      const ref = a.doc("at/contended");
      await ref.set({ n: 0 });
      const seen = await Promise.all(
        Array.from({ length: 10 }, () =>
          a.runTransaction(
            async (tx) => {
              const snap = await tx.get(ref);
              const n = (snap.get("n") as number) + 1;
              tx.update(ref, { n });
              return n;
            },
            { maxAttempts: 100 },
          ),
        ),
      );
      expect((await ref.get()).get("n")).toBe(10);
      expect([...seen].sort((x, y) => x - y)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    } finally {
      restore();
    }
  });

  it("a document read in a transaction is locked: an outside write waits until the commit", async () => {
    const ref = a.doc("at/locked");
    await ref.set({ n: 0 });
    let outside: Promise<void> | undefined;
    let outsideDone = false;
    let doneDuringTx: boolean | undefined;
    let attempts = 0;
    await a.runTransaction(async (tx) => {
      attempts++;
      const snap = await tx.get(ref);
      if (!outside) {
        outside = ref.update({ outside: true }).then(() => {
          outsideDone = true;
        });
      }
      await new Promise((r) => setTimeout(r, 500));
      doneDuringTx = outsideDone;
      tx.update(ref, { n: (snap.get("n") as number) + 1 });
    });
    await outside;
    expect(attempts).toBe(1);
    expect(doneDuringTx).toBe(false);
    expect((await ref.get()).data()).toEqual({ n: 1, outside: true });
  });

  it("a callback that throws rolls back: nothing is written and the document's lock is released", async () => {
    const ref = a.doc("at/rollback");
    await ref.set({ n: 1 });
    const e = await rejection(() =>
      a.runTransaction(async (tx) => {
        const snap = await tx.get(ref);
        tx.update(ref, { n: (snap.get("n") as number) + 1 });
        tx.set(a.doc("at/rollback-other"), { x: 1 });
        throw new Error("callback failed");
      }),
    );
    expect(e.message).toBe("callback failed");
    expect((await ref.get()).data()).toEqual({ n: 1 });
    expect((await a.doc("at/rollback-other").get()).exists).toBe(false);
    // The rolled-back transaction held a lock on the document; it must be free again at once.
    const started = Date.now();
    await a.runTransaction(async (tx) => {
      const snap = await tx.get(ref);
      tx.update(ref, { n: (snap.get("n") as number) + 10 });
    });
    await ref.update({ direct: true });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect((await ref.get()).data()).toEqual({ n: 11, direct: true });
  });

  it("create of an existing document inside a transaction fails with 409 and writes nothing", async () => {
    await a.doc("at/taken").set({ v: 0 });
    const e = await rejection(() =>
      a.runTransaction(
        async (tx) => {
          await tx.get(a.doc("at/taken-reader"));
          tx.set(a.doc("at/taken-side"), { v: 1 });
          tx.create(a.doc("at/taken"), { v: 1 });
        },
        { maxAttempts: 1 },
      ),
    );
    expect(adminError(e).http).toBe(409);
    expect((await a.doc("at/taken").get()).data()).toEqual({ v: 0 });
    expect((await a.doc("at/taken-side").get()).exists).toBe(false);
  });

  it("readOnly with readTime reads the version of a document as of readTime (point-in-time read)", async () => {
    const ref = a.doc("at/pitr");
    const w1 = await ref.set({ v: "old" });
    const readTime = w1.writeTime;
    await new Promise((r) => setTimeout(r, 20));
    await ref.set({ v: "new", extra: true });
    await a.doc("at/pitr-later").set({ born: "after" });
    await a
      .doc("at/pitr-gone")
      .set({ x: 1 })
      .then(() => undefined);
    const [old, later, current] = await a.runTransaction(
      async (tx) => {
        const [o, l2] = await tx.getAll(ref, a.doc("at/pitr-later"));
        const c = await tx.get(ref);
        return [o, l2, c] as const;
      },
      { readOnly: true, readTime },
    );
    expect(old?.data()).toEqual({ v: "old" });
    expect(old?.updateTime?.isEqual(readTime)).toBe(true);
    expect(old?.readTime.isEqual(readTime)).toBe(true);
    expect(later?.exists).toBe(false);
    expect(current.data()).toEqual({ v: "old" });
    // Outside the transaction the current version is read.
    expect((await ref.get()).data()).toEqual({ v: "new", extra: true });
  });

  it("readOnly at a readTime sees deleted documents as they were", async () => {
    const ref = a.doc("at/pitr-deleted");
    const w = await ref.set({ alive: true });
    await ref.delete();
    const snap = await a.runTransaction((tx) => tx.get(ref), { readOnly: true, readTime: w.writeTime });
    expect(snap.exists).toBe(true);
    expect(snap.data()).toEqual({ alive: true });
    expect((await ref.get()).exists).toBe(false);
  });

  it("readOnly at a readTime: the boundary is the commit time, to the microsecond", async () => {
    const ref = a.doc("at/pitr-boundary");
    await ref.set({ v: 1 });
    const w2 = await ref.set({ v: 2 });
    await ref.set({ v: 3 });
    const t = w2.writeTime;
    const justBefore = new admin.Timestamp(
      t.nanoseconds >= 1000 ? t.seconds : t.seconds - 1,
      t.nanoseconds >= 1000 ? t.nanoseconds - 1000 : t.nanoseconds + 999_999_000,
    );
    const at = await a.runTransaction((tx) => tx.get(ref), { readOnly: true, readTime: t });
    const before = await a.runTransaction((tx) => tx.get(ref), { readOnly: true, readTime: justBefore });
    expect(at.get("v")).toBe(2);
    expect(before.get("v")).toBe(1);
  });

  it("a readOnly transaction reads one consistent snapshot even if a write lands in between", async () => {
    const ref = a.doc("at/ro-snapshot");
    const other = a.doc("at/ro-snapshot-other");
    await ref.set({ v: 1 });
    await other.set({ v: 1 });
    const seen = await a.runTransaction(
      async (tx) => {
        const first = (await tx.get(ref)).get("v") as number;
        await a.batch().set(ref, { v: 2 }).set(other, { v: 2 }).commit(); // outside the transaction
        const again = (await tx.get(ref)).get("v") as number;
        const o = (await tx.get(other)).get("v") as number;
        return [first, again, o];
      },
      { readOnly: true },
    );
    expect(seen).toEqual([1, 1, 1]);
    expect((await ref.get()).get("v")).toBe(2);
  });

  it("a transaction that only writes commits (no reads, no transaction id needed)", async () => {
    await a.runTransaction(async (tx) => {
      tx.set(a.doc("at/write-only"), { w: 1 });
      tx.create(a.doc("at/write-only-2"), { w: 2 });
    });
    expect((await a.getAll(a.doc("at/write-only"), a.doc("at/write-only-2"))).map((s) => s.get("w"))).toEqual([1, 2]);
  });

  it("readOnly without readTime reads current data; writes are refused by the SDK", async () => {
    await a.doc("at/ro").set({ v: 1 });
    const v = await a.runTransaction(async (tx) => (await tx.get(a.doc("at/ro"))).get("v"), { readOnly: true });
    expect(v).toBe(1);
    const e = await rejection(() =>
      a.runTransaction(
        async (tx) => {
          tx.set(a.doc("at/ro"), { v: 2 });
        },
        { readOnly: true },
      ),
    );
    expect(e.message).toMatch(/read-only/i);
    expect((await a.doc("at/ro").get()).get("v")).toBe(1);
  });
});
