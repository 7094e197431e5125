/**
 * Miniflare as production runs the Worker, for the two settings Miniflare has no option for.
 * Used by `npm start`, the benchmarks and the end-to-end tests' server.
 *
 * - No WebSocket compression. Production's Worker declines `permessage-deflate` (the
 *   `no_web_socket_compression` flag in wrangler.toml): a Listen socket's messages are small
 *   deltas, and a deflate context costs about 300 KB per socket and more CPU per message than the
 *   message itself. Locally, Miniflare's own entry Worker sits in front of ours and terminates the
 *   client's socket, and it negotiates compression whatever our Worker says, so its flag is set
 *   here too.
 * - A V8 heap limit (`heapMb`), like the 128 MB a Durable Object's isolate has in production
 *   (locally workerd sets none: garbage piles up, and a request that would run out of memory in
 *   production succeeds). Used by `FLARESTORE_HEAP_MB=… npm start`, the memory benchmark and the
 *   memory tests. Past the limit workerd aborts ("JavaScript heap out of memory") and every
 *   request in flight fails.
 *
 * How: this wraps `Runtime.prototype.updateConfig` (Miniflare's public `Runtime` class) to
 * serialize workerd's config again with the changes made. The config object itself is caught on
 * its way through `JSON.stringify`, which Miniflare calls on it when
 * `MINIFLARE_WORKERD_CONFIG_DEBUG` is set (pointed at /dev/null here); a config that does not
 * serialize to the bytes in hand, or has no entry Worker, is refused rather than guessed at.
 */
import { Miniflare, Runtime, serializeConfig } from "miniflare";

/** Our Worker's Durable Objects, as in wrangler.toml. */
export const DURABLE_OBJECTS = {
  DATABASE: { className: "DatabaseDO", useSQLite: true },
  REGISTRY: { className: "RegistryDO", useSQLite: true },
};

/** Our Worker's compatibility settings, as in wrangler.toml. */
export const WORKER_COMPAT = {
  compatibilityDate: "2026-04-26",
  compatibilityFlags: ["nodejs_compat", "no_web_socket_compression"],
};

/** Miniflare's entry Worker, which terminates every client connection (`core:entry`). */
const ENTRY_SERVICE = "core:entry";
const NO_COMPRESSION = "no_web_socket_compression";

let captured;
let heapFlagsForNextStart = [];
let installed = false;

function install() {
  if (installed) return;
  installed = true;
  process.env.MINIFLARE_WORKERD_CONFIG_DEBUG = "/dev/null";
  const stringify = JSON.stringify;
  JSON.stringify = function (value, ...rest) {
    if (value && typeof value === "object" && Array.isArray(value.services) && Array.isArray(value.sockets)) {
      captured = value;
    }
    return stringify.call(this, value, ...rest);
  };
  const updateConfig = Runtime.prototype.updateConfig;
  Runtime.prototype.updateConfig = function (buffer, ...rest) {
    if (captured === undefined || Buffer.compare(serializeConfig(captured), buffer) !== 0) {
      throw new Error("workerd-config: could not find Miniflare's workerd config to change");
    }
    return updateConfig.call(this, serializeConfig(adjusted(captured)), ...rest);
  };
}

function adjusted(config) {
  let entryFound = false;
  const services = config.services.map((service) => {
    if (service.name !== ENTRY_SERVICE || !service.worker) return service;
    entryFound = true;
    const flags = service.worker.compatibilityFlags ?? [];
    if (flags.includes(NO_COMPRESSION)) return service;
    return { ...service, worker: { ...service.worker, compatibilityFlags: [...flags, NO_COMPRESSION] } };
  });
  if (!entryFound) throw new Error(`workerd-config: Miniflare's config has no "${ENTRY_SERVICE}" Worker`);
  const changed = { ...config, services };
  return heapFlagsForNextStart.length > 0 ? { ...changed, v8Flags: heapFlagsForNextStart } : changed;
}

/**
 * A ready Miniflare instance configured as above. With `heapMb`, its isolates may hold at most
 * that many MB of V8 heap (`--max-heap-size`, young and old generations together). `quiet` drops
 * workerd's own output (the report of each heap it ran out of).
 */
export async function startMiniflare(options, { heapMb = 0, quiet = false } = {}) {
  install();
  heapFlagsForNextStart = heapMb > 0 ? [`--max-heap-size=${heapMb}`] : [];
  const mf = new Miniflare(withStdio(options, quiet));
  try {
    await mf.ready;
  } catch (e) {
    await mf.dispose().catch(() => {});
    throw e;
  } finally {
    heapFlagsForNextStart = [];
  }
  return mf;
}

/**
 * Restarts `mf`'s workerd with new `options` (new bindings), as configured above: its persisted
 * state stays, its connections close. Answers the URL it listens on.
 */
export async function reconfigure(mf, options, { heapMb = 0, quiet = false } = {}) {
  heapFlagsForNextStart = heapMb > 0 ? [`--max-heap-size=${heapMb}`] : [];
  try {
    await mf.setOptions(withStdio(options, quiet));
    return await mf.ready;
  } finally {
    heapFlagsForNextStart = [];
  }
}

function withStdio(options, quiet) {
  if (!quiet) return options;
  return {
    ...options,
    handleRuntimeStdio(stdout, stderr) {
      stdout.resume();
      stderr.resume();
    },
  };
}
