#!/usr/bin/env node
/**
 * `npx flarestore …`: the command line around a flarestore database, local or deployed.
 *
 *   flarestore serve                       what `npm start` runs
 *   flarestore export [file]               a database as NDJSON (stdout without a file)
 *   flarestore import <file>               NDJSON back in, times kept ("-": stdin)
 *   flarestore copy --from-endpoint …      any Firestore endpoint into another, then checks both
 *   flarestore clear --yes                 empties a database
 *   flarestore branch list|fork|delete     preview databases per branch
 *
 * Each talks to `--endpoint` (default FIRESTORE_EMULATOR_HOST, else 127.0.0.1:8080) with
 * `--token` (default FLARESTORE_TOKEN, else `owner`, the local admin). Long work shows a progress
 * bar on a terminal and ends with a summary on stderr; any failure exits 1 with a message.
 */
import { spawn } from "node:child_process";
import { createWriteStream, existsSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import cliProgress from "cli-progress";
import { Command, Option } from "commander";
import { CliError, Endpoint } from "../cli/client.mjs";
import { isFirebaseExport } from "../cli/firebase-export.mjs";
import { importFirebaseExport } from "../cli/folders.mjs";
import { copyAll, exportLine, importFile, readAll, summarize, writeTo } from "../cli/transfer.mjs";

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
    .option("--database <id>", "database id", "(default)")
    .addOption(
      new Option("--branch <name>", "flarestore branch (default: the endpoint's own)").env("FLARESTORE_BRANCH"),
    );
}

function endpointOf(opts, extra = {}) {
  return new Endpoint({
    endpoint: opts.endpoint,
    token: opts.token,
    project: opts.project,
    database: opts.database,
    branch: opts.branch,
    ...extra,
  });
}

const program = new Command()
  .name("flarestore")
  .description("Firestore's API on Cloudflare Workers: serve it, and move data in and out.")
  .showHelpAfterError();

