#!/usr/bin/env node
/**
 * Generates the security rules parser (src/rules/gen/parser.js and its .d.ts) from the grammar,
 * src/rules/rules.peggy, with peggy. The output is committed so that a deploy needs no generator;
 * it is never edited by hand, and test/unit/rules-parse.test.ts fails when it differs from what this
 * script writes.
 *
 *   node scripts/gen-rules-parser.mjs [outDir]    (default: src/rules/gen)
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const GRAMMAR = join(root, "src", "rules", "rules.peggy");
export const RULES_GEN_DIR = join(root, "src", "rules", "gen");

/** Writes parser.js and parser.d.ts into `out` (emptied first). */
export function generateRulesParser(out = RULES_GEN_DIR) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const peggy = join(root, "node_modules", "peggy", "bin", "peggy.js");
  const result = spawnSync(
    process.execPath,
    [peggy, "--format", "es", "--dts", "--output", join(out, "parser.js"), GRAMMAR],
    { cwd: root, encoding: "utf8" },
  );
  if (result.status !== 0) throw new Error(`peggy failed: ${result.stderr || result.error}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ? resolve(process.argv[2]) : RULES_GEN_DIR;
  generateRulesParser(out);
  console.log(`generated ${out}`);
}
