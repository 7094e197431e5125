/** White-box tests of transaction expiry, idle lock holders and persistence, with a fake clock. */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  CONTENDED_IDLE_MS,
  TransactionManager,
  TX_IDLE_MS,
  TX_MAX_LIFETIME_MS,
} from "../../durable-objects/database/transactions.js";
import { SqlTxStore } from "../../durable-objects/database/tx-store.js";
import { FirestoreError } from "../../src/errors/index.js";

function freshStub() {
  return env.DATABASE.get(env.DATABASE.idFromName(`tm-${crypto.randomUUID()}`));
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return e instanceof FirestoreError ? e.status : String(e);
  }
}

describe("TransactionManager", () => {
  it("expires transactions idle for 60 s, and any after 270 s", async () => {
    await runInDurableObject(freshStub(), async (_instance, state) => {
      let now = 1_000_000;
      const tm = new TransactionManager(new SqlTxStore(state.storage.sql), { now: () => now });
      const idle = tm.begin({ readOnly: false });
      const busy = tm.begin({ readOnly: false });
      now += TX_IDLE_MS - 1;
      expect(codeOf(() => tm.get(idle.id))).toBeUndefined();
      await tm.run(tm.get(busy.id), () => undefined);
      now += 2;
      expect(codeOf(() => tm.get(idle.id))).toBe("INVALID_ARGUMENT");
      // `busy` stays alive while active, until its lifetime ends.
      while (now < 1_000_000 + TX_MAX_LIFETIME_MS) {
        expect(codeOf(() => tm.get(busy.id))).toBeUndefined();
        await tm.run(tm.get(busy.id), () => undefined);
        now += 30_000;
      }
      now += 1;
      expect(codeOf(() => tm.get(busy.id))).toBe("INVALID_ARGUMENT");
    });
  });

  it("ends a wait on an idle transaction after CONTENDED_IDLE_MS, aborting the younger of the two", async () => {
    await runInDurableObject(freshStub(), async (_instance, state) => {
      let now = 1_000_000;
      const tm = new TransactionManager(new SqlTxStore(state.storage.sql), { now: () => now });
      // A younger idle holder loses to an older waiter.
      const older = tm.begin({ readOnly: false });
      now += 1;
      const younger = tm.begin({ readOnly: false });
      await tm.lockRead(younger, ["c/x"]);
      const waiting = tm.run(older, () => tm.beginWrite(older, ["c/x"]));
      now += CONTENDED_IDLE_MS + 1;
      await waiting; // the sweeper (1 s tick) aborts the holder and hands over the lock
      expect(codeOf(() => tm.get(younger.id))).toBe("ABORTED");
      expect(codeOf(() => tm.get(older.id))).toBeUndefined();
      tm.end(older.id);

      // An older idle holder makes the younger waiter give up instead (as Firestore does).
      const holder = tm.begin({ readOnly: false });
      now += 1;
      const waiter = tm.begin({ readOnly: false });
      await tm.lockRead(holder, ["c/y"]);
      const blocked = tm
        .run(waiter, () => tm.beginWrite(waiter, ["c/y"]))
        .then(
          () => "granted",
          (e: FirestoreError) => e.status,
        );
      now += CONTENDED_IDLE_MS + 1;
      expect(await blocked).toBe("ABORTED");
      expect(codeOf(() => tm.get(holder.id))).toBeUndefined();
      expect(codeOf(() => tm.get(waiter.id))).toBe("ABORTED");

      // A plain write never loses: the idle holder is aborted.
      const plain = tm.beginWrite(null, ["c/y"]);
      now += CONTENDED_IDLE_MS + 1;
      tm.finishWrite(await plain);
      expect(codeOf(() => tm.get(holder.id))).toBe("ABORTED");
    });
  });

  it("restores open transactions and their locks after a restart", async () => {
    await runInDurableObject(freshStub(), async (_instance, state) => {
      let now = 1_000_000;
      const before = new TransactionManager(new SqlTxStore(state.storage.sql), { now: () => now });
      const tx = before.begin({ readOnly: false });
      await before.lockRead(tx, ["c/x"]);
      const ro = before.begin({ readOnly: true, readTime: 123 });

      const after = new TransactionManager(new SqlTxStore(state.storage.sql), { now: () => now });
      expect(after.get(tx.id).readOnly).toBe(false);
      expect(after.get(ro.id).readTime).toBe(123);
      const other = after.begin({ readOnly: false });
      let granted = false;
      const wait = after.beginWrite(other, ["c/x"]).then(() => (granted = true));
      await new Promise((r) => setTimeout(r, 20));
      expect(granted).toBe(false);
      after.end(tx.id);
      await wait;
      expect(granted).toBe(true);
      now += 1;
    });
  });
});
