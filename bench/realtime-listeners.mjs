/**
 * A worker thread of the realtime benchmark: opens `count` Listen sockets (package `ws`, real TCP)
 * to `url`, each with one target, and reports to the main thread, per snapshot read time, when
 * the last of its sockets received it (absolute ms: `performance.timeOrigin + performance.now()`,
 * the same clock in every thread). Listeners live here, not in the thread that commits, so the
 * client's own work does not delay the commits it times.
 */
import { performance } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import WebSocket from "ws";

const { url, count, target } = workerData;
const now = () => performance.timeOrigin + performance.now();
/** readTime → sockets that have it, and every socket's own arrival times. */
const seen = new Map();
const deliveries = [];

function open() {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    let ready = false;
    ws.on("open", () => ws.send(JSON.stringify({ addTarget: { targetId: 1, ...target } })));
    ws.on("error", reject);
    ws.on("message", (data) => {
      const tc = JSON.parse(data.toString()).targetChange;
      if (tc?.targetIds.length !== 0 || !tc.readTime) return;
      if (!ready) {
        ready = true;
        resolve(ws);
        return;
      }
      const at = now();
      deliveries.push([tc.readTime, at]);
      const n = (seen.get(tc.readTime) ?? 0) + 1;
      seen.set(tc.readTime, n);
      if (n === count) parentPort.postMessage({ kind: "all", readTime: tc.readTime, at });
    });
  });
}

const sockets = [];
for (let i = 0; i < count; i += 50) {
  sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, open))));
}
parentPort.postMessage({ kind: "ready" });
parentPort.on("message", (m) => {
  if (m === "report") parentPort.postMessage({ kind: "report", deliveries });
  if (m === "close") {
    for (const ws of sockets) ws.close();
    setTimeout(() => process.exit(0), 200);
  }
});
