/**
 * The realtime benchmark (section 8 of `npm run bench`, `BENCH_ONLY=realtime`): Listen streams over
 * WebSocket on one database while one client commits. It starts its own Miniflare listening on a
 * port; the listeners run in worker threads (`bench/realtime-listeners.mjs`, package `ws`, real TCP
 * sockets; THREADS of them), so the thread that commits and times is not the one receiving every
 * message.
 *
 * - Commit-to-listener latency: with L listeners (1, 100, 1000 by default; BENCH_RT_LISTENERS) each
 *   listening to one document, BENCH_RT_COMMITS commits of that document, one at a time; for each,
 *   the time from sending the commit to each listener's snapshot message for it. Reported as
 *   p50/p99 over all deliveries, against the baseline measured in the same run: the same commit's
 *   own latency (request to response) with no listener attached.
 * - Commit throughput with 100 listeners attached to a document the commits touch, against the same
 *   with none (closed loop, BENCH_CONCURRENCY clients, BENCH_RT_MS each, alternated twice), and how
 *   many snapshots each listener got for those commits (commits that land while a delivery is
 *   pending reach a listener together, as one snapshot).
 * - Memory: what the workerd process's resident size grew by per idle listener (a socket with a
 *   documents target) and per query target (each over 100 matching documents). Linux only.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { Worker } from "node:worker_threads";
import { num, quantile, withServer } from "./server.mjs";

const LISTENERS = (process.env.BENCH_RT_LISTENERS ?? "1,100,1000")
  .split(",")
  .map(Number)
  .filter((n) => n > 0);
const COMMITS = num("BENCH_RT_COMMITS", 30);
const RT_MS = num("BENCH_RT_MS", 3000);
const CONCURRENCY = num("BENCH_CONCURRENCY", 8);
/**
 * Listener threads: the cores workerd does not need (one on a 2-core machine), at most two. More
 * threads than that compete with workerd for the cores and inflate every figure.
 */
const THREADS = num("BENCH_RT_THREADS", Math.max(1, Math.min(2, cpus().length - 1)));

const ms = (x) => `${x.toFixed(1)} ms`;
const now = () => performance.timeOrigin + performance.now();

/** The resident size (KB) of the workerd process this process started last, if any. */
function workerdRssKb() {
  if (!existsSync("/proc/self/status")) return Number.NaN;
  let rss = Number.NaN;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      if (!/^Name:\s+workerd/m.test(status)) continue;
      if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid) continue;
      rss = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1]);
    } catch {
      // gone meanwhile
    }
  }
  return rss;
}

/** Listeners in worker threads: `count` sockets on `target`, split over THREADS threads. */
async function startListeners(url, count, target) {
  const threads = [];
  for (let t = 0; t < THREADS; t++) {
    const share = Math.floor(count / THREADS) + (t < count % THREADS ? 1 : 0);
    if (share === 0) continue;
    const worker = new Worker(new URL("./realtime-listeners.mjs", import.meta.url), {
      workerData: { url, count: share, target },
    });
    const waiting = new Map();
    /** Read times every socket of the thread has (they may come before the commit's response). */
    const arrived = new Set();
    const state = { worker, waiting, arrived, report: undefined };
    worker.on("message", (m) => {
      if (m.kind === "all") {
        arrived.add(m.readTime);
        waiting.get(m.readTime)?.();
      }
      if (m.kind === "report") state.report?.(m.deliveries);
    });
    await new Promise((resolve, reject) => {
      worker.once("error", reject);
      const ready = (m) => {
        if (m.kind === "ready") {
          worker.off("message", ready);
          resolve();
        }
      };
      worker.on("message", ready);
    });
    threads.push(state);
  }
  return {
    /** Resolves when every thread's sockets all have the snapshot at `readTime`, or after 10 s. */
    all(readTime) {
      return Promise.race([
        Promise.all(
          threads.map((t) =>
            t.arrived.has(readTime) ? undefined : new Promise((resolve) => t.waiting.set(readTime, resolve)),
          ),
        ),
        new Promise((resolve) => setTimeout(() => resolve("timeout"), 10_000)),
      ]);
    },
    async deliveries() {
      const lists = await Promise.all(
        threads.map(
          (t) =>
            new Promise((resolve) => {
              t.report = resolve;
              t.worker.postMessage("report");
            }),
        ),
      );
      return lists.flat();
    },
    async close() {
      await Promise.all(
        threads.map((t) => {
          t.worker.postMessage("close");
          return new Promise((resolve) => t.worker.once("exit", resolve));
        }),
      );
    },
  };
}

export async function realtimeBench(build) {
  await withServer(build, "rt", (mf, url) => run(mf, url.origin));
}