program
  .command("serve")
  .description(
    "serve the API on http://127.0.0.1:8080 (what `npm start` runs; PORT, HOST and FLARESTORE_* apply; --import DIR, --export-on-exit DIR)",
  )
  .allowUnknownOption()
  .allowExcessArguments()
  .helpOption(false)
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
    .argument(
      "<file>",
      'an export ("-": standard input, checked batch by batch), or a folder `firebase emulators:export` wrote',
    ),
).action(async (file, opts) => {
  if (file !== "-" && existsSync(file) && statSync(file).isDirectory()) {
    if (!isFirebaseExport(file)) {
      throw new CliError(
        `${file} is a folder, but not one \`firebase emulators:export\` wrote (no firebase-export-metadata.json).`,
      );
    }
    const started = Date.now();
    const { projects, documents } = await importFirebaseExport(file, {
      endpoint: opts.endpoint,
      token: opts.token,
      project: opts.project,
      database: opts.database,
      branch: opts.branch,
    });
    const ms = Date.now() - started;
    const into = projects.map((p) => `projects/${p}/databases/${opts.database}`).join(", ") || "no database";
    console.error(
      `imported ${documents} documents of a Firebase emulator export into ${into} in ${(ms / 1000).toFixed(1)} s`,
    );
    return;
  }
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
    .command("copy")
    .description(
      "copy a database from any Firestore endpoint (Cloud Firestore, an emulator, flarestore) into the target, as of one read time, then compare document counts and checksums per collection",
    )
    .requiredOption("--from-endpoint <url>", "the source: https://firestore.googleapis.com, host:port, …")
    .addOption(
      new Option("--from-token <token>", "the source's bearer token (a Google access token for Cloud Firestore)").env(
        "FLARESTORE_FROM_TOKEN",
      ),
    )
    .requiredOption("--from-project <id>", "the source's project id")
    .option("--from-database <id>", "the source's database id", "(default)")
    .option("--from-branch <name>", "the source's flarestore branch")
    .option("--collection-groups <ids>", "only these collection groups (comma-separated)")
    .option("--read-time <time>", "copy the source as it was then (RFC 3339)")
    .addOption(
      new Option(
        "--writes <how>",
        "import: keep times (flarestore targets); commits: plain writes (default: what the target has)",
      ).choices(["import", "commits"]),
    )
    .option("--no-verify", "skip the comparison after the copy"),
).action(async (opts) => {
  const source = new Endpoint({
    endpoint: opts.fromEndpoint,
    token: opts.fromToken,
    project: opts.fromProject,
    database: opts.fromDatabase,
    branch: opts.fromBranch,
  });
  const target = endpointOf(opts);
  const collectionGroups = opts.collectionGroups ? opts.collectionGroups.split(",").filter(Boolean) : [];
  const bar = progressBar("copy");
  const started = Date.now();
  const copied = await copyAll(source, target, {
    collectionGroups,
    readTime: opts.readTime,
    writes: opts.writes,
    onStart: ({ total }) => bar.start(total, 0, { speed: 0 }),
    progress: (n) => bar.update(n, { speed: rate(n, Date.now() - started) }),
  });
  bar.stop();
  const ms = Date.now() - started;
  console.error(
    `copied ${copied.count} documents of ${source.databaseName} (as of ${copied.readTime}) into ${target.databaseName} in ${(ms / 1000).toFixed(1)} s (${rate(copied.count, ms)} documents/s, ${copied.writes === "import" ? "times kept" : "plain commits: new times"})`,
  );
  if (!opts.verify) return;
  const [from, to] = await Promise.all([
    summarize(source, { collectionGroups, readTime: copied.readTime }),
    summarize(target, { collectionGroups }),
  ]);
  const ids = [...new Set([...Object.keys(from.collections), ...Object.keys(to.collections)])].sort();
  const wrong = [];
  for (const id of ids) {
    const a = from.collections[id] ?? { count: 0, checksum: "-" };
    const b = to.collections[id] ?? { count: 0, checksum: "-" };
    const same = a.count === b.count && a.checksum === b.checksum;
    if (!same) wrong.push(id);
    console.error(
      `  ${same ? "ok  " : "DIFF"} ${id}: ${a.count} → ${b.count} documents, checksum ${a.checksum} → ${b.checksum}`,
    );
  }
  if (wrong.length > 0) {
    throw new CliError(
      `the copy differs from its source in ${wrong.join(", ")} (the target held other documents, or was written meanwhile)`,
    );
  }
  console.error(`verified: ${ids.length} collection(s), counts and checksums equal`);
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

const branch = program.command("branch").description("preview databases: one set per branch");

withDatabase(branch.command("list").description("the branches and their databases (from the registry)")).action(
  async (opts) => {
    const registry = endpointOf(opts, { needsProject: false, branch: undefined });
    const { databases } = await registry.call(
      "GET",
      `/emulator/v1/branches${opts.branch ? `?branch=${encodeURIComponent(opts.branch)}` : ""}`,
    );
    for (const d of databases) {
      console.log(
        `${d.branch}\tprojects/${d.project}/databases/${d.database}${d.forkedFrom ? `\tforked from ${d.forkedFrom}` : ""}`,
      );
    }
    if (databases.length === 0) console.error("no databases yet");
  },
);

withDatabase(
  branch
    .command("fork")
    .description(
      "copy databases of one branch into another, as of one read time (every database of --from, or --project's)",
    )
    .argument("<branch>", "the branch to create")
    .requiredOption("--from <branch>", "the branch to copy")
    .option("--read-time <time>", "copy the source as it was then (RFC 3339, within the last hour)"),
).action(async (to, opts) => {
  const registry = endpointOf(opts, { needsProject: false, branch: undefined });
  let sources;
  if (opts.project) sources = [{ project: opts.project, database: opts.database }];
  else {
    const { databases } = await registry.call("GET", `/emulator/v1/branches?branch=${encodeURIComponent(opts.from)}`);
    sources = databases;
    if (sources.length === 0) throw new CliError(`Branch ${opts.from} has no databases to fork.`);
  }
  const started = Date.now();
  let total = 0;
  for (const s of sources) {
    const path = `/emulator/v1/branches/${encodeURIComponent(to)}/projects/${encodeURIComponent(s.project)}/databases/${encodeURIComponent(s.database)}:fork`;
    let status = await registry.call("POST", path, {
      source: { branch: opts.from, project: s.project, database: s.database },
      ...(opts.readTime ? { readTime: opts.readTime } : {}),
    });
    const bar = progressBar(`fork ${s.project}/${s.database}`);
    bar.start(undefined, 0, { speed: 0 });
    while (status.state === "copying") {
      await new Promise((r) => setTimeout(r, 250));
      status = await registry.call("GET", path);
      bar.update(status.copied, { speed: rate(status.copied, Date.now() - started) });
    }
    bar.stop();
    if (status.state === "failed") throw new CliError(`The fork of ${s.project}/${s.database} failed: ${status.error}`);
    total += status.copied;
    console.error(
      `forked ${status.source.branch}:${status.source.database} into ${to} as of ${status.readTime}: ${status.copied} documents`,
    );
  }
  const ms = Date.now() - started;
  console.error(
    `forked ${sources.length} database(s), ${total} documents, in ${(ms / 1000).toFixed(1)} s (${rate(total, ms)} documents/s)`,
  );
});

withDatabase(
  branch
    .command("delete")
    .description("delete every database of a branch, freeing their storage (not main)")
    .argument("<branch>", "the branch to delete")
    .option("--yes", "yes, delete its databases"),
).action(async (name, opts) => {
  const registry = endpointOf(opts, { needsProject: false, branch: undefined });
  if (!opts.yes) throw new CliError(`This deletes every database of branch ${name}: pass --yes to do it.`);
  const res = await registry.call("DELETE", `/emulator/v1/branches/${encodeURIComponent(name)}`);
  console.error(
    `deleted branch ${res.branch}: ${res.deleted.length} database(s)${res.deleted.length ? ` (${res.deleted.join(", ")})` : ""}`,
  );
});

try {
  await program.parseAsync();
} catch (e) {
  if (!(e instanceof CliError)) throw e;
  console.error(`flarestore: ${e.message}`);
  process.exit(1);
}
