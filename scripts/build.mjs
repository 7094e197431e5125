#!/usr/bin/env node
// Bundles the Worker exactly as `wrangler deploy` would (into dist/), offline and quietly.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");

export const quietWranglerEnv = {
  ...process.env,
  CI: "true",
  WRANGLER_SEND_METRICS: "false",
  CLOUDFLARE_CF_FETCH_ENABLED: "false",
  WRANGLER_HIDE_BANNER: "true",
};

export function build() {
  const wrangler = join(root, "node_modules", "wrangler", "bin", "wrangler.js");
  const result = spawnSync(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", "dist"], {
    cwd: root,
    env: quietWranglerEnv,
    encoding: "utf8",
  });
  if (result.status !== 0) {
    process.stderr.write(result.stdout + result.stderr);
    throw new Error("wrangler build failed");
  }
  return join(root, "dist", "index.js");
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(`built ${build()}`);
}
