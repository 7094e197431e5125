/**
 * Running one random query on the server and on the reference evaluator, comparing, classifying
 * the plan the engine chose, and shrinking failing queries to a minimal reproduction.
 */
import { createExecutionContext, env, runInDurableObject, SELF } from "cloudflare:test";
import { createApp } from "../../../src/app.js";
import type { DatabaseRef } from "../../../src/model/path.js";
import { timestampToMicros } from "../../../src/model/timestamp.js";
import type { Fields, Value } from "../../../src/model/types.js";
import { aggregate, decodeAggregations } from "../../../src/query/aggregate.js";
import { inScope, runQuery } from "../../../src/query/evaluate.js";
import { decodeStructuredQuery } from "../../../src/query/normalize.js";
import type { Aggregation, NormalizedQuery, QueryDoc } from "../../../src/query/types.js";
import { type Api, newApi } from "../helpers.js";
import type { Json } from "./queries.js";

// ---------------------------------------------------------------------------------------------
// The REST API, called in-process

const app = createApp();

/**
 * `newApi()` whose requests go to the Worker's app in the test isolate (same routes, same Durable
 * Object binding) instead of through `SELF.fetch`: under @cloudflare/vitest-pool-workers every
 * `SELF.fetch` gets slower as the number of requests in the workerd instance grows (quadratic
 * total time: ~12 ms per request after 250 requests, ~250 ms after 1,500, even for a route that
 * returns a constant; cloudflare/workers-sdk#15446), which makes thousands of queries impossible.
 */
export function directApi(): Api {
  const api = newApi();
  const base = `http://flarestore.test/v1/${api.db}/documents`;
  api.fetch = async (suffix, init) => app.fetch(new Request(`${base}${suffix}`, init), env, createExecutionContext());
  return api;
}

/** Whether `SELF.fetch` (the real Worker entry) answers exactly as the in-process app does. */
export async function sameThroughSelf(api: Api, path: string, body: unknown): Promise<string | undefined> {
  const init = { method: "POST", body: JSON.stringify(body) };
  const a = await (await api.fetch(path, init)).text();
  const b = await (await SELF.fetch(`http://flarestore.test/v1/${api.db}/documents${path}`, init)).text();
  // Read times and execution durations differ between two runs.
  const clean = (s: string) => s.replace(/"readTime":"[^"]*"/g, "").replace(/"executionDuration":"[^"]*"/g, "");
  return clean(a) === clean(b) ? undefined : `in-process: ${a.slice(0, 300)}\nSELF.fetch: ${b.slice(0, 300)}`;
}

// ---------------------------------------------------------------------------------------------
// Reading the dataset back

