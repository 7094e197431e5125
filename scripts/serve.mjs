#!/usr/bin/env node
/**
 * `npm start`: serves the Firestore API on http://127.0.0.1:8080 (PORT overrides, HOST too) with
 * Miniflare, the same runtime as `wrangler dev` without its extra process. State persists in
 * `.data/` (FLARESTORE_DATA overrides), so a restart keeps every document. Nothing contacts the
 * internet. FLARESTORE_HEAP_MB=128 limits the V8 heap as production limits a Durable Object's
 * isolate (a request that would run out of memory there then fails here too; the whole local
 * server stops, where production would only reset the isolate). The port speaks native gRPC too
 * (scripts/grpc-front.mjs); FLARESTORE_GRPC=off leaves it to workerd alone (no gRPC, no hop), and
 * FLARESTORE_GRPC_BIDI=websocket sends Listen and Write over the WebSocket bridge instead of a
 * full-duplex gRPC-Web body.
 *
 * Security rules: `firestore.rules` in the project (FLARESTORE_RULES names another file, `none` no
 * file) are the rules of every database without rules of its own; when the file changes, the
 * server restarts its workerd with the new text (its data stays; open streams reconnect). A file
 * that does not parse is refused with its line and column, and the rules in force stay.
 */
import { existsSync, mkdirSync, watch } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { build, root } from "./build.mjs";
import { startFront } from "./grpc-front.mjs";
import { readRules, rulesFile } from "./rules-module.mjs";
import { DURABLE_OBJECTS, reconfigure, startMiniflare, WORKER_COMPAT } from "./workerd-config.mjs";

const port = Number(process.env.PORT ?? 8080);
const host = process.env.HOST ?? "127.0.0.1";
const dataDir = resolve(process.env.FLARESTORE_DATA ?? join(root, ".data"));
mkdirSync(dataDir, { recursive: true });

const heapMb = Number(process.env.FLARESTORE_HEAP_MB ?? 0);
if (!Number.isInteger(heapMb) || heapMb < 0) {
  console.error(`FLARESTORE_HEAP_MB must be a whole number of MB, not "${process.env.FLARESTORE_HEAP_MB}"`);
  process.exit(2);
}

const grpcSetting = (process.env.FLARESTORE_GRPC ?? "on").toLowerCase();
if (!["on", "off"].includes(grpcSetting)) {
  console.error(`FLARESTORE_GRPC must be "on" or "off", not "${process.env.FLARESTORE_GRPC}"`);
  process.exit(2);
}
const bidi = (process.env.FLARESTORE_GRPC_BIDI ?? "duplex").toLowerCase();
if (!["duplex", "websocket"].includes(bidi)) {
  console.error(`FLARESTORE_GRPC_BIDI must be "duplex" or "websocket", not "${process.env.FLARESTORE_GRPC_BIDI}"`);
  process.exit(2);
}
// With native gRPC, workerd listens on a private port behind the front (scripts/grpc-front.mjs),
// which pipes HTTP/1.1 to it; without, workerd listens on the public port itself, with no hop.
const withGrpc = grpcSetting === "on";

// Emulator mode unless told otherwise (src/auth/config.ts): `Bearer owner` is the admin, tokens are
// read unverified, as with the Firebase emulator. The other auth settings pass through as they are.
const bindings = { FLARESTORE_MODE: process.env.FLARESTORE_MODE ?? "emulator" };
for (const name of ["FLARESTORE_ADMIN_SECRET", "FLARESTORE_JWKS_URL", "FLARESTORE_OIDC"]) {
  if (process.env[name] !== undefined) bindings[name] = process.env[name];
}

// The project's rules, handed to the Worker as a binding (the bundle carries none, see build.mjs).
let rulesPath;
let rulesSource = null;
try {
  rulesPath = rulesFile() ?? (process.env.FLARESTORE_RULES === "none" ? null : join(root, "firestore.rules"));
  if (rulesPath !== null && existsSync(rulesPath)) rulesSource = readRules(rulesPath);
} catch (e) {
  console.error(`flarestore: the security rules do not load: ${e.message}`);
  process.exit(2);
}
// "" for none: whatever rules the bundle carries are not used.
const withRules = (source) => ({ ...bindings, FLARESTORE_RULES_SOURCE: source ?? "" });

const scriptPath = build({ bundleRules: false });
const options = {
  modules: true,
  scriptPath,
  ...WORKER_COMPAT,
  bindings: withRules(rulesSource),
  durableObjects: DURABLE_OBJECTS,
  durableObjectsPersist: join(dataDir, "durable-objects"),
  host: withGrpc ? "127.0.0.1" : host,
  port: withGrpc ? 0 : port,
};
const mf = await startMiniflare(options, { heapMb });
const inner = await mf.ready;
const upstream = { host: "127.0.0.1", port: Number(inner.port) };
const front = withGrpc ? await startFront({ host, port, bidi, upstream }) : undefined;
const shownHost = host.includes(":") ? `[${host}]` : host;
const shownPort = front ? front.address().port : Number(inner.port);
console.log(
  `flarestore listening on http://${shownHost}:${shownPort} (REST, WebChannel, WebSocket${front ? " and native gRPC" : "; native gRPC off"}; ${bindings.FLARESTORE_MODE} mode; data in ${dataDir}${heapMb > 0 ? `, V8 heap limit ${heapMb} MB` : ""}; ${rulesSource !== null ? `security rules from ${rulesPath}` : "no rules file"})`,
);

// Reloads the rules when their file changes (editors often replace it: the folder is watched).
if (rulesPath !== null) {
  let timer;
  let reloading = Promise.resolve();
  const reload = async () => {
    let next = null;
    try {
      if (existsSync(rulesPath)) next = readRules(rulesPath);
    } catch (e) {
      console.error(`flarestore: the security rules do not load, the rules in force stay: ${e.message}`);
      return;
    }
    if (next === rulesSource) return;
    rulesSource = next;
    options.bindings = withRules(next);
    const url = await reconfigure(mf, options, { heapMb });
    // With native gRPC on, workerd's private port may change; the front follows it.
    upstream.port = Number(url.port);
    console.log(
      `flarestore: security rules ${next === null ? `removed (${rulesPath} is gone)` : `reloaded from ${rulesPath}`}`,
    );
  };
  watch(dirname(rulesPath), (_event, name) => {
    if (name !== null && name !== basename(rulesPath)) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      reloading = reloading
        .then(reload)
        .catch((e) => console.error(`flarestore: reloading the rules failed: ${e.message}`));
    }, 100);
  }).unref();
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  front?.close();
  await mf.dispose();
  process.exit(0);
}
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
