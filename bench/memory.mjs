/**
 * The memory benchmark (section 7 of `npm run bench`, `BENCH_ONLY=memory`): how much memory a
 * request whose result or body is large needs. A Durable Object's isolate has 128 MB in
 * production; results are streamed in pages so what a read needs should not grow with its result.
 *
 * Locally workerd gives its isolates no heap limit, so V8 collects garbage late and resident
 * memory mostly measures garbage. Each request therefore runs in a workerd started with a V8 heap
 * limit (`--max-heap-size`, see `scripts/workerd-config.mjs`), and two figures are reported per case:
 *
 * - heap needed: the smallest limit, found by bisection (to BENCH_M_STEP_MB, 2 MB), under which
 *   the request still succeeds. That is the peak of live JavaScript memory in the isolate that
 *   serves the Worker and the Durable Object, including what it holds anyway; the same figure
 *   for a single-document GET (the baseline, measured in the same run) is that fixed part, and
 *   the difference is what the request itself needs.
 * - resident: under a 128 MB limit (production's), the peak resident memory the workerd process
 *   added during the request (`VmHWM`, reset through /proc/<pid>/clear_refs before it, minus
 *   `VmRSS` when it started): heap, SQLite's cache, buffers in flight. Linux only.
 *
 * Cases: a batchGet of every document (BENCH_M_DOCS documents of BENCH_M_KB KB: 1,000 × ~1 MB
 * by default), a runQuery returning 200 of them (~200 MB), a 10 MiB commit of 9 large documents,
 * a commit of 500 writes. Response bodies are read and discarded chunk by chunk.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { DURABLE_OBJECTS, startMiniflare } from "../scripts/workerd-config.mjs";

const num = (name, fallback) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
};
const DOCS = num("BENCH_M_DOCS", 1000);
const KB = num("BENCH_M_KB", 1000);
const STEP_MB = num("BENCH_M_STEP_MB", 2);
const QUERY_DOCS = Math.min(200, DOCS);
/** The bound a request should fit in (a Durable Object's isolate has 128 MB in production). */
const BOUND_MB = num("BENCH_M_BOUND_MB", 32);
const MAX_MB = 1024; // the bisection's upper end: "needs more than this"
const BASE = "http://localhost/v1/projects/bench-memory/databases/(default)/documents";
const ROOT = "projects/bench-memory/databases/(default)/documents";
const POST = { method: "POST", headers: { "content-type": "application/json" } };

/** The workerd processes started by this process (Miniflare spawns one). */
function workerdPids() {
  const parentOf = new Map();
  const names = new Map();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      parentOf.set(Number(entry), Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]));
      names.set(Number(entry), /^Name:\s+(\S+)/m.exec(status)?.[1]);
    } catch {
      // gone meanwhile
    }
  }
  const mine = (pid) => {
    for (let p = pid, hops = 0; p > 1 && hops < 10; p = parentOf.get(p) ?? 0, hops++)
      if (p === process.pid) return true;
    return false;
  };
  return [...names].filter(([pid, name]) => name?.startsWith("workerd") && mine(pid)).map(([pid]) => pid);
}

const statusKb = (pid, field) =>
  Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
const resetPeak = (pid) => writeFileSync(`/proc/${pid}/clear_refs`, "5");

