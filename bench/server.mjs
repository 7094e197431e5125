/**
 * What the benchmark sections that need a server of their own share (sections 8-10): a Miniflare
 * started as `npm start` starts it (its own temporary data folder, a real port), and the helpers for
 * their knobs and latency quantiles.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DURABLE_OBJECTS, startMiniflare } from "../scripts/workerd-config.mjs";

/** A positive whole number from the environment variable `name`, else `fallback`. */
export const num = (name, fallback) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : fallback;
};

/** The `q` quantile of ascending `sorted` values (NaN when empty). */
export const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;

/**
 * Runs `work(mf, url)` against a fresh server on 127.0.0.1 (an ephemeral port) holding the Worker
 * at `scriptPath`, then disposes of it and its data folder.
 */
export async function withServer({ scriptPath, common }, name, work) {
  const dataDir = mkdtempSync(join(tmpdir(), `flarestore-bench-${name}-`));
  const mf = await startMiniflare({
    ...common,
    scriptPath,
    durableObjects: DURABLE_OBJECTS,
    durableObjectsPersist: dataDir,
    host: "127.0.0.1",
    port: 0,
  });
  try {
    return await work(mf, await mf.ready);
  } finally {
    await mf.dispose().catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  }
}
