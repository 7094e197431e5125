#!/usr/bin/env node
/**
 * `npm start`: serves the Firestore API on http://127.0.0.1:8080 (PORT overrides, HOST too) with
 * Miniflare, the same runtime as `wrangler dev` without its extra process. State persists in
 * `.data/` (FLARESTORE_DATA overrides), so a restart keeps every document. Nothing contacts the
 * internet. FLARESTORE_HEAP_MB=128 limits the V8 heap as production limits a Durable Object's
 * isolate (a request that would run out of memory there then fails here too; the whole local
 * server stops, where production would only reset the isolate).
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { build, root } from "./build.mjs";
import { startFront } from "./grpc-front.mjs";
import { startMiniflare, WORKER_COMPAT } from "./workerd-config.mjs";

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? "127.0.0.1";
const dataDir = resolve(process.env.FLARESTORE_DATA ?? join(root, ".data"));
mkdirSync(dataDir, { recursive: true });

const heapMb = Number(process.env.FLARESTORE_HEAP_MB ?? 0);
if (!Number.isInteger(heapMb) || heapMb < 0) {
  console.error(`FLARESTORE_HEAP_MB must be a whole number of MB, not "${process.env.FLARESTORE_HEAP_MB}"`);
  process.exit(2);
}

const scriptPath = build();
const options = {
  modules: true,
  scriptPath,
  ...WORKER_COMPAT,
  durableObjects: { DATABASE: { className: "DatabaseDO", useSQLite: true } },
  durableObjectsPersist: join(dataDir, "durable-objects"),
  // workerd listens on a private port; the public one is the front's (HTTP/1.1 and native gRPC).
  host: "127.0.0.1",
  port: 0,
};
const mf = await startMiniflare(options, { heapMb });
const inner = await mf.ready;
const front = await startFront({ host, port, upstream: { host: "127.0.0.1", port: Number(inner.port) } });
const address = front.address();
console.log(
  `flarestore listening on http://${host.includes(":") ? `[${host}]` : host}:${address.port} (REST, WebChannel, WebSocket and native gRPC; data in ${dataDir}${heapMb > 0 ? `, V8 heap limit ${heapMb} MB` : ""})`,
);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  front.close();
  await mf.dispose();
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