/** The documents among `paths` that exist, as the server stores them (batchGet), at `readTime` if given. */
export async function readBack(api: Api, paths: string[], readTime?: string): Promise<QueryDoc[]> {
  const out: QueryDoc[] = [];
  for (let i = 0; i < paths.length; i += 500) {
    const names = paths.slice(i, i + 500).map((p) => api.name(p));
    const res = await api.post(":batchGet", readTime ? { documents: names, readTime } : { documents: names });
    if (res.status !== 200) throw new Error(`batchGet failed: ${JSON.stringify(res.body)}`);
    for (const entry of res.body as any[]) {
      const d = entry.found;
      if (!d) continue; // deleted
      const path = (d.name as string).slice(`${api.db}/documents/`.length);
      out.push({
        path,
        name: d.name,
        fields: (d.fields ?? {}) as Fields,
        createTime: timestampToMicros(d.createTime, "createTime"),
        updateTime: timestampToMicros(d.updateTime, "updateTime"),
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Plan probe: which access path the engine took (explain alone cannot tell a candidate set on the
// first order field from an ordered scan of it).

export interface PlanRecord {
  /** Access paths in call order: "ordered", "ordered (over budget)", "candidate", "count-only", "count-only (declined)". */
  calls: string[];
  /** Index terms read by the candidate set. */
  terms?: number;
  /** Ordered by __name__ through an equality's index entries. */
  keyDriver?: boolean;
}

/** The plan of the latest request, recorded by the patched engine (the DO runs in the test isolate). */
export const planProbe: { last: PlanRecord; installed: boolean; force?: ForcedPlan } = {
  last: { calls: [] },
  installed: false,
};

/**
 * Forces an access path for the next queries, so that every path is checked on every kind of
 * query rather than only where the cost model picks it: "ordered" skips candidate sets;
 * "candidate" makes every term look empty, so each conjunction is read through a term whenever
 * it has one (and falls back to an ordered scan when it has none).
 */
export type ForcedPlan = "ordered" | "candidate";

/**
 * Makes the project's query engine keep every candidate partial (only the fields its query reads)
 * and read returned documents whole again, as it does past a few MB of candidates.
 */
export async function keepCandidatesPartial(project: string): Promise<void> {
  const stub = env.DATABASE.get(env.DATABASE.idFromName(`${project}/(default)`));
  await runInDurableObject(stub, (instance) => {
    const engine = (instance as any).engine;
    if (typeof engine.wholeCandidateChars !== "number") throw new Error("QueryEngine.wholeCandidateChars is gone");
    engine.wholeCandidateChars = 0;
  });
}

/**
 * Wraps the engine's access-path methods of the project's Durable Object to record which ran:
 * explain alone cannot tell a candidate set on the first order field from an ordered scan of it,
 * nor show an ordered scan abandoned for a candidate set.
 */
export async function installPlanProbe(project: string): Promise<void> {
  const stub = env.DATABASE.get(env.DATABASE.idFromName(`${project}/(default)`));
  await runInDurableObject(stub, (instance) => {
    const engine = (instance as any).engine;
    for (const method of ["candidateSet", "orderedScan", "countOnly", "selectiveTerms", "count"]) {
      if (typeof engine[method] !== "function") throw new Error(`QueryEngine.${method} is gone: update the plan probe`);
    }
    const candidateSet = engine.candidateSet.bind(engine);
    const orderedScan = engine.orderedScan.bind(engine);
    const countOnly = engine.countOnly.bind(engine);
    const selectiveTerms = engine.selectiveTerms.bind(engine);
    const count = engine.count.bind(engine);
    engine.selectiveTerms = (...args: unknown[]) => (planProbe.force === "ordered" ? null : selectiveTerms(...args));
    engine.count = (...args: unknown[]) => (planProbe.force === "candidate" ? 0 : count(...args));
    engine.candidateSet = (ctx: unknown, terms: unknown[]) => {
      planProbe.last.calls.push("candidate");
      planProbe.last.terms = terms.length;
      return candidateSet(ctx, terms);
    };
    engine.orderedScan = (ctx: unknown, ...rest: unknown[]) => {
      const before = (ctx as any).stats.indexesUsed.length;
      const out = orderedScan(ctx, ...rest);
      planProbe.last.calls.push(out === null ? "ordered (over budget)" : "ordered");
      const used = (ctx as any).stats.indexesUsed[before]?.properties as string | undefined;
      planProbe.last.keyDriver = used !== undefined && !used.startsWith("(__name__") && isKeyFirst(ctx);
      return out;
    };
    engine.countOnly = (...args: unknown[]) => {
      const out = countOnly(...args);
      planProbe.last.calls.push(out === null ? "count-only (declined)" : "count-only");
      return out;
    };
  });
  planProbe.installed = true;
}

function isKeyFirst(ctx: unknown): boolean {
  const first = (ctx as any).query.orderBy[0];
  return first !== undefined && first.field.length === 1 && first.field[0] === "__name__";
}

// ---------------------------------------------------------------------------------------------
// Comparison

/** JSON with object keys sorted, so field order never matters. */
export function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

export interface Outcome {
  /** Server HTTP status. */
  status: number;
  /** Reference decoding error, if the reference rejects the query. */
  refError?: string;
  normalized?: NormalizedQuery;
  expected?: QueryDoc[];
  actual?: ServerDoc[];
  indexesUsed?: { query_scope: string; properties: string }[];
  plan?: PlanRecord;
  /** Why the outcomes differ; undefined when they agree. */
  mismatch?: string;
  serverError?: unknown;
}

function suffix(parent: string): string {
  return parent === "" ? "" : `/${parent.split("/").map(encodeURIComponent).join("/")}`;
}

function decodeRef(db: DatabaseRef, parent: string, query: Json): { normalized?: NormalizedQuery; refError?: string } {
  try {
    return { normalized: decodeStructuredQuery(query, db, parent, "structured_query") };
  } catch (e) {
    return { refError: e instanceof Error ? e.message : String(e) };
  }
}

const scopeCache = new WeakMap<QueryDoc[], Map<string, QueryDoc[]>>();

/**
 * `docs` restricted to the query's scope with the evaluator's own `inScope` (which `runQuery`
 * applies first anyway), memoized per document set and scope: the same expected results, faster.
 */
function inScopeOf(docs: QueryDoc[], q: NormalizedQuery): QueryDoc[] {
  let byScope = scopeCache.get(docs);
  if (!byScope) {
    byScope = new Map();
    scopeCache.set(docs, byScope);
  }
  const key = JSON.stringify([q.parent, q.collectionId, q.allDescendants]);
  let scoped = byScope.get(key);
  if (!scoped) {
    scoped = docs.filter((d) => inScope(q, d.path));
    byScope.set(key, scoped);
  }
  return scoped;
}

export interface RunOptions {
  force?: ForcedPlan;
  /** Run at this read time (then `docs` must be the documents as of that time). */
  readTime?: string;
}

export async function runOne(
  api: Api,
  db: DatabaseRef,
  docs: QueryDoc[],
  parent: string,
  query: Json,
  opts: RunOptions = {},
): Promise<Outcome> {
  const { normalized, refError } = decodeRef(db, parent, query);
  planProbe.last = { calls: [] };
  planProbe.force = opts.force;
  let res: { status: number; body: any };
  try {
    res = await api.post(`${suffix(parent)}:runQuery`, {
      structuredQuery: query,
      explainOptions: { analyze: true },
      ...(opts.readTime === undefined ? {} : { readTime: opts.readTime }),
    });
  } finally {
    planProbe.force = undefined;
  }
  const out: Outcome = { status: res.status, refError, normalized };
  if (res.status !== 200) {
    out.serverError = res.body;
    if (normalized) out.mismatch = `server rejected (${res.status}) a query the reference accepts`;
    else if (res.status !== 400 || res.body?.error?.status !== "INVALID_ARGUMENT") {
      out.mismatch = `server answered ${res.status} ${res.body?.error?.status} instead of 400 INVALID_ARGUMENT`;
    }
    return out;
  }
  if (!normalized) {
    out.mismatch = `server accepted a query the reference rejects (${refError})`;
    return out;
  }
  const items = res.body as any[];
  out.actual = items
    .filter((i) => i.document)
    .map((i) => ({
      name: i.document.name,
      fields: i.document.fields ?? {},
      createTime: timestampToMicros(i.document.createTime, "createTime"),
      updateTime: timestampToMicros(i.document.updateTime, "updateTime"),
    }));
  out.indexesUsed = items[items.length - 1]?.explainMetrics?.planSummary?.indexesUsed;
  out.plan = planProbe.last;
  const scoped = inScopeOf(docs, normalized);
  out.expected = runQuery(normalized, scoped);
  out.mismatch = diff(out.expected, out.actual);
  const skipped = items[0]?.skippedResults ?? 0;
  if (out.mismatch === undefined) {
    const wantSkipped =
      normalized.offset === 0
        ? 0
        : runQuery({ ...normalized, offset: 0, limit: normalized.offset, projection: [] }, scoped).length;
    if (skipped !== wantSkipped) out.mismatch = `skippedResults ${skipped}, expected ${wantSkipped}`;
  }
  return out;
}

type ServerDoc = Pick<QueryDoc, "name" | "fields" | "createTime" | "updateTime">;

function diff(expected: QueryDoc[], actual: ServerDoc[]): string | undefined {
  const e = expected.map((d) => d.name);
  const a = actual.map((d) => d.name);
  if (e.length !== a.length || e.some((n, i) => n !== a[i])) {
    const first = e.findIndex((n, i) => n !== a[i]);
    const missing = e.filter((n) => !a.includes(n));
    const extra = a.filter((n) => !e.includes(n));
    return `documents differ: expected ${e.length}, got ${a.length}; first difference at ${first === -1 ? e.length : first}; missing ${JSON.stringify(missing.slice(0, 5))}; extra ${JSON.stringify(extra.slice(0, 5))}`;
  }
  for (let i = 0; i < e.length; i++) {
    const want = expected[i] as QueryDoc;
    const got = actual[i] as ServerDoc;
    if (stable(want.fields) !== stable(got.fields)) {
      return `fields of ${e[i]} differ: expected ${stable(want.fields)}, got ${stable(got.fields)}`;
    }
    if (want.createTime !== got.createTime || want.updateTime !== got.updateTime) {
      return `create/update times of ${e[i]} differ: expected ${want.createTime}/${want.updateTime}, got ${got.createTime}/${got.updateTime}`;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Plan shapes

/** Labels describing the access path of a valid query (several per query). */
export function planShape(o: Outcome): string[] {
  const q = o.normalized as NormalizedQuery;
  const plan = o.plan;
  if (!plan || plan.calls.length === 0) return ["unknown (no engine call recorded)"];
  const labels: string[] = [];
  const final = plan.calls[plan.calls.length - 1];
  if (plan.calls.includes("ordered (over budget)")) labels.push("ordered scan over budget, fell back to candidate set");
  if (final === "candidate") {
    const used = o.indexesUsed ?? [];
    const kinds = used.map((u) =>
      u.properties === "(__name__ ASC)"
        ? "__name__ keys"
        : u.properties.includes(" CONTAINS")
          ? "array-contains"
          : "value",
    );
    labels.push(
      plan.terms === 1 ? `candidate set: 1 term (${kinds[0]})` : "candidate set: union of several terms (OR / IN)",
    );
    if (q.limit !== undefined) labels.push("candidate set with limit");
    return labels;
  }
  const first = q.orderBy[0];
  const byKey = first && first.field.length === 1 && first.field[0] === "__name__";
  labels.push(
    `ordered scan: ${byKey ? (plan.keyDriver ? "__name__ order driven by an equality's index entries" : "__name__ (documents table)") : "field index"}`,
  );
  if (q.limit !== undefined) labels.push("ordered scan with early termination (limit)");
  if (q.orderBy.length > 2 || (q.orderBy.length === 2 && q.orderBy[1]?.descending !== first?.descending)) {
    labels.push("ordered scan, order not index order (whole equal-value groups)");
  }
  if (q.startAt || q.endAt) labels.push("ordered scan bounded by a cursor");
  if (q.filter && q.filter.kind !== "or") labels.push("ordered scan with a filter (probes/bounds/evaluator)");
  if (q.filter?.kind === "or") labels.push("ordered scan of an OR (no selective term)");
  return labels;
}

// ---------------------------------------------------------------------------------------------
// Aggregations

export interface AggOutcome {
  mismatch?: string;
  status: number;
  plan?: PlanRecord;
  expected?: Record<string, Value>;
  actual?: Record<string, Value>;
}

function sameNumber(a: Value, b: Value): boolean {
  if ("integerValue" in a || "integerValue" in b) return stable(a) === stable(b);
  if ("doubleValue" in a && "doubleValue" in b) {
    const x = Number(a.doubleValue);
    const y = Number(b.doubleValue);
    if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y);
    if (!Number.isFinite(x) || !Number.isFinite(y)) return x === y;
    return Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x), Math.abs(y));
  }
  return stable(a) === stable(b);
}

export async function runAggregation(
  api: Api,
  db: DatabaseRef,
  docs: QueryDoc[],
  parent: string,
  query: Json,
  aggregations: Json[],
): Promise<AggOutcome> {
  let refError: string | undefined;
  let normalized: NormalizedQuery | undefined;
  let aggs: Aggregation[] | undefined;
  try {
    normalized = decodeStructuredQuery(query, db, parent, "q");
    aggs = decodeAggregations(aggregations, "aggregations");
  } catch (e) {
    refError = e instanceof Error ? e.message : String(e);
  }
  planProbe.last = { calls: [] };
  const res = await api.post(`${suffix(parent)}:runAggregationQuery`, {
    structuredAggregationQuery: { structuredQuery: query, aggregations },
  });
  if (res.status !== 200 || !normalized || !aggs) {
    if (res.status === 200) return { status: 200, mismatch: `server accepted what the reference rejects: ${refError}` };
    if (!refError) return { status: res.status, mismatch: `server rejected: ${JSON.stringify(res.body)}` };
    return { status: res.status };
  }
  const expected = aggregate(runQuery(normalized, inScopeOf(docs, normalized)), aggs);
  const actual = (res.body as any[])[0]?.result?.aggregateFields as Record<string, Value>;
  const out: AggOutcome = { status: 200, expected, actual, plan: planProbe.last };
  const keys = new Set([...Object.keys(expected), ...Object.keys(actual ?? {})]);
  for (const k of keys) {
    const e = expected[k];
    const a = actual?.[k];
    if (e === undefined || a === undefined || !sameNumber(e, a)) {
      out.mismatch = `aggregate ${k}: expected ${stable(e)}, got ${stable(a)}`;
      break;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Shrinking

function filterVariants(f: Json): Json[] {
  const out: Json[] = [];
  const comp = f.compositeFilter as { op: string; filters: Json[] } | undefined;
  if (comp) {
    for (const child of comp.filters) out.push(child);
    comp.filters.forEach((_, i) => {
      const rest = comp.filters.filter((__, j) => j !== i);
      if (rest.length > 0) out.push({ compositeFilter: { op: comp.op, filters: rest } });
    });
    comp.filters.forEach((child, i) => {
      for (const v of filterVariants(child)) {
        out.push({ compositeFilter: { op: comp.op, filters: comp.filters.map((c, j) => (j === i ? v : c)) } });
      }
    });
    return out;
  }
  const ff = f.fieldFilter as { field: Json; op: string; value: any } | undefined;
  const values = ff?.value?.arrayValue?.values as unknown[] | undefined;
  if (ff && values && values.length > 1) {
    values.forEach((_, i) => {
      out.push({
        fieldFilter: { ...ff, value: { arrayValue: { values: values.filter((__, j) => j !== i) } } },
      });
    });
  }
  return out;
}

function* queryVariants(q: Json): Generator<Json> {
  for (const key of ["select", "offset", "startAt", "endAt", "where", "orderBy", "limit"]) {
    if (q[key] !== undefined) {
      const { [key]: _, ...rest } = q;
      yield rest;
    }
  }
  const orderBy = q.orderBy as Json[] | undefined;
  if (orderBy && orderBy.length > 1) {
    for (let i = 0; i < orderBy.length; i++) yield { ...q, orderBy: orderBy.filter((_, j) => j !== i) };
  }
  for (const key of ["startAt", "endAt"]) {
    const c = q[key] as { values: unknown[]; before?: boolean } | undefined;
    if (c && c.values.length > 1) yield { ...q, [key]: { ...c, values: c.values.slice(0, -1) } };
  }
  if (typeof q.limit === "number" && q.limit > 1) yield { ...q, limit: Math.floor(q.limit / 2) };
  if (typeof q.offset === "number" && q.offset > 0) yield { ...q, offset: Math.floor(q.offset / 2) };
  if (q.where) for (const w of filterVariants(q.where as Json)) yield { ...q, where: w };
}

/** Greedily applies the first variant that still fails, until none does (at most `budget` runs). */
async function minimize<T>(
  start: T,
  variants: (t: T) => Iterable<T>,
  fails: (t: T) => Promise<boolean>,
  budget: number,
): Promise<T> {
  let best = start;
  let runs = 0;
  let progress = true;
  while (progress && runs < budget) {
    progress = false;
    for (const candidate of variants(best)) {
      if (runs++ >= budget) break;
      if (await fails(candidate)) {
        best = candidate;
        progress = true;
        break;
      }
    }
  }
  return best;
}

/** Greedily removes parts of a failing query while it keeps failing. */
export async function shrink(
  api: Api,
  db: DatabaseRef,
  docs: QueryDoc[],
  parent: string,
  query: Json,
  opts: RunOptions = {},
  budget = 300,
): Promise<{ query: Json; outcome: Outcome }> {
  const fails = async (q: Json) => (await runOne(api, db, docs, parent, q, opts)).mismatch !== undefined;
  const best = await minimize(query, queryVariants, fails, budget);
  return { query: best, outcome: await runOne(api, db, docs, parent, best, opts) };
}

/** Shrinks a failing aggregation: first its query, then its list of aggregations. */
export async function shrinkAggregation(
  api: Api,
  db: DatabaseRef,
  docs: QueryDoc[],
  parent: string,
  query: Json,
  aggregations: Json[],
  budget = 300,
): Promise<{ query: Json; aggregations: Json[]; outcome: AggOutcome }> {
  const fails = async (q: Json, a: Json[]) =>
    (await runAggregation(api, db, docs, parent, q, a)).mismatch !== undefined;
  const q = await minimize(query, queryVariants, (c) => fails(c, aggregations), budget);
  const a = await minimize(
    aggregations,
    function* (list) {
      if (list.length > 1) for (let i = 0; i < list.length; i++) yield list.filter((_, j) => j !== i);
    },
    (c) => fails(q, c),
    budget,
  );
  return { query: q, aggregations: a, outcome: await runAggregation(api, db, docs, parent, q, a) };
}
