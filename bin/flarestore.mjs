#!/usr/bin/env node
/**
 * `npx flarestore …`: the command line around a flarestore database, local or deployed.
 *
 *   flarestore serve                       what `npm start` runs
 *   flarestore export [file]               a database as NDJSON (stdout without a file)
 *   flarestore import <file>               NDJSON back in, times kept ("-": stdin)
 *   flarestore clear --yes                 empties a database
 *
 * Each talks to `--endpoint` (default FIRESTORE_EMULATOR_HOST, else 127.0.0.1:8080) with
 * `--token` (default FLARESTORE_TOKEN, else `owner`, the local admin). Long work shows a progress
 * bar on a terminal and ends with a summary on stderr; any failure exits 1 with a message.
 */
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import cliProgress from "cli-progress";
import { Command, Option } from "commander";
import { CliError, Endpoint } from "../cli/client.mjs";
import { exportLine, importFile, readAll, writeTo } from "../cli/transfer.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * A progress bar on stderr when it is a terminal (nothing otherwise: logs stay clean). Without a
 * total (a whole database's export: Firestore cannot count it) it shows the count and the rate.
 */
function progressBar(what) {
  if (!process.stderr.isTTY) return { start() {}, update() {}, stop() {} };
  let bar;
  return {
    start(total, value, payload) {
      const format =
        total === undefined
          ? `${what} {value} documents | {speed} documents/s`
          : `${what} {bar} {percentage}% | {value}/{total} documents | {speed} documents/s | ETA {eta_formatted}`;
      bar = new cliProgress.SingleBar(
        { stream: process.stderr, format, hideCursor: true },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total ?? 0, value, payload);
    },
    update: (value, payload) => bar?.update(value, payload),
    stop: () => bar?.stop(),
  };
}

function rate(count, ms) {
  return ms > 0 ? Math.round((count * 1000) / ms) : count;
}

/** The options every command that talks to a database shares. */
function withDatabase(command) {
  return command
    .addOption(
      new Option("--endpoint <url>", "the server: a URL or host:port")
        .env("FIRESTORE_EMULATOR_HOST")
        .default("127.0.0.1:8080"),
    )
    .addOption(
      new Option("--token <token>", "bearer token (the admin secret when deployed)")
        .env("FLARESTORE_TOKEN")
        .default("owner"),
    )
    .addOption(new Option("--project <id>", "project id").env("GCLOUD_PROJECT"))
    .option("--database <id>", "database id", "(default)");
}

function endpointOf(opts) {
  return new Endpoint({ endpoint: opts.endpoint, token: opts.token, project: opts.project, database: opts.database });
}

const program = new Command()
  .name("flarestore")
  .description("Firestore's API on Cloudflare Workers: serve it, and move data in and out.")
  .showHelpAfterError();

program
  .command("serve")
  .description("serve the API on http://127.0.0.1:8080 (what `npm start` runs; PORT, HOST and FLARESTORE_* apply)")
  .allowUnknownOption()
  .action((_opts, command) => {
    const child = spawn(process.execPath, [join(root, "scripts", "serve.mjs"), ...command.args], { stdio: "inherit" });
    for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
    child.on("exit", (code) => process.exit(code ?? 1));
  });

withDatabase(
  program
    .command("export")
    .description("write every document (subcollections too) as NDJSON, consistent as of one read time")
    .argument("[file]", "where to write (standard output without one)")
    .option("--collection-groups <ids>", "only these collection groups (comma-separated)")
    .option("--read-time <time>", "export the database as it was then (RFC 3339, within the last hour)"),
).action(async (file, opts) => {
  const source = endpointOf(opts);
  const out = file ? createWriteStream(file) : process.stdout;
  const bar = progressBar("export");
  const started = Date.now();
  let done = 0;
  const result = await readAll(
    source,
    {
      collectionGroups: opts.collectionGroups ? opts.collectionGroups.split(",").filter(Boolean) : [],
      readTime: opts.readTime,
      onStart: ({ total }) => bar.start(total, 0, { speed: 0 }),
    },
    async (doc) => {
      await writeTo(out, exportLine(doc));
      done++;
      if (done % 100 === 0) bar.update(done, { speed: rate(done, Date.now() - started) });
    },
  );
  bar.update(result.count, { speed: rate(result.count, Date.now() - started) });
  bar.stop();
  if (file) await new Promise((resolve, reject) => out.end((e) => (e ? reject(e) : resolve())));
  const ms = Date.now() - started;
  console.error(
    `exported ${result.count} documents of ${source.databaseName} as of ${result.readTime} in ${(ms / 1000).toFixed(1)} s (${rate(result.count, ms)} documents/s)${file ? ` to ${file}` : ""}`,
  );
});

withDatabase(
  program
    .command("import")
    .description(
      "write the documents of an NDJSON export, keeping their times (checks the whole file first; resumes where an interrupted run stopped)",
    )
    .argument("<file>", 'an export ("-": standard input, checked batch by batch)'),
).action(async (file, opts) => {
  const target = endpointOf(opts);
  const bar = progressBar("import");
  const started = Date.now();
  let done = 0;
  try {
    const result = await importFile(target, file, {
      onStart: ({ total, resumedAfter }) => {
        if (resumedAfter > 0) console.error(`resuming after line ${resumedAfter} (an earlier run got that far)`);
        bar.start(total, 0, { speed: 0 });
      },
      progress: (n) => {
        done = n;
        bar.update(n, { speed: rate(n, Date.now() - started) });
      },
    });
    bar.stop();
    const ms = Date.now() - started;
    console.error(
      `imported ${result.documents} documents into ${target.databaseName} in ${(ms / 1000).toFixed(1)} s (${rate(result.documents, ms)} documents/s): ${result.written} written, ${result.unchanged} already there`,
    );
  } catch (e) {
    bar.stop();
    if (done > 0 && e instanceof CliError) {
      throw new CliError(
        `${e.message}\n${done} documents before it were imported; run the same command again to go on.`,
      );
    }
    throw e;
  }
});

withDatabase(
  program
    .command("clear")
    .description("delete every document of a database (its security rules stay)")
    .option("--yes", "yes, delete everything"),
).action(async (opts) => {
  const target = endpointOf(opts);
  if (!opts.yes) throw new CliError(`This deletes every document of ${target.databaseName}: pass --yes to do it.`);
  await target.call(
    "DELETE",
    `/emulator/v1/projects/${encodeURIComponent(target.project)}/databases/${encodeURIComponent(target.database)}/documents`,
  );
  console.error(`cleared ${target.databaseName}`);
});

try {
  await program.parseAsync();
} catch (e) {
  if (!(e instanceof CliError)) throw e;
  console.error(`flarestore: ${e.message}`);
  process.exit(1);
}
