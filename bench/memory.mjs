/**
 * The memory benchmark (section 7 of `npm run bench`, `BENCH_ONLY=memory`): the peak resident
 * memory of the workerd process (which runs the Worker and every Durable Object) while it serves
 * requests whose results or bodies are large. A Durable Object has 128 MB in production; results
 * are streamed in pages so a request's peak should not grow with its result.
 *
 * The peak is the kernel's high-water mark (`VmHWM` in /proc/<pid>/status), reset before each
 * request by writing 5 to /proc/<pid>/clear_refs; each figure is that peak minus the resident
 * size when the request started (`VmRSS`), i.e. what the request added. The baseline, measured
 * the same way in the same run, is a single-document GET. Linux only (elsewhere: skipped).
 *
 * Cases: a batchGet of every document (BENCH_M_DOCS documents of BENCH_M_KB KB: 1,000 × ~1 MB by
 * default), a runQuery returning 200 of them (~200 MB), a 10 MiB commit of 9 large documents, and
 * a commit of 500 small writes. Response bodies are read and discarded chunk by chunk.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const num = (name, fallback) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
};
const DOCS = num("BENCH_M_DOCS", 1000);
const KB = num("BENCH_M_KB", 1000);
const QUERY_DOCS = Math.min(200, DOCS);
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

export async function memoryBench(mf) {
  if (!existsSync("/proc/self/clear_refs")) {
    console.log("\n7. memory: skipped (needs Linux /proc)");
    return;
  }
  const [pid] = workerdPids();
  if (pid === undefined) {
    console.log("\n7. memory: skipped (no workerd process found)");
    return;
  }
  /** Sends a request, reading and discarding the body; returns status and body size. */
  const send = async (path, body) => {
    const res = await mf.dispatchFetch(`${BASE}${path}`, body === undefined ? undefined : { ...POST, body });
    let bytes = 0;
    const reader = res.body?.getReader();
    for (;;) {
      const chunk = await reader?.read();
      if (!chunk || chunk.done) break;
      bytes += chunk.value.byteLength;
    }
    return { status: res.status, bytes };
  };
  const big = "x".repeat(KB * 1000 - 200);
  const name = (i) => `${ROOT}/big/d${String(i).padStart(5, "0")}`;

  let t = performance.now();
  const perCommit = Math.max(1, Math.floor(9_500_000 / (KB * 1000)));
  for (let i = 0; i < DOCS; i += perCommit) {
    const writes = [];
    for (let j = i; j < Math.min(DOCS, i + perCommit); j++) {
      writes.push({ update: { name: name(j), fields: { i: { integerValue: String(j) }, s: { stringValue: big } } } });
    }
    const r = await send(":commit", JSON.stringify({ writes }));
    if (r.status !== 200) throw new Error(`seeding: HTTP ${r.status}`);
  }
  console.log(`\n7. memory: seeded ${DOCS} documents of ${KB} KB in ${((performance.now() - t) / 1000).toFixed(1)} s`);

  const cases = [
    ["GET one document (baseline)", () => send(`/big/d00000`)],
    [
      `batchGet of ${DOCS} documents`,
      () => send(":batchGet", JSON.stringify({ documents: Array.from({ length: DOCS }, (_, i) => name(i)) })),
    ],
    [
      `runQuery returning ${QUERY_DOCS} documents`,
      () =>
        send(
          ":runQuery",
          JSON.stringify({
            structuredQuery: {
              from: [{ collectionId: "big" }],
              orderBy: [{ field: { fieldPath: "i" } }],
              limit: QUERY_DOCS,
            },
          }),
        ),
    ],
    [
      "commit of 9 documents of 1 MB (a 10 MiB request)",
      () =>
        send(
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
      () =>
        send(
          ":commit",
          JSON.stringify({
            writes: Array.from({ length: 500 }, (_, j) => ({
              update: { name: `${ROOT}/many/m${j}`, fields: { n: { integerValue: String(j) } } },
            })),
          }),
        ),
    ],
  ];
  const rows = [];
  let baseline;
  for (const [label, run] of cases) {
    resetPeak(pid);
    const before = statusKb(pid, "VmRSS") / 1024;
    t = performance.now();
    const r = await run();
    const ms = performance.now() - t;
    // What the request added on top of what the process held when it started.
    const peak = statusKb(pid, "VmHWM") / 1024 - before;
    baseline ??= peak;
    if (r.status !== 200) {
      rows.push(`  ${label.padEnd(48)} FAILED: HTTP ${r.status} (peak ${peak.toFixed(0)} MB)`);
      continue;
    }
    rows.push(
      `  ${label.padEnd(48)} peak +${peak.toFixed(0).padStart(5)} MB  (ratio to baseline ${(peak / Math.max(baseline, 1)).toFixed(1).padStart(5)})  response ${(r.bytes / 1e6).toFixed(1).padStart(7)} MB  ${ms.toFixed(0).padStart(6)} ms`,
    );
  }
  console.log("   peak resident memory workerd added during each request (VmHWM after − VmRSS before)");
  for (const row of rows) console.log(row);
}
