#!/usr/bin/env node
/**
 * `npm start`: serves the Firestore API on http://127.0.0.1:8080 (PORT overrides, HOST too) with
 * Miniflare, the same runtime as `wrangler dev` without its extra process. State persists in
 * `.data/` (FLARESTORE_DATA overrides), so a restart keeps every document. Nothing contacts the
 * internet.
 */
import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { Miniflare } from "miniflare";
import { build, root } from "./build.mjs";

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? "127.0.0.1";
const dataDir = resolve(process.env.FLARESTORE_DATA ?? join(root, ".data"));
mkdirSync(dataDir, { recursive: true });

const scriptPath = build();
const mf = new Miniflare({
  modules: true,
  scriptPath,
  compatibilityDate: "2026-04-26",
  compatibilityFlags: ["nodejs_compat"],
  durableObjects: { DATABASE: { className: "DatabaseDO", useSQLite: true } },
  durableObjectsPersist: join(dataDir, "durable-objects"),
  host,
  port,
});
const url = await mf.ready;
console.log(`flarestore listening on ${url.href.replace(/\/$/, "")} (data in ${dataDir})`);

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await mf.dispose();
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
