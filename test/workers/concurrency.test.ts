/**
 * Concurrent transaction histories: transfers between accounts read two documents in random order
 * (so deadlocks happen) and retry on ABORTED; optimistic (web SDK style) transactions race with
 * them. Every transfer must commit exactly once: the final balances are then fully determined.
 */
import { describe, expect, it } from "vitest";
import { type Api, int, newApi } from "./helpers.js";

const ACCOUNTS = 6;
const START = 100;

function seeded(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

async function transfer(api: Api, from: string, to: string, amount: number): Promise<number> {
  let previous: string | undefined;
  for (let attempt = 1; attempt <= 50; attempt++) {
    const options = previous ? { readWrite: { retryTransaction: previous } } : { readWrite: {} };
    const tx = (await api.post(":beginTransaction", { options })).body.transaction as string;
    previous = tx;
    const balances: Record<string, number> = {};
    let aborted = false;
    for (const path of [from, to]) {
      const read = await api.post(":batchGet", { documents: [api.name(path)], transaction: tx });
      if (read.status === 409) {
        aborted = true;
        break;
      }
      expect(read.status, JSON.stringify(read.body)).toBe(200);
      balances[path] = Number(read.body[0].found.fields.balance.integerValue);
      await new Promise((r) => setTimeout(r, 1));
    }
    if (aborted) continue;
    const commit = await api.commit(
      [
        { update: { name: api.name(from), fields: { balance: int((balances[from] as number) - amount) } } },
        { update: { name: api.name(to), fields: { balance: int((balances[to] as number) + amount) } } },
      ],
      tx,
    );
    if (commit.status === 409) continue;
    expect(commit.status, JSON.stringify(commit.body)).toBe(200);
    return attempt;
  }
  throw new Error("transfer did not commit in 50 attempts");
}

/** The web SDKs' optimistic transaction: read without a transaction, commit with updateTime preconditions. */
async function optimisticTransfer(api: Api, from: string, to: string, amount: number): Promise<void> {
  for (let attempt = 1; attempt <= 100; attempt++) {
    const read = await api.post(":batchGet", { documents: [api.name(from), api.name(to)] });
    const byName = new Map<string, any>(read.body.map((e: any) => [e.found.name, e.found]));
    const a = byName.get(api.name(from));
    const b = byName.get(api.name(to));
    const commit = await api.commit([
      {
        update: { name: api.name(from), fields: { balance: int(Number(a.fields.balance.integerValue) - amount) } },
        currentDocument: { updateTime: a.updateTime },
      },
      {
        update: { name: api.name(to), fields: { balance: int(Number(b.fields.balance.integerValue) + amount) } },
        currentDocument: { updateTime: b.updateTime },
      },
    ]);
    if (commit.status === 200) return;
    expect(commit.status, JSON.stringify(commit.body)).toBe(400); // FAILED_PRECONDITION: retry
  }
  throw new Error("optimistic transfer did not commit in 100 attempts");
}

describe("concurrent transaction histories", () => {
  it("pessimistic and optimistic transfers preserve the total and all commit", async () => {
    const api = newApi();
    for (let i = 0; i < ACCOUNTS; i++) await api.set(`acct/${i}`, { balance: int(START) });
    const random = seeded(42);
    const jobs: Promise<unknown>[] = [];
    const expected = Array<number>(ACCOUNTS).fill(START);
    for (let j = 0; j < 24; j++) {
      const from = Math.floor(random() * ACCOUNTS);
      const to = (from + 1 + Math.floor(random() * (ACCOUNTS - 1))) % ACCOUNTS;
      const amount = 1 + Math.floor(random() * 10);
      expected[from] = (expected[from] as number) - amount;
      expected[to] = (expected[to] as number) + amount;
      jobs.push(
        j % 4 === 3
          ? optimisticTransfer(api, `acct/${from}`, `acct/${to}`, amount)
          : transfer(api, `acct/${from}`, `acct/${to}`, amount),
      );
    }
    await Promise.all(jobs);
    const read = await api.post(":batchGet", {
      documents: Array.from({ length: ACCOUNTS }, (_, i) => api.name(`acct/${i}`)),
    });
    // Every transfer commits exactly once, so each final balance is known; a lost update shows here.
    const balances = read.body.map((e: any) => Number(e.found.fields.balance.integerValue));
    expect(balances).toEqual(expected);
    expect(balances.reduce((a: number, b: number) => a + b, 0)).toBe(ACCOUNTS * START);
  });
});
