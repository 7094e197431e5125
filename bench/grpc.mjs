/**
 * The gRPC benchmark (section 9 of `npm run bench`, `BENCH_ONLY=grpc`): the server SDK
 * (@google-cloud/firestore, unmodified) doing the same workload over its two transports against one
 * server in the same run, as `npm start` serves it: a Miniflare of its own behind the front of
 * `scripts/grpc-front.mjs` (HTTP/1.1 piped to workerd, native gRPC converted to gRPC-Web).
 *
 * Workload, closed loop with BENCH_CONCURRENCY clients for BENCH_GRPC_MS per round: one document
 * `get`, one `set`, and a 20-document query, in turn. Rounds alternate REST (the baseline), gRPC,
 * and REST straight to workerd's own port (what the front's byte pipe costs HTTP/1.1), twice each.
 * Reported: operations/s and p50/p99 latency per line, and the ratios.
 */
import { performance } from "node:perf_hooks";
import { Firestore } from "@google-cloud/firestore";
import { OAuth2Client } from "google-auth-library";
import { startFront } from "../scripts/grpc-front.mjs";
import { num, quantile, withServer } from "./server.mjs";

const CONCURRENCY = num("BENCH_CONCURRENCY", 8);
const ROUND_MS = num("BENCH_GRPC_MS", 3000);

export async function grpcBench(build) {
  await withServer(build, "grpc", run);
}

async function run(_mf, inner) {
  let front;
  const clients = [];
  try {
    front = await startFront({ host: "127.0.0.1", port: 0, upstream: { host: "127.0.0.1", port: Number(inner.port) } });
    const port = front.address().port;
    const projectId = `bench-grpc-${Date.now()}`;
    const authClient = new OAuth2Client();
    authClient.setCredentials({ access_token: "owner", expiry_date: Date.now() + 864e5 });
    const rest = new Firestore({ projectId, host: `127.0.0.1:${port}`, ssl: false, preferRest: true, authClient });
    const direct = new Firestore({
      projectId,
      host: `127.0.0.1:${inner.port}`,
      ssl: false,
      preferRest: true,
      authClient,
    });
    const grpc = new Firestore({
      projectId,
      host: "127.0.0.1",
      port,
      ssl: false,
      customHeaders: { Authorization: "Bearer owner" },
    });
    clients.push(rest, grpc, direct);

    console.log(
      `\n9. gRPC: the server SDK over native gRPC (through npm start's front) vs over REST, one server,` +
        ` ${CONCURRENCY} clients, get / set / 20-document query in turn`,
    );
    const batch = rest.batch();
    for (let i = 0; i < 50; i++) batch.set(rest.doc(`items/d${i}`), { n: i, tag: i % 2 === 0 ? "even" : "odd" });
    await batch.commit();
    // Warm both transports (connections, the SDK's first calls).
    for (const db of [rest, grpc, direct]) {
      await db.doc("items/d1").get();
      await db.collection("items").where("tag", "==", "even").limit(20).get();
    }

    const round = async (db) => {
      const latencies = [];
      let ops = 0;
      const deadline = performance.now() + ROUND_MS;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async (_, c) => {
          for (let i = 0; performance.now() < deadline; i++) {
            const t0 = performance.now();
            const kind = i % 3;
            if (kind === 0) await db.doc(`items/d${(c * 7 + i) % 50}`).get();
            else if (kind === 1) await db.doc(`writes/c${c}`).set({ i });
            else await db.collection("items").where("tag", "==", "even").limit(20).get();
            latencies.push(performance.now() - t0);
            ops++;
          }
        }),
      );
      return { rps: (ops * 1000) / ROUND_MS, latencies };
    };
    const results = { REST: [], gRPC: [], "REST, no front": [] };
    for (let r = 0; r < 2; r++) {
      results.REST.push(await round(rest));
      results.gRPC.push(await round(grpc));
      results["REST, no front"].push(await round(direct));
    }
    const summary = {};
    for (const [name, rounds] of Object.entries(results)) {
      const lat = rounds.flatMap((x) => x.latencies).sort((a, b) => a - b);
      const rps = rounds.reduce((n, x) => n + x.rps, 0) / rounds.length;
      summary[name] = rps;
      console.log(
        `   ${name.padEnd(14)} ${rps.toFixed(0).padStart(6)} ops/s  p50 ${quantile(lat, 0.5).toFixed(1)} ms  p99 ${quantile(lat, 0.99).toFixed(1)} ms`,
      );
    }
    console.log(
      `   ratio gRPC / REST: ${(summary.gRPC / summary.REST).toFixed(2)};` +
        ` REST through the front / REST straight to workerd: ${(summary.REST / summary["REST, no front"]).toFixed(2)}`,
    );
  } finally {
    for (const c of clients) await c.terminate().catch(() => {});
    front?.close();
  }
}
