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
 *
 * Seed data, as the Firebase emulator's flags: `npm start -- --import DIR` loads a folder written
 * by `--export-on-exit DIR` (which writes every database when the server is stopped with Ctrl-C or
 * SIGTERM), see cli/folders.mjs.
 */
import { existsSync, mkdirSync, watch } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { exportFolder, importFolder } from "../cli/folders.mjs";
import { build, root } from "./build.mjs";
import { startFront } from "./grpc-front.mjs";
import { readRules, rulesFile } from "./rules-module.mjs";
import { DURABLE_OBJECTS, reconfigure, startMiniflare, WORKER_COMPAT } from "./workerd-config.mjs";

let args;
try {
  args = parseArgs({
    options: { import: { type: "string" }, "export-on-exit": { type: "string" } },
    strict: true,
  }).values;
} catch (e) {
  console.error(`flarestore: ${e.message} (options: --import DIR, --export-on-exit DIR)`);
  process.exit(2);
}
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
// read unverified, as with the Firebase emulator. The other auth settings, and the branch
// (src/middleware/branch.ts), pass through as they are.
const bindings = { FLARESTORE_MODE: process.env.FLARESTORE_MODE ?? "emulator" };
for (const name of [
  "FLARESTORE_ADMIN_SECRET",
  "FLARESTORE_JWKS_URL",
  "FLARESTORE_OIDC",
  "FLARESTORE_BRANCH",
  "FLARESTORE_WORKER_NAME",
]) {
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
// What the folder tools call: this server's workerd, as its admin (`owner` in emulator mode). The
// seed data is in before the public port opens (with FLARESTORE_GRPC=off workerd is the public
// port, open already).
const self = {
  endpoint: `http://127.0.0.1:${Number(inner.port)}`,
  token: bindings.FLARESTORE_MODE === "emulator" ? "owner" : process.env.FLARESTORE_ADMIN_SECRET,
};
const rebase = () => Object.assign(self, { endpoint: `http://127.0.0.1:${upstream.port}` });
if (args.import !== undefined) {
  try {
    const started = Date.now();
    const { databases, documents } = await importFolder(resolve(args.import), rebase());
    console.log(
      `flarestore: imported ${documents} documents into ${databases} database(s) from ${args.import} in ${Date.now() - started} ms`,
    );
  } catch (e) {
    console.error(`flarestore: --import ${args.import} failed: ${e.message}`);
    await mf.dispose();
    process.exit(1);
  }
}

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

async function reachable(url) {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  let code = 0;
  if (args["export-on-exit"] !== undefined) {
    try {
      // Ctrl-C signals the whole process group, workerd too: it is started again to read from.
      if (!(await reachable(`http://127.0.0.1:${upstream.port}/`))) {
        upstream.port = Number((await reconfigure(mf, options, { heapMb })).port);
      }
      const { databases, documents } = await exportFolder(resolve(args["export-on-exit"]), rebase());
      console.log(
        `flarestore: exported ${documents} documents of ${databases} database(s) to ${args["export-on-exit"]}`,
      );
    } catch (e) {
      console.error(`flarestore: --export-on-exit ${args["export-on-exit"]} failed: ${e.message}`);
      code = 1;
    }
  }
  front?.close();
  await mf.dispose();
  process.exit(code);
}
// Miniflare's own handlers kill workerd and exit at once; ours stop in order (exporting first when
// asked to), then dispose of it. Its exit hook still kills workerd if the process ends otherwise.
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.removeAllListeners(signal);
  process.on(signal, stop);
}
