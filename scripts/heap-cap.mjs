/**
 * Miniflare with a V8 heap limit, like the 128 MB a Durable Object's isolate has in production
 * (locally workerd sets none: garbage piles up, and a request that would run out of memory in
 * production succeeds). Used by `FLARESTORE_HEAP_MB=… npm start`, the memory benchmark and the
 * memory tests. Past the limit workerd aborts ("JavaScript heap out of memory") and every request
 * in flight fails.
 *
 * Miniflare has no option for V8 flags, but workerd's config has a `v8Flags` field. This wraps
 * `Runtime.prototype.updateConfig` (Miniflare's public `Runtime` class) to serialize the config
 * again with the flags added. The config object itself is caught on its way through
 * `JSON.stringify`, which Miniflare calls on it when `MINIFLARE_WORKERD_CONFIG_DEBUG` is set
 * (pointed at /dev/null here); a config that does not serialize to the bytes in hand is refused
 * rather than guessed at.
 */
import { Miniflare, Runtime, serializeConfig } from "miniflare";

let captured;
let flagsForNextStart = [];
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
    if (flagsForNextStart.length === 0) return updateConfig.call(this, buffer, ...rest);
    if (captured === undefined || Buffer.compare(serializeConfig(captured), buffer) !== 0) {
      throw new Error("heap-cap: could not find Miniflare's workerd config to add V8 flags to");
    }
    return updateConfig.call(this, serializeConfig({ ...captured, v8Flags: flagsForNextStart }), ...rest);
  };
}

/**
 * A ready Miniflare instance whose isolates may hold at most `heapMb` MB of V8 heap
 * (`--max-heap-size`, young and old generations together). `quiet` drops workerd's own output
 * (the report of each heap it ran out of).
 */
export async function miniflareWithHeapLimit(options, heapMb, { quiet = false } = {}) {
  install();
  flagsForNextStart = [`--max-heap-size=${heapMb}`];
  const mf = new Miniflare(
    quiet
      ? {
          ...options,
          handleRuntimeStdio(stdout, stderr) {
            stdout.resume();
            stderr.resume();
          },
        }
      : options,
  );
  try {
    await mf.ready;
  } catch (e) {
    await mf.dispose().catch(() => {});
    throw e;
  } finally {
    flagsForNextStart = [];
  }
  return mf;
}
