/**
 * The query benchmark (section 5 of `npm run bench`, run by `bench/run.mjs` on its Miniflare
 * instance): does the cost of a query follow its results rather than the collection size?
 *
 * Two databases (projects `bench-10k` and `bench-100k` by default) are seeded through the REST
 * commit API with the same document shape. Every query is designed so that its RESULT is the same
 * size in both (except the one count labelled as growing), so with the indexes the 100k/10k latency
 * ratio should stay near 1 (target ≤ 1.5). Each query is timed three ways, one request in flight:
 *
 * - REST: a real `:runQuery` / `:runAggregationQuery` request through `mf.dispatchFetch`.
 * - RPC, indexed: the Durable Object's `runQuery` / `runAggregationQuery` called directly
 *   (Miniflare's `getDurableObjectNamespace`) with the same normalized query the Worker builds.
 * - RPC, full scan: the same call with the internal `plan: "scan"` switch, which ignores the
 *   indexes and evaluates every document: the baseline the indexes must beat.
 *
 * The normalized queries come from the project's own normalizer (`src/query/normalize.ts`,
 * bundled in memory with esbuild), so the RPC lines run exactly what the REST line runs; before
 * timing, the three paths' results are checked to be identical and of the expected size.
 *
 * Knobs (environment): BENCH_Q_SIZES ("10000,100000"), BENCH_Q_ITERS (60), BENCH_Q_WARMUP (5),
 * BENCH_Q_BUDGET_MS (3000), BENCH_Q_MIN_ITERS (3). A variant runs BENCH_Q_ITERS times, fewer (at
 * least BENCH_Q_MIN_ITERS) when its warm-up shows that would take more than BENCH_Q_BUDGET_MS: the
 * full scans at 100k, and any slow plan. Every table prints how many. See bench/README.md.
 */
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const num = (name, fallback) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
};
const list = (name, fallback) => {
  const v = (process.env[name] ?? "").split(",").map(Number);
  return v.length === 2 && v.every((x) => Number.isInteger(x) && x > 0) ? v : fallback;
};

const SIZES = list("BENCH_Q_SIZES", [10_000, 100_000]);
const ITERS = num("BENCH_Q_ITERS", 60);
const WARMUP = num("BENCH_Q_WARMUP", 5);
const BUDGET_MS = num("BENCH_Q_BUDGET_MS", 3000);
const MIN_ITERS = Math.min(num("BENCH_Q_MIN_ITERS", 3), ITERS);
const WARMUP_CAP_MS = 1000; // warm-up stops early (after at least one request) past this
const BATCH = 500; // writes per seeding commit (Firestore's maximum)
const TARGET = 1.5;

const CATEGORIES = 50; // `category == "cat-7"` matches 2% of the documents
const RARE = 50; // documents of kind "rare-a", and as many of kind "rare-b", at every size
const WINDOW = 100; // the range query's width on the unique field `n`
const MULTIPLIER = 7919; // prime: n = i * 7919 mod size is a permutation of 0..size-1
const COLLECTION = "items";

const label = (size) => (size % 1000 === 0 ? `${size / 1000}k` : String(size));
const JSON_POST = { method: "POST", headers: { "content-type": "application/json" } };

// -- data ----------------------------------------------------------------------------------------