/** Sends a request, reading and discarding the body; returns status and body size. */
async function send(mf, path, body) {
  const res = await mf.dispatchFetch(`${BASE}${path}`, body === undefined ? undefined : { ...POST, body });
  let bytes = 0;
  let tail = "";
  const reader = res.body?.getReader();
  for (;;) {
    const chunk = await reader?.read();
    if (!chunk || chunk.done) break;
    bytes += chunk.value.byteLength;
    tail = (tail + Buffer.from(chunk.value.subarray(-200)).toString("latin1")).slice(-200);
  }
  // A streamed array that failed after its first page ends with an error element.
  const failedLate = res.status === 200 && /"error":\{"code"/.test(tail);
  return { status: failedLate ? 500 : res.status, bytes };
}

/**
 * @param {{ scriptPath: string, common: object }} target the built Worker and the Miniflare
 *   options every instance shares (compatibility date and flags)
 */
export async function memoryBench({ scriptPath, common }) {
  const linux = existsSync("/proc/self/clear_refs");
  const dataDir = mkdtempSync(join(tmpdir(), "flarestore-bench-memory-"));
  const options = {
    ...common,
    scriptPath,
    durableObjects: DURABLE_OBJECTS,
    durableObjectsPersist: dataDir,
  };
  const big = "x".repeat(KB * 1000 - 200);
  const name = (i) => `${ROOT}/big/d${String(i).padStart(5, "0")}`;
  let seededAt;
  try {
    let t = performance.now();
    const seeder = await startMiniflare(options, { heapMb: MAX_MB, quiet: true });
    try {
      const perCommit = Math.max(1, Math.floor(9_500_000 / (KB * 1000)));
      for (let i = 0; i < DOCS; i += perCommit) {
        const writes = [];
        for (let j = i; j < Math.min(DOCS, i + perCommit); j++) {
          writes.push({
            update: {
              name: name(j),
              fields: {
                i: { integerValue: String(j) },
                // The last QUERY_DOCS documents: far down the order of i, so that an ordered scan
                // gives up and the planner reads them all as candidates, then sorts them.
                ...(j >= DOCS - QUERY_DOCS ? { tail: { booleanValue: true } } : {}),
                s: { stringValue: big },
              },
            },
          });
        }
        const r = await send(seeder, ":commit", JSON.stringify({ writes }));
        if (r.status !== 200) throw new Error(`seeding: HTTP ${r.status}`);
      }
      // A read time before one more change, so that queries at it cannot use the present.
      const res = await seeder.dispatchFetch(`${BASE}:commit`, { ...POST, body: "{}" });
      seededAt = (await res.json()).commitTime;
      await send(seeder, ":commit", JSON.stringify({ writes: [{ update: { name: `${ROOT}/other/x`, fields: {} } }] }));
    } finally {
      await seeder.dispose();
    }
    console.log(
      `\n7. memory: seeded ${DOCS} documents of ${KB} KB in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );

    const firstByI = { from: [{ collectionId: "big" }], orderBy: [{ field: { fieldPath: "i" } }], limit: QUERY_DOCS };
    const runQuery = (mf, structuredQuery, extra = {}) =>
      send(mf, ":runQuery", JSON.stringify({ structuredQuery, ...extra }));
    const cases = [
      ["GET one document (baseline)", (mf) => send(mf, "/big/d00000")],
      [
        `batchGet of ${DOCS} documents`,
        (mf) => send(mf, ":batchGet", JSON.stringify({ documents: Array.from({ length: DOCS }, (_, i) => name(i)) })),
      ],
      [`runQuery returning ${QUERY_DOCS} documents`, (mf) => runQuery(mf, firstByI)],
      [
        `runQuery of the last ${QUERY_DOCS} (candidate set)`,
        (mf) =>
          runQuery(mf, {
            from: [{ collectionId: "big" }],
            where: { fieldFilter: { field: { fieldPath: "tail" }, op: "EQUAL", value: { booleanValue: true } } },
            orderBy: [{ field: { fieldPath: "i" } }],
          }),
      ],
      [`runQuery of ${QUERY_DOCS} at a past readTime`, (mf) => runQuery(mf, firstByI, { readTime: seededAt })],
      [
        `sum and avg over ${DOCS} documents`,
        (mf) =>
          send(
            mf,
            ":runAggregationQuery",
            JSON.stringify({
              structuredAggregationQuery: {
                structuredQuery: { from: [{ collectionId: "big" }] },
                aggregations: [
                  { alias: "total", sum: { field: { fieldPath: "i" } } },
                  { alias: "mean", avg: { field: { fieldPath: "i" } } },
                ],
              },
            }),
          ),
      ],
      [
        "commit of 9 documents of 1 MB (a 10 MiB request)",
        (mf) =>
          send(
            mf,
            ":commit",
            JSON.stringify({
              writes: Array.from({ length: 9 }, (_, j) => ({
                update: { name: `${ROOT}/commits/c${j}`, fields: { s: { stringValue: "y".repeat(1_040_000) } } },
              })),
            }),
          ),
      ],
      [
        "commit of 500 writes",
        (mf) =>
          send(
            mf,
            ":commit",
            JSON.stringify({
              writes: Array.from({ length: 500 }, (_, j) => ({
                update: { name: `${ROOT}/many/m${j}`, fields: { n: { integerValue: String(j) } } },
              })),
            }),
          ),
      ],
    ];

    /** Runs one case in a fresh workerd limited to `heapMb`; `null` when it ran out of memory. */
    const attempt = async (run, heapMb) => {
      const others = new Set(linux ? workerdPids() : []);
      let mf;
      try {
        // A heap too small for workerd to start at all does not fit either.
        mf = await startMiniflare(options, { heapMb: heapMb, quiet: true });
        // The Durable Object starts (and opens its database) before the measured request.
        await send(mf, "/warm/up");
        const [pid] = linux ? workerdPids().filter((p) => !others.has(p)) : [];
        if (pid !== undefined) resetPeak(pid);
        const before = pid === undefined ? 0 : statusKb(pid, "VmRSS") / 1024;
        const start = performance.now();
        const r = await run(mf);
        const ms = performance.now() - start;
        const rss = pid === undefined ? Number.NaN : statusKb(pid, "VmHWM") / 1024 - before;
        return r.status === 200 ? { ...r, ms, rss } : null;
      } catch {
        return null; // workerd aborted: "JavaScript heap out of memory"
      } finally {
        await mf?.dispose().catch(() => {});
      }
    };

    console.log(
      `   heap needed: smallest --max-heap-size (±${STEP_MB} MB) under which it succeeds; resident: what the workerd\n` +
        `   process added, run under a ${BOUND_MB} MB heap (or, when that fails, under the heap it needs)`,
    );
    let baseline;
    for (const [label, run] of cases) {
      t = performance.now();
      const atBound = await attempt(run, BOUND_MB);
      // Bisect between a limit that fails and one that works.
      let lo = atBound ? 0 : BOUND_MB;
      let hi = atBound ? BOUND_MB : MAX_MB;
      let measured = atBound;
      if (!atBound) {
        measured = await attempt(run, MAX_MB);
        if (!measured) hi = Number.POSITIVE_INFINITY;
      }
      while (Number.isFinite(hi) && hi - lo > STEP_MB) {
        const mid = Math.round((lo + hi) / 2);
        const r = await attempt(run, mid);
        if (r) {
          hi = mid;
          if (!atBound) measured = r;
        } else lo = mid;
      }
      baseline ??= hi;
      const heap = Number.isFinite(hi) ? `${String(hi).padStart(4)} MB` : `>${MAX_MB} MB`;
      const own = Number.isFinite(hi) ? `(+${String(hi - baseline).padStart(3)})` : "";
      const verdict = atBound ? `fits ${BOUND_MB} MB` : `NEEDS MORE than ${BOUND_MB} MB`;
      const resident = measured
        ? `resident +${measured.rss.toFixed(0).padStart(4)} MB, response ${(measured.bytes / 1e6).toFixed(1).padStart(6)} MB in ${measured.ms.toFixed(0).padStart(6)} ms`
        : "";
      console.log(
        `  ${label.padEnd(48)} heap needed ${heap} ${own.padEnd(7)} ${verdict.padEnd(24)} ${resident}  [${((performance.now() - t) / 1000).toFixed(0)} s]`,
      );
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
}