async function run(mf, origin) {
  const project = `bench-rt-${Date.now()}`;
  const root = `projects/${project}/databases/(default)`;
  const base = `${origin}/v1/${root}/documents`;
  const listenUrl = `${base.replace(/^http/, "ws")}:listen`;
  const commit = async (writes) => {
    const res = await mf.dispatchFetch(`${base}:commit`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ writes }),
    });
    const body = await res.json();
    if (res.status !== 200) throw new Error(`commit: HTTP ${res.status} ${JSON.stringify(body)}`);
    return body;
  };
  const setHot = (n) =>
    commit([{ update: { name: `${root}/documents/rt/hot`, fields: { n: { integerValue: String(n) } } } }]);
  const hotTarget = { documents: { documents: [`${root}/documents/rt/hot`] } };

  console.log(
    `\n8. realtime: Listen over WebSocket (real sockets, listeners in ${THREADS} worker thread${THREADS === 1 ? "" : "s"}), one database,` +
      ` ${COMMITS} commits of one document`,
  );
  await setHot(0);
  // Baseline: the commit's own latency with nobody listening.
  const own = [];
  for (let i = 0; i < COMMITS; i++) {
    const t0 = performance.now();
    await setHot(i);
    own.push(performance.now() - t0);
  }
  own.sort((a, b) => a - b);
  console.log(
    `   baseline: commit latency with no listener  p50 ${ms(quantile(own, 0.5))}  p99 ${ms(quantile(own, 0.99))}`,
  );

  for (const count of LISTENERS) {
    const rssBefore = workerdRssKb();
    const listeners = await startListeners(listenUrl, count, hotTarget);
    const rssAfter = workerdRssKb();
    const sentAt = new Map();
    let missing = 0;
    for (let i = 0; i < COMMITS; i++) {
      const t0 = now();
      const body = await setHot(1000 + i);
      sentAt.set(body.commitTime, t0);
      if ((await listeners.all(body.commitTime)) === "timeout") missing++;
    }
    const deliveries = (await listeners.deliveries())
      .filter(([readTime]) => sentAt.has(readTime))
      .map(([readTime, at]) => at - sentAt.get(readTime))
      .sort((a, b) => a - b);
    await listeners.close();
    const perListener = (rssAfter - rssBefore) / count;
    console.log(
      `   ${String(count).padStart(4)} listeners: commit → snapshot p50 ${ms(quantile(deliveries, 0.5))}  p99 ${ms(quantile(deliveries, 0.99))}` +
        `  (${deliveries.length} of ${count * COMMITS} delivered${missing ? `, ${missing} commits timed out` : ""};` +
        ` ratio p50 to baseline ${(quantile(deliveries, 0.5) / quantile(own, 0.5)).toFixed(2)})` +
        (Number.isFinite(perListener) ? `  resident +${perListener.toFixed(1)} KB per listener` : ""),
    );
  }

  // Throughput with 100 listeners vs none.
  const throughput = async () => {
    let done = 0;
    const deadline = performance.now() + RT_MS;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, c) => {
        for (let i = 0; performance.now() < deadline; i++) {
          await setHot(c * 1_000_000 + i);
          done++;
        }
      }),
    );
    return (done * 1000) / RT_MS;
  };
  const rates = { none: [], hundred: [] };
  let snapshots = 0;
  let committed = 0;
  for (let round = 0; round < 2; round++) {
    rates.none.push(await throughput());
    const listeners = await startListeners(listenUrl, 100, hotTarget);
    const rate = await throughput();
    rates.hundred.push(rate);
    committed += (rate * RT_MS) / 1000;
    // Give the last deliveries a moment, then count what the listeners got (one snapshot each per delivery).
    await new Promise((r) => setTimeout(r, 500));
    snapshots += (await listeners.deliveries()).length / 100;
    await listeners.close();
  }
  const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(
    `   commit throughput: ${avg(rates.hundred).toFixed(0)} commits/s with 100 listeners vs ${avg(rates.none).toFixed(0)} with none (ratio ${(avg(rates.hundred) / avg(rates.none)).toFixed(2)});` +
      ` each listener got ${snapshots.toFixed(0)} snapshots for ${committed.toFixed(0)} commits (commits that land together are delivered as one)`,
  );

  // Memory per query target: 100 documents matching each.
  await commit(
    Array.from({ length: 100 }, (_, i) => ({
      update: {
        name: `${root}/documents/q/d${i}`,
        fields: { k: { stringValue: "x" }, i: { integerValue: String(i) } },
      },
    })),
  );
  const rssBefore = workerdRssKb();
  const queryTarget = {
    query: {
      parent: `${root}/documents`,
      structuredQuery: {
        from: [{ collectionId: "q" }],
        where: { fieldFilter: { field: { fieldPath: "k" }, op: "EQUAL", value: { stringValue: "x" } } },
      },
    },
  };
  const queryListeners = await startListeners(listenUrl, 200, queryTarget);
  const perTarget = (workerdRssKb() - rssBefore) / 200;
  if (Number.isFinite(perTarget)) {
    console.log(
      `   memory: resident +${perTarget.toFixed(1)} KB per listener with a query target over 100 documents (one sample; noisy)`,
    );
  }
  await queryListeners.close();
}