/** A 32-bit integer hash (deterministic data without storing a seed). */
function hash(i) {
  let h = Math.imul(i ^ 0x5bd1e995, 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

/**
 * Document i of a collection of `size`: `category` (one of 50, i mod 50), `n` (unique, 0..size-1,
 * a permutation of i), `score` (double), `tag` (one of 10), `arr` (two elements), `kind`
 * ("rare-a" or "rare-b" for exactly RARE documents each, spread evenly; "common" otherwise).
 */
function docFields(i, size) {
  const h = hash(i);
  const stride = Math.floor(size / RARE);
  const slot = i < stride * RARE ? i % stride : -1;
  return {
    category: { stringValue: `cat-${i % CATEGORIES}` },
    n: { integerValue: String((i * MULTIPLIER) % size) },
    score: { doubleValue: h / 2 ** 32 },
    tag: { stringValue: `tag-${(h >>> 8) % 10}` },
    arr: { arrayValue: { values: [{ integerValue: String(h % 100) }, { stringValue: `e${(h >>> 16) % 20}` }] } },
    kind: { stringValue: slot === 1 ? "rare-a" : slot === Math.floor(stride / 2) ? "rare-b" : "common" },
  };
}

// -- the queries (proto3 JSON StructuredQuery) ---------------------------------------------------

const field = (fieldPath, op, value) => ({ fieldFilter: { field: { fieldPath }, op, value } });
const from = [{ collectionId: COLLECTION }];

function queries(rangeStart) {
  const cat7 = field("category", "EQUAL", { stringValue: "cat-7" });
  const rareA = field("kind", "EQUAL", { stringValue: "rare-a" });
  return [
    {
      id: "eq+orderBy+limit",
      title: 'category == "cat-7" ORDER BY n DESC LIMIT 20 (filter matches 2%)',
      structuredQuery: {
        from,
        where: cat7,
        orderBy: [{ field: { fieldPath: "n" }, direction: "DESCENDING" }],
        limit: 20,
      },
      expect: () => 20,
    },
    {
      id: "range",
      title: `${rangeStart} <= n < ${rangeStart + WINDOW} (n unique; implicit ORDER BY n, __name__)`,
      structuredQuery: {
        from,
        where: {
          compositeFilter: {
            op: "AND",
            filters: [
              field("n", "GREATER_THAN_OR_EQUAL", { integerValue: String(rangeStart) }),
              field("n", "LESS_THAN", { integerValue: String(rangeStart + WINDOW) }),
            ],
          },
        },
      },
      expect: () => WINDOW,
    },
    {
      id: "or",
      title: `kind == "rare-a" OR kind == "rare-b" (${RARE} + ${RARE} documents at every size)`,
      structuredQuery: {
        from,
        where: { compositeFilter: { op: "OR", filters: [rareA, field("kind", "EQUAL", { stringValue: "rare-b" })] } },
      },
      expect: () => 2 * RARE,
    },
    {
      id: "count (fixed)",
      title: `count() where kind == "rare-a" (${RARE} at every size)`,
      structuredQuery: { from, where: rareA },
      count: true,
      expect: () => RARE,
    },
    {
      id: "count 2% (grows)",
      title: 'count() where category == "cat-7": 2% of the collection, so its cost GROWS with N by design',
      structuredQuery: { from, where: cat7 },
      count: true,
      grows: true,
      expect: (size) => size / CATEGORIES,
    },
  ];
}

// -- the project's normalizer --------------------------------------------------------------------

async function loadNormalizer() {
  const entry = fileURLToPath(new URL("../src/query/normalize.ts", import.meta.url));
  const out = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: "esm",
    platform: "neutral",
    write: false,
    logLevel: "silent",
  });
  const code = out.outputFiles[0].text;
  return import(`data:text/javascript;base64,${Buffer.from(code).toString("base64")}`);
}

// -- measurement ---------------------------------------------------------------------------------

function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function summarize(latencies, errors) {
  const sorted = Float64Array.from(latencies).sort();
  return { n: latencies.length, errors, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99) };
}

/**
 * Warms every variant up (WARMUP requests including the check run `v.checkMs`, fewer once
 * WARMUP_CAP_MS are spent) and sets its iteration count from the warm-up's median (ITERS, fewer
 * for slow variants: see the knobs), then runs ITERS rounds; a variant with fewer iterations runs
 * in that many rounds, spread evenly. The order rotates every round, so background load hits every
 * variant (both sizes, all paths) alike.
 */
async function measure(variants) {
  for (const v of variants) {
    const times = [v.checkMs];
    let spent = v.checkMs;
    while (times.length < WARMUP && spent < WARMUP_CAP_MS) {
      const t0 = performance.now();
      await v.run().catch(() => false);
      times.push(performance.now() - t0);
      spent += times[times.length - 1];
    }
    const typical = times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
    v.iters = Math.max(MIN_ITERS, Math.min(ITERS, Math.floor(BUDGET_MS / typical)));
  }
  const accs = variants.map(() => ({ latencies: [], errors: 0 }));
  for (let r = 0; r < ITERS; r++) {
    for (let k = 0; k < variants.length; k++) {
      const i = (k + r) % variants.length;
      const v = variants[i];
      if (Math.floor(((r + 1) * v.iters) / ITERS) === Math.floor((r * v.iters) / ITERS)) continue;
      const t0 = performance.now();
      let ok = false;
      try {
        ok = await v.run();
      } catch {}
      const dt = performance.now() - t0;
      if (ok) accs[i].latencies.push(dt);
      else accs[i].errors++;
    }
  }
  return accs.map((a) => summarize(a.latencies, a.errors));
}

