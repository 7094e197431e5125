import { describe, expect, it } from "vitest";
import { type Api, expectError, int, newApi } from "./helpers.js";

async function begin(api: Api, options: unknown = { readWrite: {} }): Promise<string> {
  const res = await api.post(":beginTransaction", { options });
  expect(res.status).toBe(200);
  return res.body.transaction;
}

/**
 * The admin SDK's read-modify-write: batchGet with newTransaction, then commit with the id;
 * retried with `retryTransaction` after ABORTED. Returns the number of aborted attempts.
 */
async function increment(api: Api, path: string): Promise<number> {
  let previous: string | undefined;
  for (let attempt = 0; attempt < 100; attempt++) {
    const readWrite = previous ? { retryTransaction: previous } : {};
    const read = await api.post(":batchGet", { documents: [api.name(path)], newTransaction: { readWrite } });
    if (read.status === 409) continue;
    expect(read.status).toBe(200);
    previous = read.body[0].transaction;
    const n = Number(read.body[0].found?.fields?.n?.integerValue ?? 0);
    const commit = await api.commit([{ update: { name: api.name(path), fields: { n: int(n + 1) } } }], previous);
    if (commit.status === 200) return attempt;
    expectError(commit, 409, "ABORTED");
  }
  throw new Error("no commit in 100 attempts");
}

