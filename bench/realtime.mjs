/**
 * The realtime benchmark (section 8 of `npm run bench`, `BENCH_ONLY=realtime`): Listen streams over
 * WebSocket on one database while one client commits.
 *
 * - Commit-to-listener latency: with L listeners (1, 100, 1000 by default; BENCH_RT_LISTENERS) each
 *   listening to one document, BENCH_RT_COMMITS commits of that document, one at a time; for each,
 *   the time from sending the commit to each listener's snapshot message for it. Reported as
 *   p50/p99 over all deliveries, against the baseline measured in the same run: the same commit's
 *   own latency (request to response) with no listener attached.
 * - Commit throughput with 100 listeners attached to a document the commits touch, against the same
 *   with none (closed loop, BENCH_CONCURRENCY clients, BENCH_RT_MS each, alternated twice).
 * - Memory: what the workerd process's resident size grew by per idle listener (a socket with a
 *   documents target) and per query target (each over 100 matching documents). Linux only.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const num = (name, fallback) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
};
const LISTENERS = (process.env.BENCH_RT_LISTENERS ?? "1,100,1000")
  .split(",")
  .map(Number)
  .filter((n) => n > 0);
const COMMITS = num("BENCH_RT_COMMITS", 30);
const RT_MS = num("BENCH_RT_MS", 3000);
const CONCURRENCY = num("BENCH_CONCURRENCY", 8);

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const ms = (x) => `${x.toFixed(1)} ms`;

/** The workerd process this process started (for resident memory), if any. */
function workerdRssKb() {
  if (!existsSync("/proc/self/status")) return Number.NaN;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, "utf8");
      if (!/^Name:\s+workerd/m.test(status)) continue;
      if (Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid) continue;
      return Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1]);
    } catch {
      // gone meanwhile
    }
  }
  return Number.NaN;
}

export async function realtimeBench(mf) {
  const project = `bench-rt-${Date.now()}`;
  const root = `projects/${project}/databases/(default)`;
  const base = `http://localhost/v1/${root}/documents`;
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

  /** Opens a Listen socket with one target; resolves once its first snapshot arrived. */
  const listen = async (target) => {
    const res = await mf.dispatchFetch(`${base}:listen`, { headers: { Upgrade: "websocket" } });
    const ws = res.webSocket;
    if (!ws) throw new Error(`listen: HTTP ${res.status}`);
    ws.accept();
    const listener = { ws, onSnapshot: undefined };
    let first;
    const ready = new Promise((resolve) => {
      first = resolve;
    });
    ws.addEventListener("message", (e) => {
      const m = JSON.parse(e.data);
      const tc = m.targetChange;
      if (tc && tc.targetIds.length === 0 && tc.readTime) {
        first?.();
        first = undefined;
        listener.onSnapshot?.(tc.readTime);
      }
    });
    ws.send(JSON.stringify({ addTarget: { targetId: 1, ...target } }));
    await ready;
    return listener;
  };
  const hotTarget = { documents: { documents: [`${root}/documents/rt/hot`] } };
  const closeAll = (listeners) => {
    for (const l of listeners) l.ws.close();
  };

  console.log(`\n8. realtime: Listen over WebSocket, one database, commits of one document ${COMMITS} times`);
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
    const listeners = [];
    for (let i = 0; i < count; i += 50) {
      listeners.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => listen(hotTarget)))));
    }
    const rssAfter = workerdRssKb();
    const deliveries = [];
    let errors = 0;
    for (let i = 0; i < COMMITS; i++) {
      const t0 = performance.now();
      let pending = count;
      let finish;
      const all = new Promise((resolve) => {
        finish = resolve;
      });
      let commitTime;
      for (const l of listeners) {
        l.onSnapshot = (readTime) => {
          if (commitTime !== undefined && readTime !== commitTime) return;
          deliveries.push(performance.now() - t0);
          if (--pending === 0) finish();
        };
      }
      const body = await setHot(1000 + i);
      commitTime = body.commitTime;
      const timeout = new Promise((resolve) => setTimeout(() => resolve("timeout"), 10_000));
      if ((await Promise.race([all, timeout])) === "timeout") errors += pending;
    }
    deliveries.sort((a, b) => a - b);
    const perListener = (rssAfter - rssBefore) / count;
    console.log(
      `   ${String(count).padStart(4)} listeners: commit → snapshot p50 ${ms(quantile(deliveries, 0.5))}  p99 ${ms(quantile(deliveries, 0.99))}` +
        `  (${deliveries.length} deliveries, ${errors} missing; ratio p50 to baseline ${(quantile(deliveries, 0.5) / quantile(own, 0.5)).toFixed(2)})` +
        (Number.isFinite(perListener) ? `  resident +${perListener.toFixed(1)} KB per listener` : ""),
    );
    closeAll(listeners);
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
  for (let round = 0; round < 2; round++) {
    rates.none.push(await throughput());
    const listeners = await Promise.all(Array.from({ length: 100 }, () => listen(hotTarget)));
    rates.hundred.push(await throughput());
    closeAll(listeners);
  }
  const avg = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  console.log(
    `   commit throughput: ${avg(rates.hundred).toFixed(0)} commits/s with 100 listeners vs ${avg(rates.none).toFixed(0)} with none (ratio ${(avg(rates.hundred) / avg(rates.none)).toFixed(2)})`,
  );

  // Memory per query target: 100 documents matching each.
  const writes = Array.from({ length: 100 }, (_, i) => ({
    update: { name: `${root}/documents/q/d${i}`, fields: { k: { stringValue: "x" }, i: { integerValue: String(i) } } },
  }));
  await commit(writes);
  const rssBefore = workerdRssKb();
  const queryListeners = [];
  for (let i = 0; i < 100; i += 25) {
    queryListeners.push(
      ...(await Promise.all(
        Array.from({ length: 25 }, () =>
          listen({
            query: {
              parent: `${root}/documents`,
              structuredQuery: {
                from: [{ collectionId: "q" }],
                where: { fieldFilter: { field: { fieldPath: "k" }, op: "EQUAL", value: { stringValue: "x" } } },
              },
            },
          }),
        ),
      )),
    );
  }
  const perTarget = (workerdRssKb() - rssBefore) / queryListeners.length;
  if (Number.isFinite(perTarget)) {
    console.log(
      `   memory: resident +${perTarget.toFixed(1)} KB per active query target (100 matching documents each)`,
    );
  }
  closeAll(queryListeners);
}