// -- the benchmark -------------------------------------------------------------------------------

/** Runs the query benchmark on `mf` (flarestore's Durable Object binding must be `DATABASE`). */
export async function queryBench(mf) {
  const started = performance.now();
  const [small, large] = SIZES;
  const rangeStart = Math.floor(small / 2);
  for (const size of SIZES) {
    if (size % MULTIPLIER === 0 || size < 4 * RARE || size < rangeStart + WINDOW || size % CATEGORIES !== 0) {
      throw new Error(`BENCH_Q_SIZES: ${size} does not fit the data design`);
    }
  }

  console.log(`\n5. queries: ${label(small)} vs ${label(large)} documents in collection "${COLLECTION}"`);
  console.log(
    `  data:    one database per size (projects bench-${label(small)}, bench-${label(large)}); document i has category "cat-<i mod 50>",`,
  );
  console.log(
    `           n = i*${MULTIPLIER} mod size (unique), score (double), tag (1 of 10), arr (2 elements), kind ("rare-a"/"rare-b" for ${RARE} each)`,
  );
  console.log(
    `  method:  1 request in flight; per query, a check run + warm-up, ${WARMUP} requests per variant (fewer past ${WARMUP_CAP_MS} ms), then ${ITERS} rounds`,
  );
  console.log(
    `           alternating REST / RPC indexed / RPC full scan at both sizes (order rotated). A variant whose warm-up median`,
  );
  console.log(
    `           says ${ITERS} requests would exceed ${BUDGET_MS} ms runs fewer (at least ${MIN_ITERS}) rounds: n = requests measured.`,
  );
  console.log("           p99 of fewer than 100 samples is the slowest sample. Latencies in ms.");

  let t = performance.now();
  const normalizer = await loadNormalizer();
  console.log(`  normalizer: src/query/normalize.ts bundled with esbuild (${Math.round(performance.now() - t)} ms)`);

  const ns = await mf.getDurableObjectNamespace("DATABASE");
  const dbs = SIZES.map((size) => {
    const project = `bench-${label(size)}`;
    const ref = { project, database: "(default)" };
    const database = `projects/${project}/databases/(default)`;
    return {
      size,
      ref,
      database,
      docs: `http://localhost/v1/${database}/documents`,
      stub: ns.get(ns.idFromName(`${project}/(default)`)),
    };
  });

  // Seeding: batches of 500 writes per commit, one commit in flight. The rate of the first and
  // the last tenth shows whether writing slows down as the collection and its indexes grow.
  for (const db of dbs) {
    t = performance.now();
    const tenth = Math.max(BATCH, Math.floor(db.size / 10 / BATCH) * BATCH);
    let firstTenthMs = 0;
    let lastTenthStart = 0;
    for (let b = 0; b < db.size; b += BATCH) {
      if (b === tenth) firstTenthMs = performance.now() - t;
      if (b === db.size - tenth) lastTenthStart = performance.now();
      const writes = [];
      for (let i = b; i < Math.min(db.size, b + BATCH); i++) {
        const name = `${db.database}/documents/${COLLECTION}/d${String(i).padStart(7, "0")}`;
        writes.push({ update: { name, fields: docFields(i, db.size) } });
      }
      const res = await mf.dispatchFetch(`${db.docs}:commit`, { ...JSON_POST, body: JSON.stringify({ writes }) });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`seeding ${db.ref.project}: HTTP ${res.status} ${text.slice(0, 300)}`);
    }
    const ms = performance.now() - t;
    const rate = (docs, millis) => Math.round(docs / (millis / 1000));
    console.log(
      `  seed ${label(db.size).padStart(4)}: ${db.size} documents in ${Math.ceil(db.size / BATCH)} commits of ${BATCH}: ${(ms / 1000).toFixed(1)} s = ${rate(db.size, ms)} documents/s (first ${tenth}: ${rate(tenth, firstTenthMs)}/s, last ${tenth}: ${rate(tenth, performance.now() - lastTenthStart)}/s)`,
    );
  }

  const results = [];
  for (const q of queries(rangeStart)) {
    const phase = performance.now();
    const aggregations = [{ alias: "count", count: {} }];
    const normalized = normalizer.decodeStructuredQuery(q.structuredQuery, dbs[0].ref, "", "structured_query");
    const aggs = q.count ? normalizer.decodeAggregations(aggregations, "aggregations") : undefined;
    const restUrl = (db) => `${db.docs}:${q.count ? "runAggregationQuery" : "runQuery"}`;
    const restBody = (extra) =>
      JSON.stringify(
        q.count
          ? { structuredAggregationQuery: { structuredQuery: q.structuredQuery, aggregations }, ...extra }
          : { structuredQuery: q.structuredQuery, ...extra },
      );
    const body = restBody({});
    const rpc = (db, extra) => {
      // The bench calls as the admin (rules, if any, are not what is measured here).
      const caller = { identity: { kind: "admin" }, emulator: true, database: "(default)" };
      const req = { caller, query: normalized, consistency: { kind: "latest" }, ...extra };
      return q.count
        ? db.stub.runAggregationQuery(db.database, { ...req, aggregations: aggs })
        : db.stub.runQuery(db.database, req);
    };

    // Check: the three paths agree and return the expected result; record the plans.
    const plans = [];
    const checkMs = new Map(); // "<size> <path>" → duration of the check run (a warm-up request)
    let agree = true;
    for (const db of dbs) {
      let t0 = performance.now();
      const res = await mf.dispatchFetch(restUrl(db), {
        ...JSON_POST,
        body: restBody({ explainOptions: { analyze: true } }),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${q.id} at ${label(db.size)}: HTTP ${res.status} ${text.slice(0, 300)}`);
      checkMs.set(`${db.size} rest`, performance.now() - t0);
      const items = JSON.parse(text);
      const metrics = items[items.length - 1].explainMetrics;
      const restResult = q.count
        ? items[0].result.aggregateFields.count.integerValue
        : items.filter((x) => x.document).map((x) => x.document.name);
      const outcome = {};
      for (const [which, extra] of [
        ["indexed", {}],
        ["scan", { plan: "scan" }],
      ]) {
        t0 = performance.now();
        const r = await rpc(db, { ...extra, explain: { analyze: true } });
        checkMs.set(`${db.size} ${which}`, performance.now() - t0);
        if (!r.ok) throw new Error(`${q.id} at ${label(db.size)}, RPC ${which}: ${JSON.stringify(r.error)}`);
        outcome[which] = {
          result: q.count
            ? r.ok.result.count.integerValue
            : r.ok.documents.map((d) => `${db.database}/documents/${d.path}`),
          explain: r.ok.explain,
        };
      }
      const size = q.count ? Number(restResult) : restResult.length;
      const same = [outcome.indexed.result, outcome.scan.result].every(
        (x) => JSON.stringify(x) === JSON.stringify(restResult),
      );
      if (!same || size !== q.expect(db.size)) agree = false;
      const stats = metrics.executionStats.debugStats;
      plans.push({
        size: db.size,
        results: size,
        indexes: metrics.planSummary.indexesUsed.map((u) => u.properties).join(" + "),
        entries: Number(stats.index_entries_scanned),
        documents: Number(stats.documents_scanned),
        scanDocuments: outcome.scan.explain.execution.documentsScanned,
      });
    }

    const variants = [];
    for (const db of dbs) {
      variants.push(
        {
          db,
          path: "rest",
          run: async () => {
            const res = await mf.dispatchFetch(restUrl(db), { ...JSON_POST, body });
            await res.text();
            return res.status === 200;
          },
        },
        { db, path: "indexed", run: async () => "ok" in (await rpc(db, {})) },
        { db, path: "scan", run: async () => "ok" in (await rpc(db, { plan: "scan" })) },
      );
    }
    for (const v of variants) v.checkMs = checkMs.get(`${v.db.size} ${v.path}`);
    const stats = await measure(variants);
    const get = (size, path) => stats[variants.findIndex((v) => v.db.size === size && v.path === path)];
    const seconds = (performance.now() - phase) / 1000;
    results.push({ q, get, plans, agree });

    // Table for this query.
    const w = 28;
    const f = (x) => (Number.isFinite(x) ? x.toFixed(2) : "—");
    const cell = (s) =>
      `${f(s.p50).padStart(8)} ${f(s.p99).padStart(8)} ${`${s.n}${s.errors ? `/${s.errors}!` : ""}`.padStart(5)}`;
    const ratio = (a, b) => (b > 0 ? (a / b).toFixed(2) : "—");
    console.log(`\n  ${q.id}: ${q.title}`);
    console.log(
      `    ${"".padEnd(w)} ${`${label(small)} p50`.padStart(8)} ${"p99".padStart(8)} ${"n".padStart(5)}   ${`${label(large)} p50`.padStart(8)} ${"p99".padStart(8)} ${"n".padStart(5)}   ${`${label(large)}/${label(small)} p50`.padStart(12)} ${"p99".padStart(5)}`,
    );
    for (const [path, name] of [
      ["rest", `REST ${q.count ? "runAggregationQuery" : "runQuery"}`],
      ["indexed", "RPC, indexed plan"],
      ["scan", "RPC, full scan (baseline)"],
    ]) {
      const a = get(small, path);
      const b = get(large, path);
      const mark = path === "rest" && !q.grows ? (b.p50 / a.p50 <= TARGET ? "  ok" : `  > ${TARGET}`) : "";
      console.log(
        `    ${name.padEnd(w)} ${cell(a)}   ${cell(b)}   ${ratio(b.p50, a.p50).padStart(12)} ${ratio(b.p99, a.p99).padStart(5)}${mark}`,
      );
    }
    console.log(
      `    ${"full scan ÷ indexed (RPC)".padEnd(w)} ${`${ratio(get(small, "scan").p50, get(small, "indexed").p50)}x`.padStart(8)} ${`${ratio(get(small, "scan").p99, get(small, "indexed").p99)}x`.padStart(8)} ${"".padStart(5)}   ${`${ratio(get(large, "scan").p50, get(large, "indexed").p50)}x`.padStart(8)} ${`${ratio(get(large, "scan").p99, get(large, "indexed").p99)}x`.padStart(8)}`,
    );
    for (const p of plans) {
      console.log(
        `    plan at ${label(p.size).padEnd(4)} ${p.indexes}: ${p.entries} index entries + ${p.documents} documents read → ${p.results} ${q.count ? "counted" : "results"} (full scan reads ${p.scanDocuments})`,
      );
    }
    console.log(
      `    check: REST, RPC indexed and RPC full scan return ${agree ? "the same, expected results at both sizes: OK" : "DIFFERENT or unexpected results: MISMATCH"}   (${seconds.toFixed(1)} s)`,
    );
  }

  // Summary.
  console.log(
    `\nsummary of 5 (REST p50 ratio ${label(large)}/${label(small)}, target ≤ ${TARGET}; full scan ÷ indexed, RPC p50)`,
  );
  for (const { q, get, plans, agree } of results) {
    const r = get(large, "rest").p50 / get(small, "rest").p50;
    const verdict = q.grows ? "(grows by design)" : r <= TARGET ? "meets target" : "MISSES target";
    const docs = plans.map((p) => p.documents).join(" → ");
    console.log(
      `  ${q.id.padEnd(18)} ${r.toFixed(2).padStart(6)}  ${verdict.padEnd(17)}  documents read ${docs.padEnd(14)}  full scan ÷ indexed: ${label(small)} ${(get(small, "scan").p50 / get(small, "indexed").p50).toFixed(1)}x, ${label(large)} ${(get(large, "scan").p50 / get(large, "indexed").p50).toFixed(1)}x${agree ? "" : "  MISMATCH"}`,
    );
  }
  console.log(`  (section 5 took ${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
