#!/usr/bin/env node
/**
 * `npm run bench`: flarestore's REST stack against a bare Durable Object round trip, both served
 * by one Miniflare (workerd) instance in this process and driven with `mf.dispatchFetch`. Every
 * figure comes with a baseline measured in the same run and the ratio, because absolute numbers
 * on a shared 2-core machine mean little. Prints figures only; nothing here is asserted.
 *
 * Sections 1-4 (and their summary) are the document core; section 5, in `bench/queries.mjs`, the
 * query engine; section 6, in `bench/contention.mjs`, transactions under contention; section 7, in
 * `bench/memory.mjs`, peak memory of large results and requests; section 8, in `bench/realtime.mjs`,
 * Listen streams (commit-to-listener latency, throughput, memory); section 9, in `bench/grpc.mjs`, the
 * server SDK over native gRPC against REST; section 10, in `bench/rules.mjs`, requests decided by
 * security rules against the admin; section 11, in `bench/transfer.mjs`, export, import and fork
 * against a paged read. `BENCH_ONLY=core`, `queries`, `contention`, `memory`, `realtime`, `grpc`,
 * `rules` or `transfer` runs one part.
 *
 * Knobs (environment): BENCH_ROUNDS (3), BENCH_ROUND_MS (1500), BENCH_WARMUP_MS (1000),
 * BENCH_CONCURRENCY (8), BENCH_TX_CLIENTS (20), BENCH_TX_MS (5000); the query benchmark's are
 * listed in bench/queries.mjs. See bench/README.md.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { build } from "../scripts/build.mjs";
import { DURABLE_OBJECTS, startMiniflare, WORKER_COMPAT } from "../scripts/workerd-config.mjs";
import { contentionBench } from "./contention.mjs";
import { grpcBench } from "./grpc.mjs";
import { memoryBench } from "./memory.mjs";
import { queryBench } from "./queries.mjs";
import { realtimeBench } from "./realtime.mjs";
import { rulesBench } from "./rules.mjs";
import { transferBench } from "./transfer.mjs";

const num = (name, fallback) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const ROUNDS = num("BENCH_ROUNDS", 3);
const ROUND_MS = num("BENCH_ROUND_MS", 1500);
const WARMUP_MS = num("BENCH_WARMUP_MS", 1000);
const CONCURRENCY = num("BENCH_CONCURRENCY", 8);
const TX_CLIENTS = num("BENCH_TX_CLIENTS", 20);
const TX_MS = num("BENCH_TX_MS", 5000);
const ONLY = process.env.BENCH_ONLY ?? "";
if (!["", "core", "queries", "contention", "memory", "realtime", "grpc", "rules", "transfer"].includes(ONLY)) {
  console.error(
    `BENCH_ONLY must be "core", "queries", "contention", "memory", "realtime", "grpc", "rules" or "transfer" (or unset for all), not "${ONLY}"`,
  );
  process.exit(2);
}
const RUN_CORE = ONLY === "" || ONLY === "core";
const RUN_QUERIES = ONLY === "" || ONLY === "queries";
const RUN_CONTENTION = ONLY === "" || ONLY === "contention";
const RUN_MEMORY = ONLY === "" || ONLY === "memory";
const RUN_REALTIME = ONLY === "" || ONLY === "realtime";
const RUN_GRPC = ONLY === "" || ONLY === "grpc";
const RUN_RULES = ONLY === "" || ONLY === "rules";
const RUN_TRANSFER = ONLY === "" || ONLY === "transfer";

const FS = "http://localhost"; // flarestore: the first worker, Miniflare's fallback route
const BARE = "http://bare.bench"; // the baseline worker, routed by host
const DOCS = `${FS}/v1/projects/bench/databases/(default)/documents`;
const NAME = "projects/bench/databases/(default)/documents/c/d";
const JSON_POST = { method: "POST", headers: { "content-type": "application/json" } };

// -- setup ---------------------------------------------------------------------------------------

const cpuList = cpus();
const benchStart = performance.now();
console.log(`flarestore benchmark${ONLY ? ` (BENCH_ONLY=${ONLY})` : ""}`);
console.log(
  `machine: ${availableParallelism()} CPUs (${cpuList[0]?.model?.trim() ?? "unknown"}), Node ${process.version}, ${process.platform}/${process.arch}`,
);
if (RUN_CORE) {
  console.log(
    `method:  one Miniflare ${readFileSync(new URL("../node_modules/miniflare/package.json", import.meta.url), "utf8").match(/"version":\s*"([^"]+)"/)?.[1]} instance, requests via mf.dispatchFetch,`,
  );
  console.log(
    `         closed loop: ${CONCURRENCY} in flight for 1-2, ${TX_CLIENTS} clients for 3; warm-up ${WARMUP_MS} ms per variant,`,
  );
  console.log(
    `         then ${ROUNDS} rounds x ${ROUND_MS} ms per variant, variants alternated round by round\n         (3: ${TX_MS} ms of transactions in total, in ${ROUNDS} rounds).`,
  );
}

let t = performance.now();
const scriptPath = build({ bundleRules: false });
console.log(`build:   ${scriptPath} (${Math.round(performance.now() - t)} ms)`);

const dataDir = mkdtempSync(join(tmpdir(), "flarestore-bench-"));
// Emulator mode, as `npm start`: the bench calls without credentials (src/auth/config.ts). No
// project rules (whatever the bundle carries): the sections that need rules load their own.
const common = {
  modules: true,
  ...WORKER_COMPAT,
  bindings: { FLARESTORE_MODE: "emulator", FLARESTORE_RULES_SOURCE: "" },
};
const mf = await startMiniflare({
  durableObjectsPersist: join(dataDir, "durable-objects"), // on disk, like `npm start`
  workers: [
    {
      ...common,
      name: "flarestore",
      scriptPath,
      durableObjects: DURABLE_OBJECTS,
    },
    {
      ...common,
      name: "bare",
      routes: ["bare.bench/*"],
      script: readFileSync(new URL("./bare-worker.mjs", import.meta.url), "utf8"),
      durableObjects: { BARE: { className: "BareDO", useSQLite: true } },
    },
  ],
});

let disposed = false;
async function cleanup() {
  if (disposed) return;
  disposed = true;
  await mf.dispose().catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
}
process.on("SIGINT", () => cleanup().then(() => process.exit(130)));

async function send(url, init) {
  const res = await mf.dispatchFetch(url, init);
  const text = await res.text();
  return { status: res.status, text };
}

async function expectOk(what, url, init) {
  const r = await send(url, init);
  if (r.status !== 200) throw new Error(`${what}: HTTP ${r.status} ${r.text.slice(0, 300)}`);
  return r.text;
}

// -- measurement ---------------------------------------------------------------------------------

function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Runs `concurrency` closed loops of `variant.request()` until `ms` have passed. */
async function runFor(variant, concurrency, ms, acc) {
  const start = performance.now();
  const deadline = start + ms;
  const loop = async () => {
    while (performance.now() < deadline) {
      const [url, init] = variant.request();
      const t0 = performance.now();
      let ok = false;
      try {
        const r = await send(url, init);
        ok = r.status === 200;
      } catch {}
      const dt = performance.now() - t0;
      if (acc) {
        if (ok) acc.latencies.push(dt);
        else acc.errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  if (acc) acc.elapsed += performance.now() - start;
}

/** Warm every variant, then alternate them round by round (rotating the order) and aggregate. */
async function measureGroup(variants, concurrency = CONCURRENCY) {
  for (const v of variants) await runFor(v, concurrency, WARMUP_MS, null);
  const accs = variants.map(() => ({ latencies: [], errors: 0, elapsed: 0 }));
  for (let r = 0; r < ROUNDS; r++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (k + r) % variants.length;
      await runFor(variants[i], concurrency, ROUND_MS, accs[i]);
    }
  }
  return accs.map((a) => summarize(a.latencies, a.errors, a.elapsed));
}

function summarize(latencies, errors, elapsedMs) {
  const sorted = Float64Array.from(latencies).sort();
  return {
    n: latencies.length,
    errors,
    rps: latencies.length / (elapsedMs / 1000),
    p50: quantile(sorted, 0.5),
    p99: quantile(sorted, 0.99),
  };
}

// -- output --------------------------------------------------------------------------------------

const rows = [];
let sectionStart = performance.now();
function row(label, s, base, extra = "") {
  rows.push({ label, s, ratio: base ? s.rps / base.rps : undefined, extra });
}
function printTable(title) {
  const w = Math.max(...rows.map((r) => r.label.length), 10);
  console.log(`\n${title}`);
  console.log(
    `  ${"".padEnd(w)}  ${"req/s".padStart(8)}  ${"p50 ms".padStart(7)}  ${"p99 ms".padStart(7)}  ${"ok".padStart(6)}  ${"fail".padStart(4)}  ${"ratio".padStart(5)}`,
  );
  for (const { label, s, ratio, extra } of rows) {
    console.log(
      `  ${label.padEnd(w)}  ${s.rps.toFixed(0).padStart(8)}  ${s.p50.toFixed(2).padStart(7)}  ${s.p99.toFixed(2).padStart(7)}  ${String(s.n).padStart(6)}  ${String(s.errors).padStart(4)}  ${ratio === undefined ? "".padStart(5) : ratio.toFixed(2).padStart(5)}${extra ? `  ${extra}` : ""}`,
    );
  }
  rows.length = 0;
  console.log(`  (${((performance.now() - sectionStart) / 1000).toFixed(1)} s)`);
  sectionStart = performance.now();
}

// -- the benchmark -------------------------------------------------------------------------------

const seed = {
  writes: [{ update: { name: NAME, fields: { a: { integerValue: "1" }, s: { stringValue: "hello" } } } }],
};

try {
  t = performance.now();
  await mf.ready;
  await expectOk("seed c/d", `${DOCS}:commit`, { ...JSON_POST, body: JSON.stringify(seed) });
  const got = JSON.parse(await expectOk("get c/d", `${DOCS}/c/d`));
  if (got.fields?.s?.stringValue !== "hello") throw new Error(`unexpected document: ${JSON.stringify(got)}`);
  const bareRow = JSON.parse(await expectOk("bare read", `${BARE}/read`));
  if (bareRow?.k !== "c/d") throw new Error(`unexpected bare row: ${JSON.stringify(bareRow)}`);
  console.log(`start:   workers ready and seeded (${Math.round(performance.now() - t)} ms)`);

  if (RUN_CORE) {
    // 1. Reads.
    const bareRead = { request: () => [`${BARE}/read`, undefined] };
    const restGet = { request: () => [`${DOCS}/c/d`, undefined] };
    const batchGetBody = JSON.stringify({ documents: [NAME] });
    const batchGet = { request: () => [`${DOCS}:batchGet`, { ...JSON_POST, body: batchGetBody }] };
    const barePostRead = { request: () => [`${BARE}/read`, { ...JSON_POST, body: batchGetBody }] };
    const [sBareRead, sBarePost, sGet, sBatchGet] = await measureGroup([bareRead, barePostRead, restGet, batchGet]);
    row("bare DO read (baseline)", sBareRead, sBareRead);
    row("bare DO read, POST with JSON body", sBarePost, sBareRead);
    row("GET …/documents/c/d", sGet, sBareRead);
    row(
      "POST …/documents:batchGet (1 doc)",
      sBatchGet,
      sBareRead,
      `${(sBatchGet.rps / sBarePost.rps).toFixed(2)} of the POST read`,
    );
    printTable(`1. single-document read, ${CONCURRENCY} in flight (ratio = req/s ÷ bare DO read)`);

    // 2. Writes: every request writes a new value.
    let seq = 0;
    const bareWrite = { request: () => [`${BARE}/write`, { ...JSON_POST, body: `{"a":${++seq},"s":"hello"}` }] };
    const restCommit = {
      request: () => [
        `${DOCS}:commit`,
        {
          ...JSON_POST,
          body: `{"writes":[{"update":{"name":"${NAME}","fields":{"a":{"integerValue":"${++seq}"},"s":{"stringValue":"hello"}}}}]}`,
        },
      ],
    };
    const [sBareWrite, sCommit] = await measureGroup([bareWrite, restCommit]);
    row("bare DO write (baseline)", sBareWrite, sBareWrite);
    row("POST …/documents:commit (1 update)", sCommit, sBareWrite);
    printTable(`2. single-document commit, ${CONCURRENCY} in flight (ratio = req/s ÷ bare DO write)`);

    // 3. Contended read-write transactions on one document (the admin SDK's runTransaction).
    const TX_NAME = "projects/bench/databases/(default)/documents/c/counter";
    await expectOk("seed counter", `${DOCS}:commit`, {
      ...JSON_POST,
      body: JSON.stringify({ writes: [{ update: { name: TX_NAME, fields: { n: { integerValue: "0" } } } }] }),
    });
    const txGetBody = JSON.stringify({ documents: [TX_NAME], newTransaction: { readWrite: {} } });
    const readCounter = async () =>
      Number(JSON.parse(await expectOk("read counter", `${DOCS}/c/counter`)).fields.n.integerValue);

    /** 20 clients loop batchGet(newTransaction) → commit(transaction) until `ms` have passed. */
    async function contended(ms, stats) {
      const deadline = performance.now() + ms;
      const fail = (what, status) => {
        stats.failures++;
        const key = `${what} ${status}`;
        stats.statuses.set(key, (stats.statuses.get(key) ?? 0) + 1);
      };
      const client = async () => {
        while (performance.now() < deadline) {
          const t0 = performance.now();
          let r;
          try {
            r = await send(`${DOCS}:batchGet`, { ...JSON_POST, body: txGetBody });
          } catch {
            r = { status: "throw", text: "" };
          }
          if (r.status !== 200) {
            fail("batchGet", r.status);
            continue;
          }
          const first = JSON.parse(r.text)[0];
          const id = first.transaction;
          const n = Number(first.found?.fields?.n?.integerValue ?? 0);
          const body = `{"writes":[{"update":{"name":"${TX_NAME}","fields":{"n":{"integerValue":"${n + 1}"}}}}],"transaction":${JSON.stringify(id)}}`;
          try {
            r = await send(`${DOCS}:commit`, { ...JSON_POST, body });
          } catch {
            r = { status: "throw", text: "" };
          }
          if (r.status !== 200) {
            fail("commit", r.status);
            continue;
          }
          stats.commits++;
          stats.latencies.push(performance.now() - t0);
        }
      };
      const start = performance.now();
      // Every client finishes its transaction in progress: nothing is in flight when this returns.
      await Promise.all(Array.from({ length: TX_CLIENTS }, client));
      stats.elapsed += performance.now() - start;
    }

    // Reference for 3: the same two round trips (read, then write) from ONE client against the bare
    // DO, i.e. what a perfectly serialized read-modify-write could do with no transaction machinery.
    let bareN = 0;
    async function barePairs(ms, acc) {
      const start = performance.now();
      const deadline = start + ms;
      while (performance.now() < deadline) {
        const t0 = performance.now();
        const a = await send(`${BARE}/read`);
        const b = await send(`${BARE}/write`, { ...JSON_POST, body: `{"n":${++bareN}}` });
        if (a.status === 200 && b.status === 200) acc.latencies.push(performance.now() - t0);
        else acc.errors++;
      }
      acc.elapsed += performance.now() - start;
    }

    const newTxStats = () => ({ commits: 0, failures: 0, statuses: new Map(), latencies: [], elapsed: 0 });
    await contended(WARMUP_MS, newTxStats());
    await barePairs(WARMUP_MS / 2, { latencies: [], errors: 0, elapsed: 0 });
    const tx = newTxStats();
    const bareTx = { latencies: [], errors: 0, elapsed: 0 };
    const before = await readCounter();
    for (let r = 0; r < ROUNDS; r++) {
      if (r % 2 === 0) {
        await contended(TX_MS / ROUNDS, tx);
        await barePairs(ROUND_MS, bareTx);
      } else {
        await barePairs(ROUND_MS, bareTx);
        await contended(TX_MS / ROUNDS, tx);
      }
    }
    const after = await readCounter();
    const sTx = summarize(tx.latencies, tx.failures, tx.elapsed);
    const sBareTx = summarize(bareTx.latencies, bareTx.errors, bareTx.elapsed);

    row("bare read→write, 1 client (reference)", sBareTx, sBareTx);
    row(`transactions, ${TX_CLIENTS} clients on 1 doc`, sTx, sBareTx, "(req/s = committed transactions/s)");
    printTable(`3. contended read-write transactions: batchGet(newTransaction) → commit(transaction)`);
    const expected = before + tx.commits;
    console.log(
      `  commits: ${tx.commits}, failures (non-200): ${tx.failures}${
        tx.statuses.size ? ` [${[...tx.statuses].map(([k, v]) => `${k}: ${v}`).join(", ")}]` : ""
      }`,
    );
    console.log(
      `  counter: ${before} → ${after}; expected ${before} + ${tx.commits} = ${expected}: ${after === expected ? "OK" : "MISMATCH (lost or phantom updates)"}`,
    );

    // Diagnostics: the same dispatch with no Durable Object, to see where the time goes.
    const bareRoot = { request: () => [`${BARE}/`, undefined] };
    const fsRoot = { request: () => [`${FS}/`, undefined] };
    const [sBareRoot, sFsRoot] = await measureGroup([bareRoot, fsRoot]);
    row("bare worker, no DO", sBareRoot, sBareRead);
    row("flarestore GET / (Hono + middleware, no DO)", sFsRoot, sBareRead);
    printTable("diagnostics: no Durable Object (ratio = req/s ÷ bare DO read above)");

    console.log("\nsummary (target for information: REST get and commit ≥ 0.70 of the bare round trip)");
    const line = (label, s, base) =>
      console.log(
        `  ${label.padEnd(26)} ${(s.rps / base.rps).toFixed(2)}  (${s.rps.toFixed(0)} vs ${base.rps.toFixed(0)} req/s)`,
      );
    line("GET / bare read", sGet, sBareRead);
    line("batchGet / bare read", sBatchGet, sBareRead);
    line("batchGet / bare POST read", sBatchGet, sBarePost);
    line("commit / bare write", sCommit, sBareWrite);
  }
  if (RUN_QUERIES) await queryBench(mf);
  if (RUN_CONTENTION) await contentionBench(mf);
  if (RUN_MEMORY) await memoryBench({ scriptPath, common });
  if (RUN_REALTIME) await realtimeBench({ scriptPath, common });
  if (RUN_GRPC) await grpcBench({ scriptPath, common });
  if (RUN_RULES) await rulesBench({ scriptPath, common });
  if (RUN_TRANSFER) await transferBench({ scriptPath, common });
  console.log(`\ntotal: ${((performance.now() - benchStart) / 1000).toFixed(1)} s`);
} finally {
  await cleanup();
}
