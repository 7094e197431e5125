/**
 * Moving data (section 11 of `npm run bench`, `BENCH_ONLY=transfer`): export and import throughput
 * (documents/s) for BENCH_TRANSFER_DOCS documents (100,000 by default), and the time a fork of
 * 10,000 and of all of them takes, each against a plain paged read of the same documents in the
 * same run (runQuery pages of 1,000 over the collection): the baseline.
 *
 * Export is `flarestore export`'s reader (a kindless query at one read time, pages of 1,000) writing
 * NDJSON to a file; import is `flarestore import` of that file (the whole file checked first, then
 * batches of 500 with their own times) into another project; a fork copies between Durable Objects
 * in the target's alarm, the CLI polling it. Documents are about 200 bytes of fields.
 */

import { once } from "node:events";
import { createWriteStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Endpoint } from "../cli/client.mjs";
import { exportLine, importFile, readAll, writeTo } from "../cli/transfer.mjs";
import { num, withServer } from "./server.mjs";

const DOCS = num("BENCH_TRANSFER_DOCS", 100_000);
const SMALL_FORK = Math.min(10_000, DOCS);

function doc(i) {
  return {
    n: { integerValue: String(i) },
    title: { stringValue: `document number ${i} of the transfer benchmark` },
    tags: { arrayValue: { values: [{ stringValue: "a" }, { stringValue: "b" }, { stringValue: "c" }] } },
    at: { timestampValue: "2026-01-01T00:00:00Z" },
    nested: { mapValue: { fields: { x: { doubleValue: i / 3 }, y: { booleanValue: i % 2 === 0 } } } },
  };
}

async function seed(url, project, count) {
  const name = (i) => `projects/${project}/databases/(default)/documents/items/d${String(i).padStart(7, "0")}`;
  const batches = [];
  for (let start = 0; start < count; start += 500) batches.push(start);
  // Four commits at a time: seeding is not what is measured.
  for (let k = 0; k < batches.length; k += 4) {
    await Promise.all(
      batches.slice(k, k + 4).map(async (start) => {
        const writes = [];
        for (let i = start; i < Math.min(count, start + 500); i++)
          writes.push({ update: { name: name(i), fields: doc(i) } });
        const res = await fetch(`${url}v1/projects/${project}/databases/(default)/documents:commit`, {
          method: "POST",
          body: JSON.stringify({ writes }),
        });
        if (!res.ok) throw new Error(`seed: ${res.status} ${await res.text()}`);
      }),
    );
  }
}

/** The baseline: every document of the collection, in pages of 1,000, by name. */
async function pagedRead(url, project, count) {
  let after;
  let read = 0;
  for (;;) {
    const structuredQuery = {
      from: [{ collectionId: "items" }],
      orderBy: [{ field: { fieldPath: "__name__" } }],
      limit: 1000,
      ...(after ? { startAt: { values: [{ referenceValue: after }], before: false } } : {}),
    };
    const res = await fetch(`${url}v1/projects/${project}/databases/(default)/documents:runQuery`, {
      method: "POST",
      body: JSON.stringify({ structuredQuery }),
    });
    const docs = (await res.json()).filter((r) => r.document).map((r) => r.document);
    read += docs.length;
    if (docs.length < 1000) break;
    after = docs[docs.length - 1].name;
  }
  if (read !== count) throw new Error(`paged read: ${read} documents, expected ${count}`);
}

async function fork(url, project, to) {
  const path = `/emulator/v1/branches/${to}/projects/${project}/databases/(default):fork`;
  const call = async (method, body) => {
    const res = await fetch(`${url.origin}${path}`, { method, body: body && JSON.stringify(body) });
    return res.json();
  };
  let status = await call("POST", { source: { branch: "main" } });
  while (status.state === "copying") {
    await new Promise((r) => setTimeout(r, 50));
    status = await call("GET");
  }
  if (status.state !== "done") throw new Error(`fork: ${JSON.stringify(status)}`);
  return status.copied;
}

const rate = (n, ms) => Math.round((n * 1000) / ms);

export async function transferBench(ctx) {
  console.log(
    `\n11. Moving data: export, import and fork of ${DOCS.toLocaleString("en-US")} documents (~200 B each) vs a plain paged read (runQuery pages of 1,000), one server`,
  );
  const dir = mkdtempSync(join(tmpdir(), "flarestore-bench-transfer-"));
  try {
    await withServer(ctx, "transfer", async (_mf, url) => {
      const endpoint = url.origin;
      const t = performance.now();
      await seed(url, "source", DOCS);
      await seed(url, "small", SMALL_FORK);
      console.log(`   seeded in ${((performance.now() - t) / 1000).toFixed(1)} s`);

      const timed = async (label, n, fn) => {
        const started = performance.now();
        await fn();
        const ms = performance.now() - started;
        return { label, n, ms, rate: rate(n, ms) };
      };
      const baseline = await timed("paged read (baseline)", DOCS, () => pagedRead(url, "source", DOCS));
      const file = join(dir, "export.ndjson");
      const exported = await timed("export (NDJSON file)", DOCS, async () => {
        const out = createWriteStream(file);
        const source = new Endpoint({ endpoint, token: "owner", project: "source" });
        const r = await readAll(source, {}, (d) => writeTo(out, exportLine(d)));
        out.end();
        await once(out, "finish");
        if (r.count !== DOCS) throw new Error(`export: ${r.count} documents`);
      });
      const imported = await timed("import (checked, then written)", DOCS, async () => {
        const target = new Endpoint({ endpoint, token: "owner", project: "copy" });
        const r = await importFile(target, file);
        if (r.written !== DOCS) throw new Error(`import: ${JSON.stringify(r)}`);
      });
      const smallFork = await timed(`fork of ${SMALL_FORK.toLocaleString("en-US")}`, SMALL_FORK, async () => {
        if ((await fork(url, "small", "bench-small")) !== SMALL_FORK) throw new Error("small fork: wrong count");
      });
      const bigFork = await timed(`fork of ${DOCS.toLocaleString("en-US")}`, DOCS, async () => {
        if ((await fork(url, "source", "bench-big")) !== DOCS) throw new Error("fork: wrong count");
      });
      for (const r of [baseline, exported, imported, smallFork, bigFork]) {
        const ratio = r === baseline ? "" : `  (ratio to the paged read: ${(r.rate / baseline.rate).toFixed(2)})`;
        console.log(
          `   ${r.label.padEnd(34)} ${(r.ms / 1000).toFixed(2).padStart(7)} s  ${String(r.rate).padStart(7)} documents/s${ratio}`,
        );
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
