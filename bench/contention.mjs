/**
 * The contention benchmark (section 6 of `npm run bench`, `BENCH_ONLY=contention`): what
 * Firestore's lock semantics cost and save under contention, and how many ABORTED answers each
 * workload gets (each one costs the server SDK over REST a backoff reset to its 60 s maximum).
 *
 * Every workload runs a fixed number of read-write transactions from concurrent clients through
 * the REST API, the way the server SDK does (beginTransaction, the first read alone, the other
 * reads at once, commit; rollback and retry with `retryTransaction` after ABORTED), and checks its
 * result exactly. Its baseline, measured in the same run, is the same work without a transaction
 * (plain reads and writes, which cannot conflict), so the ratio is what isolation costs.
 *
 * 1. hot documents: 12 clients increment 1–3 of 4 documents (read, then write what was read).
 *    Conflicting read-modify-writes abort the younger transaction, as in Firestore.
 * 2. shared read: 12 clients read one shared settings document and write their own document.
 *    Shared read locks let them all run at once, without aborts.
 * 3. phantom guard: 8 clients count the bookings of a day with a query and add one if there is
 *    room; the query's predicate lock makes every insert into that day wait for the others.
 *    Also with a day per client (no overlap): predicate locks then cost nothing.
 *
 * Knobs (environment): BENCH_C_TX (200 transactions per workload).
 */
import { performance } from "node:perf_hooks";
import { Rng } from "../scripts/fuzz/prng.mjs";

const TX = Number(process.env.BENCH_C_TX) > 0 ? Math.floor(Number(process.env.BENCH_C_TX)) : 200;
const BASE = "http://localhost/v1/projects/bench-contention/databases/(default)/documents";
const ROOT = "projects/bench-contention/databases/(default)/documents";
const POST = { method: "POST", headers: { "content-type": "application/json" } };

