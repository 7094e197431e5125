/**
 * A whole server's data as a folder, for `npm start -- --import DIR` and `--export-on-exit DIR`
 * (the Firebase emulator's flags): one NDJSON export per database,
 * `DIR/{branch}/{project}/{database}.ndjson`, beside `DIR/flarestore-export.json` (what wrote it
 * and when). Every database the registry lists is exported. `--import` also reads what
 * `firebase emulators:export` writes (cli/firebase-export.mjs).
 */
import { once } from "node:events";
import { createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CliError, Endpoint } from "./client.mjs";
import { firebaseExportDocuments, isFirebaseExport } from "./firebase-export.mjs";
import { exportLine, importFile, readAll, writeAll, writeTo } from "./transfer.mjs";

const METADATA = "flarestore-export.json";

/** Writes every database of the server at `endpoint` into `dir` (replacing what it held). */
export async function exportFolder(dir, { endpoint, token }) {
  const registry = new Endpoint({ endpoint, token, needsProject: false });
  const { databases } = await registry.call("GET", "/emulator/v1/branches");
  mkdirSync(dir, { recursive: true });
  let documents = 0;
  for (const d of databases) {
    const source = new Endpoint({ endpoint, token, project: d.project, database: d.database, branch: d.branch });
    const folder = join(dir, d.branch, d.project);
    mkdirSync(folder, { recursive: true });
    const file = join(folder, `${d.database}.ndjson`);
    // Written aside and renamed: an export cut short never replaces a good one.
    const out = createWriteStream(`${file}.partial`);
    const result = await readAll(source, {}, (doc) => writeTo(out, exportLine(doc)));
    out.end();
    await once(out, "finish");
    renameSync(`${file}.partial`, file);
    documents += result.count;
  }
  writeFileSync(
    join(dir, METADATA),
    `${JSON.stringify({ version: 1, exportedAt: new Date().toISOString(), databases: databases.length, documents }, null, 2)}\n`,
  );
  return { databases: databases.length, documents };
}

/**
 * Writes the Firestore documents of a folder `firebase emulators:export` wrote into the server at
 * `endpoint`: all into `project` (their references too) when given, else each into the project it
 * names; into `database` on `branch` (the server's own when not given). They carry no times, so
 * they are written now, with plain commits. Answers `{ projects, documents }`.
 */
export async function importFirebaseExport(dir, { endpoint, token, project, database, branch }) {
  const byProject = new Map();
  for (const doc of firebaseExportDocuments(dir, { project })) {
    const into = project ?? doc.project;
    const list = byProject.get(into) ?? [];
    list.push({ path: doc.path, fields: doc.fields });
    byProject.set(into, list);
  }
  let documents = 0;
  for (const [p, docs] of byProject) {
    documents += await writeAll(new Endpoint({ endpoint, token, project: p, database, branch }), docs);
  }
  return { projects: [...byProject.keys()], documents };
}

/**
 * Imports every `{branch}/{project}/{database}.ndjson` of `dir` into the server at `endpoint`; or,
 * from a folder `firebase emulators:export` wrote, its Firestore documents into the `(default)`
 * database of the project they name, on main (they carry no times: they are written now).
 */
export async function importFolder(dir, { endpoint, token }) {
  if (isFirebaseExport(dir)) {
    const { projects, documents } = await importFirebaseExport(dir, { endpoint, token });
    return { databases: projects.length, documents };
  }
  if (!existsSync(join(dir, METADATA))) {
    throw new CliError(
      `${dir} is neither a flarestore export (no ${METADATA}) nor a Firebase emulator export (no firebase-export-metadata.json).`,
    );
  }
  let databases = 0;
  let documents = 0;
  for (const branch of readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory())) {
    for (const project of readdirSync(join(dir, branch.name), { withFileTypes: true }).filter((e) => e.isDirectory())) {
      for (const file of readdirSync(join(dir, branch.name, project.name)).filter((f) => f.endsWith(".ndjson"))) {
        const target = new Endpoint({
          endpoint,
          token,
          project: project.name,
          database: file.slice(0, -".ndjson".length),
          branch: branch.name,
        });
        const result = await importFile(target, join(dir, branch.name, project.name, file));
        databases++;
        documents += result.documents;
      }
    }
  }
  return { databases, documents };
}
