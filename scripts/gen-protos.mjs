#!/usr/bin/env node
/**
 * Generates the protobuf code of `google.firestore.v1` (and what it imports: google.api, google.rpc,
 * google.type) with `buf` and `protoc-gen-es` (@bufbuild/protobuf's generator) from the official
 * protos, as Google ships them in `@google-cloud/firestore` (build/protos, pinned by package.json).
 * The output, `src/grpc/gen/`, is committed so that a deploy needs no generator; it is never edited
 * by hand, and `test/unit/grpc-gen.test.ts` fails when it differs from what this script writes.
 *
 *   node scripts/gen-protos.mjs [outDir]    (default: src/grpc/gen)
 */
import { spawnSync } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const PROTOS = join(root, "node_modules", "@google-cloud", "firestore", "build", "protos");
export const GEN_DIR = join(root, "src", "grpc", "gen");

/** Writes the generated code into `out` (emptied first). */
export function generate(out = GEN_DIR) {
  rmSync(out, { recursive: true, force: true });
  const template = {
    version: "v2",
    plugins: [
      { local: join(root, "node_modules", ".bin", "protoc-gen-es"), out, opt: ["target=ts", "import_extension=js"] },
    ],
  };
  const buf = join(root, "node_modules", ".bin", "buf");
  const result = spawnSync(
    buf,
    [
      "generate",
      PROTOS,
      "--path",
      join(PROTOS, "google", "firestore", "v1"),
      "--include-imports",
      "--template",
      JSON.stringify(template),
    ],
    { cwd: root, encoding: "utf8" },
  );
  if (result.status !== 0) throw new Error(`buf generate failed: ${result.stderr || result.error}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2] ? resolve(process.argv[2]) : GEN_DIR;
  generate(out);
  console.log(`generated ${out}`);
}
