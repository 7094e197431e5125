import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Miniflare } from "miniflare";
const dataDir = mkdtempSync(join(tmpdir(), "qb-"));
const mf = new Miniflare({
  durableObjectsPersist: join(dataDir, "do"),
  workers: [{ modules: true, compatibilityDate: "2026-04-26", compatibilityFlags: ["nodejs_compat"], name: "flarestore", scriptPath: "dist/index.js", durableObjects: { DATABASE: { className: "DatabaseDO", useSQLite: true } } }],
});
await mf.ready;
const DOCS = "http://localhost/v1/projects/bench-x/databases/(default)/documents";
const N = Number(process.argv[2] ?? 10000);
let t = performance.now();
for (let b = 0; b < N; b += 500) {
  const writes = [];
  for (let i = b; i < Math.min(N, b + 500); i++) {
    writes.push({ update: { name: `projects/bench-x/databases/(default)/documents/items/d${String(i).padStart(6, "0")}`, fields: {
      category: { stringValue: `cat-${i % 50}` }, n: { integerValue: String((i * 7919) % N) }, score: { doubleValue: Math.random() }, tag: { stringValue: `t${i % 10}` }, arr: { arrayValue: { values: [{ integerValue: String(i % 7) }, { stringValue: `x${i % 13}` }] } }, kind: { stringValue: i % 1000 === 3 ? "rare-a" : "common" } } } });
  }
  const r = await mf.dispatchFetch(`${DOCS}:commit`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ writes }) });
  const txt = await r.text();
  if (r.status !== 200) { console.log(r.status, txt.slice(0, 300)); break; }
}
const dt = performance.now() - t;
console.log(`seeded ${N} in ${dt.toFixed(0)} ms = ${(N / dt * 1000).toFixed(0)} docs/s`);
const ns = await mf.getDurableObjectNamespace("DATABASE");
const stub = ns.get(ns.idFromName("bench-x/(default)"));
const q = { parent: "", collectionId: "items", allDescendants: false, filter: { kind: "field", field: ["category"], op: "EQUAL", value: { stringValue: "cat-7" } }, orderBy: [{ field: ["n"], descending: true }, { field: ["__name__"], descending: true }], offset: 0, limit: 20 };
for (const plan of [undefined, "scan", undefined, "scan"]) {
  t = performance.now();
  const res = await stub.runQuery("projects/bench-x/databases/(default)", { query: q, consistency: { kind: "latest" }, plan, explain: { analyze: true } });
  console.log(plan, (performance.now() - t).toFixed(1), res.ok?.documents.length, JSON.stringify(res.ok?.explain ?? res.error));
}
const body = JSON.stringify({ structuredQuery: { from: [{ collectionId: "items" }], where: { fieldFilter: { field: { fieldPath: "category" }, op: "EQUAL", value: { stringValue: "cat-7" } } }, orderBy: [{ field: { fieldPath: "n" }, direction: "DESCENDING" }], limit: 20 }, explainOptions: { analyze: true } });
for (let k = 0; k < 3; k++) {
  t = performance.now();
  const r = await mf.dispatchFetch(`${DOCS}:runQuery`, { method: "POST", headers: { "content-type": "application/json" }, body });
  const arr = JSON.parse(await r.text());
  console.log("rest", (performance.now() - t).toFixed(1), arr.length, JSON.stringify(arr.at(-1).explainMetrics));
}
await mf.dispose();
rmSync(dataDir, { recursive: true, force: true });
