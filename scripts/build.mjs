#!/usr/bin/env node
// Bundles the Worker exactly as `wrangler deploy` would (into dist/), offline and quietly.
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export const quietWranglerEnv = {
  ...process.env,
  CI: "true",
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_HIDE_BANNER: "true",
};

/**
 * `bundleRules: false` does not read the project's rules into the bundle (`npm start` and the
 * benchmarks hand them to the Worker at start-up instead, `FLARESTORE_RULES_SOURCE`, which takes
 * precedence over whatever the bundle carries; see scripts/rules-module.mjs).
 */
export function build({ bundleRules = true } = {}) {
  const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  const dist = join(root, "dist");
  mkdirSync(dist, { recursive: true });
  // Built in a private sibling of dist/ and renamed into it file by file (atomic): servers started
  // at the same time (the e2e suite's, a crash test's restarts) never read a half-written bundle.
  // Same depth as dist/, so the source map's relative paths hold; its sourceRoot names the folder.
  const staging = relative(root, mkdtempSync(join(root, ".dist-")));
  try {
    // Without the rules, wrangler.toml's [build] command leaves their module as it is (a server
    // hands the Worker its rules at start-up, and they take precedence over any bundled ones).
    const result = spawnSync(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", staging], {
      cwd: root,
      env: bundleRules ? quietWranglerEnv : { ...quietWranglerEnv, FLARESTORE_BUILD_RULES: "off" },
      encoding: "utf8",
    });
    if (result.status !== 0) {
      process.stderr.write(result.stdout + result.stderr);
      throw new Error("wrangler build failed");
    }
    const map = join(root, staging, "index.js.map");
    if (existsSync(map)) {
      const json = JSON.parse(readFileSync(map, "utf8"));
      if (json.sourceRoot === staging) writeFileSync(map, JSON.stringify({ ...json, sourceRoot: "dist" }, null, 2));
    }
    for (const file of readdirSync(join(root, staging))) renameSync(join(root, staging, file), join(dist, file));
  } finally {
    rmSync(join(root, staging), { recursive: true, force: true });
  }
  return join(dist, "index.js");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`built ${build()}`);
}