export async function contentionBench(mf) {
  const call = async (path, body) => {
    const res = await mf.dispatchFetch(
      `${BASE}${path}`,
      body === undefined ? undefined : { ...POST, body: JSON.stringify(body) },
    );
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  const int = (n) => ({ integerValue: String(n) });
  const read = async (name, tx) => {
    const r = await call(":batchGet", { documents: [name], ...(tx ? { transaction: tx } : {}) });
    if (r.status !== 200) return { status: r.status };
    return { status: 200, doc: r.json[0].found };
  };

  /**
   * Runs `count` transactions from `clients` concurrent clients. `body(tx, i)` does the reads (with
   * `tx`, or none for the baseline) and returns the writes, or a status to retry on.
   */
  async function run(clients, count, body, transactional) {
    let next = 0;
    let aborts = 0;
    const latencies = [];
    const client = async () => {
      for (let i = next++; i < count; i = next++) {
        const t0 = performance.now();
        let previous;
        for (;;) {
          let tx;
          if (transactional) {
            const options = { readWrite: previous ? { retryTransaction: previous } : {} };
            const begun = await call(":beginTransaction", { options });
            if (begun.status !== 200) throw new Error(`beginTransaction: ${begun.status}`);
            tx = begun.json.transaction;
            previous = tx;
          }
          const out = await body(tx, i);
          let status = typeof out === "number" ? out : 200;
          if (status === 200)
            status = (await call(":commit", { writes: out, ...(tx ? { transaction: tx } : {}) })).status;
          if (status === 200) break;
          if (status !== 409) throw new Error(`unexpected HTTP ${status}`);
          aborts++;
          if (tx) await call(":rollback", { transaction: tx });
        }
        latencies.push(performance.now() - t0);
      }
    };
    const start = performance.now();
    await Promise.all(Array.from({ length: clients }, client));
    const elapsed = performance.now() - start;
    latencies.sort((a, b) => a - b);
    return {
      tps: (count / elapsed) * 1000,
      aborts,
      perThousand: (aborts / count) * 1000,
      p50: latencies[Math.floor(latencies.length * 0.5)],
      p99: latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))],
    };
  }

  const rows = [];
  const report = (label, s, base, check) =>
    rows.push(
      `  ${label.padEnd(44)} ${s.tps.toFixed(0).padStart(6)} tx/s  ratio ${(s.tps / base.tps).toFixed(2)}  aborts/1000 ${s.perThousand.toFixed(0).padStart(5)}  p50 ${s.p50.toFixed(0).padStart(5)} ms  p99 ${s.p99.toFixed(0).padStart(5)} ms  ${check}`,
    );

  // 1. hot documents
  {
    const names = ["a", "b", "c", "d"].map((id) => `${ROOT}/hot/${id}`);
    const seed = async () => {
      await call(":commit", { writes: names.map((name) => ({ update: { name, fields: { n: int(0) } } })) });
    };
    const picks = (i) => {
      const rng = new Rng(i + 1);
      const r = () => rng.next();
      return [...new Set([0, 1, 2].slice(0, 1 + Math.floor(r() * 3)).map(() => names[Math.floor(r() * names.length)]))];
    };
    const body = async (tx, i) => {
      const picked = picks(i);
      const first = await read(picked[0], tx);
      const others = await Promise.all(picked.slice(1).map((n) => read(n, tx)));
      const reads = [first, ...others];
      const failed = reads.find((r) => r.status !== 200);
      if (failed) return failed.status;
      return picked.map((name, j) => ({
        update: { name, fields: { n: int(Number(reads[j].doc?.fields?.n?.integerValue ?? 0) + 1) } },
      }));
    };
    // Baseline: the same increments as plain, conflict-free server-side transforms.
    const plainBody = async (_tx, i) =>
      picks(i).map((name) => ({
        transform: { document: name, fieldTransforms: [{ fieldPath: "n", increment: int(1) }] },
      }));
    const expected = new Map(names.map((n) => [n, 0]));
    for (let i = 0; i < TX; i++) for (const n of picks(i)) expected.set(n, expected.get(n) + 1);
    const check = async () => {
      for (const n of names) {
        const got = Number((await read(n)).doc.fields.n.integerValue);
        if (got !== expected.get(n)) return `MISMATCH ${n}: ${got} ≠ ${expected.get(n)}`;
      }
      return "counters exact";
    };
    await seed();
    const base = await run(12, TX, plainBody, false);
    const baseCheck = await check();
    await seed();
    const tx = await run(12, TX, body, true);
    report("1. hot documents, plain increments (baseline)", base, base, baseCheck);
    report("1. hot documents, transactions", tx, base, await check());
  }

  // 2. shared read
  {
    const settings = `${ROOT}/shared/settings`;
    await call(":commit", { writes: [{ update: { name: settings, fields: { rate: int(3) } } }] });
    const body = async (tx, i) => {
      const own = `${ROOT}/shared-out/c${i % 12}`;
      const [s, o] = await Promise.all([read(settings, tx), read(own, tx)]);
      if (s.status !== 200) return s.status;
      if (o.status !== 200) return o.status;
      const n = Number(o.doc?.fields?.n?.integerValue ?? 0);
      return [{ update: { name: own, fields: { n: int(n + Number(s.doc.fields.rate.integerValue)) } } }];
    };
    const base = await run(12, TX, body, false);
    const tx = await run(12, TX, body, true);
    report("2. shared read, no transaction (baseline)", base, base, "");
    report("2. shared read, transactions", tx, base, tx.aborts === 0 ? "no aborts" : "");
  }

  // 3. phantom guard
  {
    const capacity = TX * 2; // never full: every transaction inserts
    const runDay = async (label, dayOf, transactional) => {
      const body = async (tx, i) => {
        const day = dayOf(i);
        const q = await call(":runAggregationQuery", {
          structuredAggregationQuery: {
            structuredQuery: {
              from: [{ collectionId: `bookings-${label}` }],
              where: { fieldFilter: { field: { fieldPath: "day" }, op: "EQUAL", value: int(day) } },
            },
            aggregations: [{ alias: "n", count: {} }],
          },
          ...(tx ? { transaction: tx } : {}),
        });
        if (q.status !== 200) return q.status;
        const n = Number(q.json[0].result.aggregateFields.n.integerValue);
        if (n >= capacity) return [];
        return [
          {
            update: { name: `${ROOT}/bookings-${label}/b${i}`, fields: { day: int(day) } },
            currentDocument: { exists: false },
          },
        ];
      };
      return run(8, TX, body, transactional);
    };
    const one = () => 1;
    const perClient = (i) => i % 8;
    const base = await runDay("base-one", one, false);
    const tx = await runDay("tx-one", one, true);
    const baseApart = await runDay("base-apart", perClient, false);
    const txApart = await runDay("tx-apart", perClient, true);
    report("3. phantom guard, one day, no tx (baseline)", base, base, "");
    report("3. phantom guard, one day, transactions", tx, base, "");
    report("3. phantom guard, a day per client, no tx", baseApart, baseApart, "");
    report("3. phantom guard, a day per client, tx", txApart, baseApart, txApart.aborts === 0 ? "no aborts" : "");
  }

  console.log(`\n6. contention: ${TX} read-write transactions per workload over REST (ratio = tx/s ÷ baseline)`);
  for (const r of rows) console.log(r);
}
