#!/usr/bin/env node
/**
 * `npm run crash -- --rounds 50`: kills `npm start` (SIGKILL, node and workerd) in the middle of a
 * mixed load of commits, batch writes and transactions from several clients, many times over, and
 * checks after each restart that nothing acknowledged was lost, no commit is half applied, locks
 * of transactions in flight become free, list-append histories stay serializable and readTime
 * reads still answer as before. Prints one line per round and a summary; exits 1 on a violation.
 * Only 127.0.0.1, a temporary data folder (removed unless --keep-data), and it stops by itself.
 *
 * Options: --rounds N (20) --load-ms MIN-MAX (1000-3000) --think-ms N (4) --recheck N (300)
 *          --budget-min N (60) --keep-data --json FILE (the per-round figures)
 *
 * The harness is TypeScript (test/crash/), shared with test/e2e/crash.test.ts; it is bundled
 * here with esbuild into .tmp/ (packages stay external and resolve from node_modules), loaded, and
 * the bundle removed.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import * as esbuild from "esbuild";
import { quietWranglerEnv, root } from "./build.mjs";

const args = process.argv.slice(2);
function option(name, fallback) {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = args[i + 1];
  if (value === undefined || value.startsWith("--")) throw new Error(`--${name} needs a value`);
  return value;
}
const positive = (name, fallback) => {
  const n = Number(option(name, fallback));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
};

const rounds = positive("rounds", 20);
const [minLoad, maxLoad] = option("load-ms", "1000-3000").split("-").map(Number);
if (!(minLoad > 0 && maxLoad >= minLoad)) throw new Error("--load-ms must be MIN-MAX in ms");
const thinkMs = Number(option("think-ms", 4));
const recheckUnits = positive("recheck", 300);
const budgetMs = positive("budget-min", 60) * 60_000;
const jsonFile = option("json", undefined);

// The server the harness spawns runs wrangler's build: keep it quiet and offline.
Object.assign(process.env, quietWranglerEnv);

const outDir = join(root, ".tmp");
mkdirSync(outDir, { recursive: true });
const outfile = join(outDir, "crash-harness.mjs");
await esbuild.build({
  entryPoints: [join(root, "test", "crash", "harness.ts")],
  bundle: true,
  packages: "external",
  format: "esm",
  platform: "node",
  target: "node20",
  outfile,
  logLevel: "warning",
});
const { runCrashLoop, summarize } = await import(pathToFileURL(outfile).href);
rmSync(outfile, { force: true }); // loaded; no generated file is left behind

// Ctrl-C: the harness's exit hook SIGKILLs the server's process group.
process.once("SIGINT", () => process.exit(130));
process.once("SIGTERM", () => process.exit(143));

console.log(`crash loop: ${rounds} rounds, load ${minLoad}-${maxLoad} ms before each SIGKILL`);
const result = await runCrashLoop({
  rounds,
  loadMs: [minLoad, maxLoad],
  thinkMs,
  recheckUnits,
  budgetMs,
  keepData: args.includes("--keep-data"),
  log: (line) => console.log(line),
});
console.log("");
console.log(summarize(result));
if (jsonFile) writeFileSync(jsonFile, JSON.stringify(result, null, 2));
if (result.violations.length > 0) {
  console.log("\nviolations:");
  for (const v of result.violations.slice(0, 50)) console.log(`  round ${v.round} [${v.check}] ${v.detail}`);
}
// Abandoned client retries (aimed at dead ports) must not keep the process alive.
process.exit(result.violations.length > 0 ? 1 : 0);