describe("read-write transactions", () => {
  it("returns the new transaction id in the first batchGet element, also for zero documents", async () => {
    const api = newApi();
    const one = await api.post(":batchGet", { documents: [api.name("c/a")], newTransaction: { readWrite: {} } });
    expect(typeof one.body[0].transaction).toBe("string");
    expect(one.body[0].missing).toBe(api.name("c/a"));
    const none = await api.post(":batchGet", { documents: [], newTransaction: { readOnly: {} } });
    expect(none.body).toHaveLength(1);
    expect(typeof none.body[0].transaction).toBe("string");
    expect(typeof none.body[0].readTime).toBe("string");
  });

  it("20 concurrent read-modify-write transactions on one document all commit after retries", async () => {
    const api = newApi();
    await api.set("c/counter", { n: int(0) });
    // Reads are shared, so concurrent readers of one document that all write it conflict: the
    // oldest wins each round and the others are aborted (as in Firestore), then retried.
    const aborts = await Promise.all(Array.from({ length: 20 }, () => increment(api, "c/counter")));
    expect((await api.read("c/counter")).fields.n).toEqual(int(20));
    expect(aborts.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  it("makes a plain write wait for a transaction's lock, then apply after it", async () => {
    const api = newApi();
    await api.set("c/d", { n: int(1) });
    const read = await api.post(":batchGet", { documents: [api.name("c/d")], newTransaction: { readWrite: {} } });
    const tx = read.body[0].transaction;
    let plainDone = false;
    const plain = api.set("c/d", { n: int(100) }).then((t) => {
      plainDone = true;
      return t;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(plainDone).toBe(false);
    const commit = await api.commit([{ update: { name: api.name("c/d"), fields: { n: int(2) } } }], tx);
    expect(commit.status).toBe(200);
    await plain;
    expect((await api.read("c/d")).fields.n).toEqual(int(100));
  });

  it("resolves a deadlock by aborting the younger transaction, and the older one commits", async () => {
    const api = newApi();
    await api.set("c/a", { n: int(0) });
    await api.set("c/b", { n: int(0) });
    const older = await begin(api);
    const younger = await begin(api);
    expect((await api.post(":batchGet", { documents: [api.name("c/a")], transaction: older })).status).toBe(200);
    expect((await api.post(":batchGet", { documents: [api.name("c/b")], transaction: younger })).status).toBe(200);
    const both = (tx: string, n: number) =>
      api.commit(
        [
          { update: { name: api.name("c/a"), fields: { n: int(n) } } },
          { update: { name: api.name("c/b"), fields: { n: int(n) } } },
        ],
        tx,
      );
    // older's commit waits for b (read by younger); younger's commit then needs a: a cycle.
    const olderCommit = both(older, 1);
    await new Promise((r) => setTimeout(r, 50));
    expectError(await both(younger, 2), 409, "ABORTED");
    expect((await olderCommit).status).toBe(200);
    expect((await api.read("c/b")).fields.n).toEqual(int(1));
    // The victim stays aborted.
    expectError(await api.commit([], younger), 409, "ABORTED");
  });

  it("releases locks on rollback; a rolled-back transaction cannot commit", async () => {
    const api = newApi();
    await api.set("c/d", { n: int(1) });
    const tx = await begin(api);
    await api.post(":batchGet", { documents: [api.name("c/d")], transaction: tx });
    expect((await api.post(":rollback", { transaction: tx })).status).toBe(200);
    expect((await api.post(":rollback", { transaction: tx })).status).toBe(200); // idempotent
    await api.set("c/d", { n: int(2) }); // would wait forever if the lock were kept
    expectError(await api.commit([{ delete: api.name("c/d") }], tx), 400, "INVALID_ARGUMENT");
    expect((await api.read("c/d")).fields.n).toEqual(int(2));
  });

  it("rejects unknown transaction ids and malformed ones", async () => {
    const api = newApi();
    const msg = expectError(await api.commit([], "dW5rbm93bg=="), 400, "INVALID_ARGUMENT");
    expect(msg).toMatch(/transaction has expired or is no longer valid/);
    expectError(await api.commit([], "not base64!"), 400, "INVALID_ARGUMENT");
    expectError(await api.post(":rollback", {}), 400, "INVALID_ARGUMENT");
  });

  it("a transaction that committed cannot be used again", async () => {
    const api = newApi();
    const tx = await begin(api);
    expect((await api.commit([{ update: { name: api.name("c/d"), fields: {} } }], tx)).status).toBe(200);
    expectError(await api.commit([{ update: { name: api.name("c/d"), fields: {} } }], tx), 400, "INVALID_ARGUMENT");
  });

  it("supports retryTransaction", async () => {
    const api = newApi();
    const first = await begin(api);
    const retry = await begin(api, { readWrite: { retryTransaction: first } });
    expect(retry).not.toBe(first);
    expect((await api.commit([{ update: { name: api.name("c/d"), fields: {} } }], retry)).status).toBe(200);
  });
});

describe("read-only transactions and readTime", () => {
  it("read-only transactions see one snapshot and cannot write", async () => {
    const api = newApi();
    await api.set("c/d", { n: int(1) });
    const tx = await begin(api, { readOnly: {} });
    await api.set("c/d", { n: int(2) });
    await api.set("c/e", { n: int(3) });
    const read = await api.post(":batchGet", { documents: [api.name("c/d"), api.name("c/e")], transaction: tx });
    expect(read.body[0].found.fields.n).toEqual(int(1));
    expect(read.body[1].missing).toBe(api.name("c/e"));
    expectError(await api.commit([{ delete: api.name("c/d") }], tx), 400, "INVALID_ARGUMENT");
    expect((await api.read("c/d")).fields.n).toEqual(int(2));
  });

  it("readTime reads return the version current at that time, including deleted documents", async () => {
    const api = newApi();
    const t1 = await api.set("c/d", { n: int(1) });
    const t2 = await api.set("c/d", { n: int(2) });
    const del = await api.commit([{ delete: api.name("c/d") }]);
    const t3 = del.body.commitTime;
    const at = async (readTime: string) =>
      (await api.post(":batchGet", { documents: [api.name("c/d")], readTime })).body[0];
    expect((await at(t1)).found.fields.n).toEqual(int(1));
    expect((await at(t2)).found.fields.n).toEqual(int(2));
    expect((await at(t3)).missing).toBe(api.name("c/d"));
    const before = new Date(Date.parse(t1) - 1).toISOString();
    expect((await at(before)).missing).toBeDefined();
    // The single-document GET takes readTime as a query parameter.
    const get = await api.get(`/c/d?readTime=${encodeURIComponent(t1)}`);
    expect(get.body.fields.n).toEqual(int(1));
  });

  it("rejects readTime older than an hour or in the future", async () => {
    const api = newApi();
    const old = new Date(Date.now() - 2 * 3600_000).toISOString();
    expectError(
      await api.post(":batchGet", { documents: [api.name("c/d")], readTime: old }),
      400,
      "FAILED_PRECONDITION",
    );
    const future = new Date(Date.now() + 3600_000).toISOString();
    expectError(
      await api.post(":batchGet", { documents: [api.name("c/d")], readTime: future }),
      400,
      "INVALID_ARGUMENT",
    );
  });

  it("a read-only transaction pinned to a readTime reads that version", async () => {
    const api = newApi();
    const t1 = await api.set("c/d", { n: int(1) });
    await api.set("c/d", { n: int(2) });
    const tx = await begin(api, { readOnly: { readTime: t1 } });
    const read = await api.post(":batchGet", { documents: [api.name("c/d")], transaction: tx });
    expect(read.body[0].found.fields.n).toEqual(int(1));
  });

  it("lists documents and collection ids as they were at a readTime", async () => {
    const api = newApi();
    await api.set("c/a", { n: int(1) });
    const t1 = await api.set("c/b", { n: int(1) });
    await api.set("c/a", { n: int(2) });
    await api.commit([{ delete: api.name("c/b") }]);
    await api.set("c/c", {});
    await api.set("d/x", {});
    const then = await api.get(`/c?readTime=${encodeURIComponent(t1)}`);
    expect(then.body.documents.map((d: any) => [d.name.split("/").pop(), d.fields.n])).toEqual([
      ["a", int(1)],
      ["b", int(1)],
    ]);
    const now = await api.get("/c");
    expect(now.body.documents.map((d: any) => d.name.split("/").pop())).toEqual(["a", "c"]);
    expect((await api.post(":listCollectionIds", { readTime: t1 })).body.collectionIds).toEqual(["c"]);
    expect((await api.post(":listCollectionIds", {})).body.collectionIds).toEqual(["c", "d"]);
  });

  it("reads inside a read-write transaction through documents.get", async () => {
    const api = newApi();
    await api.set("c/a", { n: int(1) });
    const tx = await begin(api);
    const got = await api.get(`/c/a?transaction=${encodeURIComponent(tx)}`);
    expect(got.body.fields.n).toEqual(int(1));
    let plainDone = false;
    const plain = api.set("c/a", { n: int(5) }).then(() => (plainDone = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(plainDone).toBe(false); // the transaction's read holds the lock
    expect((await api.post(":rollback", { transaction: tx })).status).toBe(200);
    await plain;
  });
});

describe("predicate locks of listings in read-write transactions", () => {
  /**
   * Starts `write` while `tx` holds its locks. If it must wait: still pending after 300 ms, then done
   * once `tx` rolls back. If not: done before the rollback (within 10 s, however loaded the machine).
   */
  async function waitsFor(api: Api, tx: string, write: () => Promise<unknown>, expectWait: boolean) {
    let done = false;
    const pending = write().then(() => (done = true));
    if (expectWait) {
      await new Promise((r) => setTimeout(r, 300));
      expect(done).toBe(false);
    } else {
      await Promise.race([pending, new Promise((r) => setTimeout(r, 10_000))]);
      expect(done).toBe(true);
    }
    expect((await api.post(":rollback", { transaction: tx })).status).toBe(200);
    await pending;
  }

  it("a list in a transaction holds its collection: inserts wait, other collections do not", async () => {
    const api = newApi();
    await api.set("c/a", { n: int(1) });
    const tx = await begin(api);
    const listed = await api.get(`/c?transaction=${encodeURIComponent(tx)}`);
    expect(listed.body.documents).toHaveLength(1);
    await waitsFor(api, tx, () => api.set("c/b", { n: int(2) }), true);
    const tx2 = await begin(api);
    await api.get(`/c?transaction=${encodeURIComponent(tx2)}`);
    await waitsFor(api, tx2, () => api.set("other/b", { n: int(2) }), false);
  });

  it("a full page of a list only holds up to its last document", async () => {
    const api = newApi();
    for (const id of ["a", "b", "c"]) await api.set(`c/${id}`, { n: int(1) });
    const tx = await begin(api);
    const page = await api.get(`/c?pageSize=2&transaction=${encodeURIComponent(tx)}`);
    expect(page.body.documents).toHaveLength(2);
    await waitsFor(api, tx, () => api.set("c/z", { n: int(2) }), false);
    const tx2 = await begin(api);
    await api.get(`/c?pageSize=2&transaction=${encodeURIComponent(tx2)}`);
    await waitsFor(api, tx2, () => api.set("c/0", { n: int(2) }), true);
  });
});
