/** White-box tests of transaction expiry, idle lock holders and persistence, with a fake clock. */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  CONTENDED_IDLE_MS,
  TransactionManager,
  TX_IDLE_MS,
  TX_MAX_LIFETIME_MS,
} from "../../durable-objects/database/transactions.js";
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
      const tm = new TransactionManager(state.storage.sql, () => now);
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

  it("aborts an idle transaction whose lock others wait for, after CONTENDED_IDLE_MS", async () => {
    await runInDurableObject(freshStub(), async (_instance, state) => {
      let now = 1_000_000;
      const tm = new TransactionManager(state.storage.sql, () => now);
      const holder = tm.begin({ readOnly: false });
      await tm.lock(holder, ["c/x"]);
      const waiter = tm.begin({ readOnly: false });
      const waiting = tm.run(waiter, () => tm.lock(waiter, ["c/x"]));
      now += CONTENDED_IDLE_MS + 1;
      await waiting; // the sweeper (1 s tick) aborts the holder and hands over the lock
      expect(codeOf(() => tm.get(holder.id))).toBe("ABORTED");
      expect(codeOf(() => tm.get(waiter.id))).toBeUndefined();
    });
  });

  it("restores open transactions and their locks after a restart", async () => {
    await runInDurableObject(freshStub(), async (_instance, state) => {
      let now = 1_000_000;
      const before = new TransactionManager(state.storage.sql, () => now);
      const tx = before.begin({ readOnly: false });
      await before.lock(tx, ["c/x"]);
      const ro = before.begin({ readOnly: true, readTime: 123 });

      const after = new TransactionManager(state.storage.sql, () => now);
      expect(after.get(tx.id).readOnly).toBe(false);
      expect(after.get(ro.id).readTime).toBe(123);
      const other = after.begin({ readOnly: false });
      let granted = false;
      const wait = after.lock(other, ["c/x"]).then(() => (granted = true));
      await new Promise((r) => setTimeout(r, 20));
      expect(granted).toBe(false);
      after.end(tx.id);
      await wait;
      expect(granted).toBe(true);
      now += 1;
    });
  });
});
