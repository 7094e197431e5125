/**
 * Export and import: documents as NDJSON, one per line in the REST form (`name`, `fields`,
 * `createTime`, `updateTime`), subcollections included.
 *
 * - Export reads pages of a kindless query (every collection at any depth, or the collection
 *   groups asked for) in `__name__` order, all at the first page's `readTime`: one consistent
 *   snapshot, whatever is written meanwhile. Only a page is held at a time.
 * - Import checks the whole input first (every line parsed, every batch checked by the server with
 *   `validateOnly`), so a bad line is reported with its number and nothing is written; then it
 *   writes batches with flarestore's `importDocuments`, which keeps each document's times. A
 *   batch written again changes nothing, so an interrupted import resumes from its checkpoint
 *   (or is simply run again) with the same result.
 */
import { createHash } from "node:crypto";
import { once } from "node:events";
import { createReadStream, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { CliError, relativePath } from "./client.mjs";

/** Documents per export page; per import batch (the server's limit); bytes per import batch. */
export const PAGE_SIZE = 1000;
export const BATCH_DOCUMENTS = 500;
export const BATCH_BYTES = 8 * 1024 * 1024;

function queries(collectionGroups) {
  const order = [{ field: { fieldPath: "__name__" }, direction: "ASCENDING" }];
  if (collectionGroups.length === 0) return [{ from: [{ allDescendants: true }], orderBy: order }];
  return collectionGroups.map((collectionId) => ({ from: [{ collectionId, allDescendants: true }], orderBy: order }));
}

/**
 * How many documents an export will write (for the progress bar), at `readTime`; undefined for a
 * whole database (Firestore does not count kindless queries).
 */
async function countAll(source, collectionGroups, readTime) {
  if (collectionGroups.length === 0) return undefined;
  let total = 0;
  for (const structuredQuery of queries(collectionGroups)) {
    const res = await source.call("POST", ":runAggregationQuery", {
      structuredAggregationQuery: { structuredQuery, aggregations: [{ alias: "n", count: {} }] },
      readTime,
    });
    total += Number(res[0]?.result?.aggregateFields?.n?.integerValue ?? 0);
  }
  return total;
}

/**
 * Reads every document of `source` (or of `collectionGroups`), calling `each(doc)` per document in
 * order (awaited: a slow consumer slows the reads). `onStart({ readTime, total })` comes first.
 */
export async function readAll(source, { collectionGroups = [], readTime, pageSize = PAGE_SIZE, onStart } = {}, each) {
  let snapshot = readTime;
  if (snapshot === undefined) {
    // One consistent snapshot: the read time of a first small read, then every page at it.
    const first = await source.call("POST", ":runQuery", {
      structuredQuery: { from: [{ allDescendants: true }], limit: 1 },
    });
    snapshot = first.find((r) => r.readTime)?.readTime;
    if (!snapshot) throw new CliError("The endpoint answered a query without a readTime.");
  }
  const total = await countAll(source, collectionGroups, snapshot);
  await onStart?.({ readTime: snapshot, total });
  let count = 0;
  for (const base of queries(collectionGroups)) {
    let after;
    for (;;) {
      const structuredQuery = {
        ...base,
        limit: pageSize,
        ...(after ? { startAt: { values: [{ referenceValue: after }], before: false } } : {}),
      };
      const page = await source.call("POST", ":runQuery", { structuredQuery, readTime: snapshot });
      const docs = page.filter((r) => r.document).map((r) => r.document);
      for (const doc of docs) {
        await each(doc);
        count++;
      }
      if (docs.length < pageSize) break;
      after = docs[docs.length - 1].name;
    }
  }
  return { readTime: snapshot, count, total };
}

/** One export line: the document as REST gives it, its four fields in a fixed order. */
export function exportLine(doc) {
  return `${JSON.stringify({
    name: doc.name,
    fields: doc.fields ?? {},
    createTime: doc.createTime,
    updateTime: doc.updateTime,
  })}\n`;
}

/** Writes `text` to `out`, waiting when its buffer is full (nothing piles up in memory). */
export async function writeTo(out, text) {
  if (!out.write(text)) await once(out, "drain");
}

/** An export line, parsed and checked; throws `line N: …`. */
function parseLine(text, line) {
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CliError(`line ${line}: not JSON (${e.message})`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new CliError(`line ${line}: expected a document object {"name", "fields", "createTime", "updateTime"}`);
  }
  const path = relativePath(doc.name);
  if (path === null) {
    throw new CliError(
      `line ${line}: "name" must be a document name (projects/…/databases/…/documents/collection/id…)`,
    );
  }
  for (const key of Object.keys(doc)) {
    if (!["name", "fields", "createTime", "updateTime"].includes(key)) {
      throw new CliError(`line ${line}: unknown field "${key}"`);
    }
  }
  for (const key of ["createTime", "updateTime"]) {
    if (typeof doc[key] !== "string") throw new CliError(`line ${line}: "${key}" is required (an import keeps it)`);
  }
  return { path, fields: doc.fields ?? {}, createTime: doc.createTime, updateTime: doc.updateTime };
}

/**
 * Gathers documents into batches of at most BATCH_DOCUMENTS and about BATCH_BYTES (at least one
 * each), handing each to `write` when the next would not fit, and the last on `flush()`.
 */
class Batcher {
  items = [];
  bytes = 0;

  constructor(write) {
    this.write = write;
  }

  async add(item, size) {
    if (this.items.length > 0 && (this.items.length >= BATCH_DOCUMENTS || this.bytes + size > BATCH_BYTES)) {
      await this.flush();
    }
    this.items.push(item);
    this.bytes += size;
  }

  async flush() {
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    this.bytes = 0;
    await this.write(items);
  }
}

/**
 * The input's documents in batches: `each(batch, lastLine)` per batch (see Batcher), each
 * document with its line number. Blank lines are skipped.
 */
async function batches(input, { skipLines = 0 }, each) {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const batcher = new Batcher((batch) => each(batch, batch[batch.length - 1].line));
  let line = 0;
  for await (const text of lines) {
    line++;
    if (line <= skipLines || text.trim() === "") continue;
    await batcher.add({ ...parseLine(text, line), line }, text.length);
  }
  await batcher.flush();
}

function request(target, batch, validateOnly) {
  return target
    .call(
      "POST",
      `/emulator/v1/projects/${encodeURIComponent(target.project)}/databases/${encodeURIComponent(target.database)}:importDocuments`,
      {
        documents: batch.map((d) => ({
          name: `${target.documentsRoot}/${d.path}`,
          fields: d.fields,
          createTime: d.createTime,
          updateTime: d.updateTime,
        })),
        ...(validateOnly ? { validateOnly: true } : {}),
      },
    )
    .catch((e) => {
      // The server names `documents[i]`: say which line that is.
      const m = /documents\[(\d+)\]/.exec(e.message);
      const doc = m ? batch[Number(m[1])] : undefined;
      throw new CliError(doc ? `line ${doc.line}: ${e.message}` : e.message);
    });
}

/** Where an import of `file` records how far it got (deleted when it completes). */
export function checkpointOf(file) {
  return `${file}.flarestore-import.json`;
}

/**
 * Imports the NDJSON file `file` ("-": standard input, checked as it is read, no resume) into
 * `target`. `progress(done, total)` after each batch. Answers `{ documents, written, unchanged,
 * resumedAfter }`.
 */
export async function importFile(target, file, { progress, onStart } = {}) {
  const open = () => (file === "-" ? process.stdin : createReadStream(file));
  let skipLines = 0;
  let fingerprint;
  if (file !== "-") {
    if (!existsSync(file)) throw new CliError(`${file} does not exist.`);
    const st = statSync(file);
    // The same file into the same database (endpoint, branch, project, database) resumes; anything else starts over.
    fingerprint = {
      file,
      size: st.size,
      mtimeMs: st.mtimeMs,
      endpoint: target.base,
      branch: target.branch ?? "",
      project: target.project,
      database: target.database,
    };
    const cp = checkpointOf(file);
    if (existsSync(cp)) {
      let saved = {};
      try {
        saved = JSON.parse(readFileSync(cp, "utf8"));
      } catch {
        // Unreadable: start over (an import run again writes nothing twice).
      }
      const same = Object.entries(fingerprint).every(([k, v]) => saved[k] === v);
      if (same && Number.isInteger(saved.linesDone)) skipLines = saved.linesDone;
    }
  }
  // First pass: every line read and checked by the server, nothing written.
  let total = 0;
  if (file !== "-") {
    await batches(open(), { skipLines }, async (batch) => {
      await request(target, batch, true);
      total += batch.length;
    });
  }
  await onStart?.({ total, resumedAfter: skipLines });
  let done = 0;
  let written = 0;
  let unchanged = 0;
  await batches(open(), { skipLines }, async (batch, lastLine) => {
    if (file === "-") await request(target, batch, true);
    const res = await request(target, batch, false);
    written += res.written;
    unchanged += res.unchanged;
    done += batch.length;
    if (fingerprint) {
      // Written aside and renamed: a run killed while writing it leaves the previous one whole.
      const cp = checkpointOf(file);
      writeFileSync(`${cp}.tmp`, JSON.stringify({ ...fingerprint, linesDone: lastLine }));
      renameSync(`${cp}.tmp`, cp);
    }
    progress?.(done, total);
  });
  if (fingerprint) rmSync(checkpointOf(file), { force: true });
  return { documents: done, written, unchanged, resumedAfter: skipLines };
}

/**
 * How documents are written into `target`: flarestore's `importDocuments` (times kept) where the
 * endpoint has it (and the token may use it), else plain commits (Cloud Firestore, the Firebase
 * emulator: each document gets the commit's time).
 */
export async function writerKind(target) {
  try {
    await request(target, [], true);
    return "import";
  } catch (e) {
    // No such endpoint there (Cloud Firestore, the Firebase emulator): plain commits.
    if (/\b(400|404|405|501)\b/.test(e.message)) return "commits";
    throw e;
  }
}

/** Writes `batch` (`{path, fields}`) into `target` with one plain commit (new times). */
export async function commitBatch(target, batch) {
  await target.call("POST", ":commit", {
    writes: batch.map((d) => ({ update: { name: `${target.documentsRoot}/${d.path}`, fields: d.fields } })),
  });
}

/**
 * Copies every document of `source` (or of `collectionGroups`) as of one read time into `target`,
 * in batches, without holding more than one. `writes`: "import" or "commits" (default: what
 * `target` has). Answers `{ readTime, count, writes }`.
 */
export async function copyAll(source, target, { collectionGroups = [], readTime, writes, onStart, progress } = {}) {
  const kind = writes ?? (await writerKind(target));
  let done = 0;
  const batcher = new Batcher(async (batch) => {
    if (kind === "import") await request(target, batch, false);
    else await commitBatch(target, batch);
    done += batch.length;
    progress?.(done);
  });
  const result = await readAll(source, { collectionGroups, readTime, onStart }, (doc) => {
    const fields = doc.fields ?? {};
    const item = { path: relativePath(doc.name), fields, createTime: doc.createTime, updateTime: doc.updateTime };
    return batcher.add(item, JSON.stringify(fields).length);
  });
  await batcher.flush();
  return { readTime: result.readTime, count: result.count, writes: kind };
}

/** A value in one spelling whatever server wrote it (defaults, timestamp and number forms, key order). */
function canonical(value) {
  if (value === null || typeof value !== "object") return value;
  const [[type, v]] = Object.entries(value);
  switch (type) {
    case "mapValue":
      return { m: canonicalFields(v?.fields ?? {}) };
    case "arrayValue":
      return { a: (v?.values ?? []).map(canonical) };
    case "timestampValue": {
      const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(v);
      if (!m) return { t: v };
      const seconds = Math.floor(Date.parse(`${m[1]}${m[3]}`) / 1000);
      return { t: `${seconds}.${(m[2] ?? "").padEnd(9, "0")}` };
    }
    case "doubleValue":
      return { d: String(Number(v)) };
    case "integerValue":
      return { i: String(BigInt(v)) };
    case "bytesValue":
      return { b: Buffer.from(v, "base64").toString("base64") };
    default:
      return { [type]: v };
  }
}

function canonicalFields(fields) {
  const out = {};
  for (const key of Object.keys(fields).sort()) out[key] = canonical(fields[key]);
  return out;
}

/**
 * Per collection id: how many documents, and a checksum of their paths and fields (the sum of a
 * SHA-256 prefix per document, so order does not matter). Times are left out: a copy into Cloud
 * Firestore gets new ones.
 */
export async function summarize(endpoint, { collectionGroups = [], readTime } = {}) {
  const collections = new Map();
  const result = await readAll(endpoint, { collectionGroups, readTime }, (doc) => {
    const path = relativePath(doc.name);
    const segments = path.split("/");
    const id = segments[segments.length - 2];
    const hash = createHash("sha256")
      .update(`${path}\n${JSON.stringify(canonicalFields(doc.fields ?? {}))}`)
      .digest();
    const entry = collections.get(id) ?? { count: 0, sum: 0n };
    entry.count++;
    entry.sum = (entry.sum + hash.readBigUInt64BE(0)) & 0xffffffffffffffffn;
    collections.set(id, entry);
  });
  const out = {};
  for (const id of [...collections.keys()].sort()) {
    const { count, sum } = collections.get(id);
    out[id] = { count, checksum: sum.toString(16).padStart(16, "0") };
  }
  return { readTime: result.readTime, collections: out };
}

/**
 * Writes `docs` (an iterable of `{ path, fields }`, as a Firebase emulator export holds them: no
 * times) into `target` with plain commits of up to 500 documents (and about 8 MB). A document
 * already as it is does not change. Answers how many.
 */
export async function writeAll(target, docs, { progress } = {}) {
  let done = 0;
  const batcher = new Batcher(async (batch) => {
    await commitBatch(target, batch);
    done += batch.length;
    progress?.(done);
  });
  for (const doc of docs) await batcher.add(doc, JSON.stringify(doc.fields).length);
  await batcher.flush();
  return done;
}
