/**
 * Randomized differential test of the SQLite query engine against the reference evaluator.
 *
 * Per seed (fixed seeds, printed on failure): a fresh database with ~230 documents of mixed types
 * (every value type and its awkward orderings, see `query-random/data.ts`) in several collections,
 * with same-id subcollections under different and missing parents and numeric `__id<n>__` ids,
 * plus a 3,000-document collection whose fields have few distinct values (so equality terms exceed
 * the planner's candidate cap and it switches to ordered scans with probes); then ~700 changes
 * (replacements, masked updates, transforms, deletes) so the indexes are checked after updates,
 * not only inserts. Then random
 * StructuredQueries — every filter operator, `__name__` filters, nested AND/OR, orders, cursors,
 * offset, limit, select; collections, collection groups, subcollections, kindless scopes — each
 * run through REST `:runQuery` and through `runQuery(decodeStructuredQuery(…))` over the documents
 * as read back from the server: the same documents in the same order with the same fields (the
 * normalized order ends with __name__, so it is total), and the same skippedResults. Queries one
 * side rejects (6% have a rule deliberately broken) must be rejected by the other. Every third
 * valid query runs again with an access path forced (ordered scan / candidate set), so each path
 * is checked beyond where the cost model picks it; every tenth runs again at the read time before
 * the changes, against the documents read back then. Then `:runAggregationQuery` (count, sum,
 * avg; half of them index-only counts) against `aggregate()`. One seed runs with the engine
 * keeping every candidate partial (what it does past a few MB of candidates, to bound memory).
 *
 * Requests go to the Worker's app in-process (`directApi`, see why there); the first queries of
 * each seed are also sent through `SELF.fetch` to check both answer alike. The access path is
 * recorded by wrapping the engine's methods (`installPlanProbe`) and summarized after the run.
 *
 * On a mismatch the failing query is shrunk to a minimal reproduction and printed with its seed.
 */
import { afterAll, describe, expect, it } from "vitest";
import type { DatabaseRef } from "../../src/model/path.js";
import { generateDataset, modifications } from "./query-random/data.js";
import {
  directApi,
  type ForcedPlan,
  installPlanProbe,
  keepCandidatesPartial,
  type Outcome,
  planProbe,
  planShape,
  readBack,
  runAggregation,
  runOne,
  sameThroughSelf,
  shrink,
  shrinkAggregation,
  stable,
} from "./query-random/harness.js";
import { Rng } from "./query-random/prng.js";
import { type Json, QueryGenerator, randomAggregations, randomCounts, type ScopeSpec } from "./query-random/queries.js";

const SEEDS = [0x5eed0001, 0x5eed0002, 0x5eed0003];
/** Run with every candidate kept partial (as past a few MB of candidates, see QueryEngine.run). */
const PARTIAL_SEEDS = new Set([0x5eed0003]);
const QUERIES_PER_SEED = 700;
const AGGREGATIONS_PER_SEED = 100;
/** Queries per seed also sent through `SELF.fetch`, to check the in-process app answers the same. */
const THROUGH_SELF = 10;

interface Failure {
  seed: number;
  index: number;
  force?: ForcedPlan;
  readTime?: string;
  scope: ScopeSpec;
  query: Json;
  mismatch: string;
}

const stats = {
  queries: 0,
  valid: 0,
  invalid: 0,
  nonEmpty: 0,
  resultDocs: 0,
  aggregations: 0,
  aggregationsValid: 0,
  plans: new Map<string, number>(),
  aggregationPlans: new Map<string, number>(),
  invalidReasons: new Map<string, number>(),
  forced: new Map<string, number>(),
  pastPlans: new Map<string, number>(),
  changes: 0,
  phases: new Map<string, number>(),
  scopes: new Map<string, number>(),
  operators: new Map<string, number>(),
  ms: 0,
};

function stableDocs(docs: { name: string; fields: unknown; updateTime: number }[]): string {
  return stable(docs.map((d) => [d.name, d.fields, d.updateTime]));
}

/** Adds the time since `t0` to a phase and returns now. */
function lap(phase: string, t0: number): number {
  const now = performance.now();
  stats.phases.set(phase, (stats.phases.get(phase) ?? 0) + now - t0);
  return now;
}

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

function countOperators(node: unknown): void {
  if (Array.isArray(node)) {
    for (const n of node) countOperators(n);
    return;
  }
  if (node === null || typeof node !== "object") return;
  const o = node as Record<string, any>;
  if (o.fieldFilter)
    bump(stats.operators, `${o.fieldFilter.op}${o.fieldFilter.field?.fieldPath === "__name__" ? " (__name__)" : ""}`);
  if (o.unaryFilter) bump(stats.operators, o.unaryFilter.op);
  if (o.compositeFilter) {
    bump(stats.operators, o.compositeFilter.op);
    countOperators(o.compositeFilter.filters);
  }
}

function describeFailure(f: Failure, minimal: Json, outcome: Outcome): string {
  return [
    `seed ${f.seed.toString(16)} query #${f.index} (${f.scope.label}, parent "${f.scope.parent}")${f.force ? `, ${f.force} plan forced` : ""}${f.readTime ? `, at readTime ${f.readTime}` : ""}`,
    `  mismatch: ${f.mismatch}`,
    `  query: ${JSON.stringify(f.query)}`,
    `  minimal: ${JSON.stringify(minimal)}`,
    `  minimal mismatch: ${outcome.mismatch}`,
    `  expected: ${JSON.stringify(outcome.expected?.map((d) => d.path))}`,
    `  actual: ${JSON.stringify(outcome.actual?.map((d) => d.name.replace(/^.*?\/documents\//, "")))}`,
    `  plan: ${outcome.plan?.calls.join(" → ")} ${JSON.stringify(outcome.indexesUsed)}`,
    `  server error: ${JSON.stringify(outcome.serverError)}`,
  ].join("\n");
}

describe("random queries: SQLite engine vs reference evaluator", () => {
  afterAll(() => {
    const lines = [
      `queries: ${stats.queries} (${stats.valid} valid, ${stats.invalid} rejected by both), ${stats.nonEmpty} with results, ${stats.resultDocs} result documents compared`,
      `aggregations: ${stats.aggregations} (${stats.aggregationsValid} valid); writes after the initial load: ${stats.changes}`,
      `time: ${(stats.ms / 1000).toFixed(1)} s (${[...stats.phases].map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`).join(", ")})`,
      "plan shapes:",
      ...[...stats.plans].sort((a, b) => b[1] - a[1]).map(([k, v]) => `  ${v}\t${k}`),
      "forced access paths (re-runs of every third valid query):",
      ...[...stats.forced].sort((a, b) => b[1] - a[1]).map(([k, v]) => `  ${v}\t${k}`),
      "queries at a past read time (indexesUsed):",
      ...[...stats.pastPlans].sort((a, b) => b[1] - a[1]).map(([k, v]) => `  ${v}\t${k}`),
      "aggregation plans (engine calls):",
      ...[...stats.aggregationPlans].sort((a, b) => b[1] - a[1]).map(([k, v]) => `  ${v}\t${k}`),
      "rejected queries (reference's reason; the server agreed):",
      ...[...stats.invalidReasons].sort((a, b) => b[1] - a[1]).map(([k, v]) => `  ${v}\t${k}`),
      "scopes:",
      ...[...stats.scopes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `  ${v}\t${k}`),
      "operators:",
      ...[...stats.operators].sort((a, b) => b[1] - a[1]).map(([k, v]) => `  ${v}\t${k}`),
    ];
    console.log(lines.join("\n"));
  });

  for (const seed of SEEDS) {
    it(`seed ${seed.toString(16)}${PARTIAL_SEEDS.has(seed) ? " (partial candidates)" : ""}`, {
      timeout: 240_000,
    }, async () => {
      const started = Date.now();
      let t = performance.now();
      const api = directApi();
      const db: DatabaseRef = { project: api.project, database: "(default)" };
      const root = `${api.db}/documents`;
      const rng = new Rng(seed);
      const dataset = generateDataset(rng, root);

      const paths = dataset.docs.map((d) => d.path);
      let initialTime = "";
      for (let i = 0; i < dataset.docs.length; i += 200) {
        const writes = dataset.docs
          .slice(i, i + 200)
          .map((d) => ({ update: { name: api.name(d.path), fields: d.fields } }));
        const res = await api.commit(writes);
        if (res.status !== 200) throw new Error(`seed ${seed}: commit failed: ${JSON.stringify(res.body)}`);
        initialTime = res.body.commitTime;
      }
      const initialDocs = await readBack(api, paths);
      expect(initialDocs.length).toBe(paths.length);
      // Then replacements, masked updates, transforms and deletes: the indexes must follow.
      const changes = modifications(rng, dataset, root).map(({ path, write }) =>
        write.delete !== undefined
          ? { delete: api.name(path) }
          : { ...write, update: { ...(write.update as Json), name: api.name(path) } },
      );
      for (let i = 0; i < changes.length; i += 100) {
        const res = await api.commit(changes.slice(i, i + 100));
        if (res.status !== 200) throw new Error(`seed ${seed}: commit failed: ${JSON.stringify(res.body)}`);
      }
      stats.changes += changes.length;
      const docs = await readBack(api, paths);
      // The past is still readable: batchGet at the initial read time returns the initial documents.
      expect(stableDocs(await readBack(api, paths, initialTime))).toBe(stableDocs(initialDocs));
      await installPlanProbe(api.project);
      if (PARTIAL_SEEDS.has(seed)) await keepCandidatesPartial(api.project);
      t = lap("writes and reads", t);

      const gen = new QueryGenerator({
        rng,
        db,
        root,
        docs,
        parents: dataset.parents,
        missingParents: dataset.missingParents,
      });
      const failures: Failure[] = [];
      for (let index = 0; index < QUERIES_PER_SEED; index++) {
        t = lap("queries", t);
        const { scope, query } = gen.next();
        t = lap("generation", t);
        const o = await runOne(api, db, docs, scope.parent, query);
        stats.queries++;
        bump(stats.scopes, scope.label);
        countOperators(query.where);
        if (o.normalized && o.status === 200) {
          stats.valid++;
          if ((o.expected?.length ?? 0) > 0) stats.nonEmpty++;
          stats.resultDocs += o.expected?.length ?? 0;
          for (const label of planShape(o)) bump(stats.plans, label);
        } else if (!o.normalized && o.status !== 200) {
          stats.invalid++;
          bump(stats.invalidReasons, (o.refError ?? "").replace(/^Invalid query at '[^']*': /, "").slice(0, 70));
        }
        if (o.mismatch !== undefined) failures.push({ seed, index, scope, query, mismatch: o.mismatch });
        // Every third valid query again with a forced access path (alternating).
        if (o.normalized && index % 3 === 2) {
          const force: ForcedPlan = index % 6 === 2 ? "ordered" : "candidate";
          t = lap("queries", t);
          const f = await runOne(api, db, docs, scope.parent, query, { force });
          t = lap("forced plans", t);
          bump(stats.forced, `${force} forced → ${f.plan?.calls.join(" → ")}`);
          if (f.mismatch !== undefined) failures.push({ seed, index, force, scope, query, mismatch: f.mismatch });
        }
        // Every tenth query also at the read time before the changes (a scan of the history).
        if (index % 10 === 7) {
          t = lap("queries", t);
          const p = await runOne(api, db, initialDocs, scope.parent, query, { readTime: initialTime });
          t = lap("past read time", t);
          if (p.normalized && p.status === 200) {
            bump(stats.pastPlans, JSON.stringify(p.indexesUsed?.map((u) => u.properties)));
          }
          if (p.mismatch !== undefined) {
            failures.push({ seed, index, readTime: initialTime, scope, query, mismatch: p.mismatch });
          }
        }
        if (index < THROUGH_SELF) {
          const suffix = scope.parent === "" ? "" : `/${scope.parent}`;
          const differs = await sameThroughSelf(api, `${suffix}:runQuery`, { structuredQuery: query });
          if (differs !== undefined)
            failures.push({ seed, index, scope, query, mismatch: `SELF.fetch differs: ${differs}` });
        }
      }
      expect(planProbe.installed).toBe(true);
      t = lap("queries", t);

      const aggFailures: string[] = [];
      for (let index = 0; index < AGGREGATIONS_PER_SEED; index++) {
        // Half general aggregations, half counts of index-answerable queries (index-only counts).
        const countOnly = index % 2 === 1;
        const { scope, query } = countOnly ? gen.countQuery() : gen.next();
        delete query.select;
        const aggregations = countOnly ? randomCounts(rng) : randomAggregations(rng);
        const o = await runAggregation(api, db, docs, scope.parent, query, aggregations);
        stats.aggregations++;
        if (o.status === 200) {
          stats.aggregationsValid++;
          bump(stats.aggregationPlans, o.plan?.calls.join(" → ") || "none recorded");
        }
        if (o.mismatch !== undefined && aggFailures.length < 3) {
          const min = await shrinkAggregation(api, db, docs, scope.parent, query, aggregations);
          aggFailures.push(
            `seed ${seed.toString(16)} aggregation #${index} (${scope.label}, parent "${scope.parent}"): ${o.mismatch} (plan: ${o.plan?.calls.join(" → ")})\n  minimal query: ${JSON.stringify(min.query)}\n  minimal aggregations: ${JSON.stringify(min.aggregations)}\n  minimal mismatch: ${min.outcome.mismatch} (plan: ${min.outcome.plan?.calls.join(" → ")})`,
          );
        } else if (o.mismatch !== undefined) {
          aggFailures.push(
            `seed ${seed.toString(16)} aggregation #${index} parent "${scope.parent}": ${o.mismatch} (plan: ${o.plan?.calls.join(" → ")})\n  query: ${JSON.stringify(query)}\n  aggregations: ${JSON.stringify(aggregations)}`,
          );
        }
      }

      t = lap("aggregations", t);
      const reports: string[] = [];
      for (const f of failures.slice(0, 3)) {
        const { query, outcome } = await shrink(
          api,
          db,
          f.readTime === undefined ? docs : initialDocs,
          f.scope.parent,
          f.query,
          { force: f.force, readTime: f.readTime },
        );
        reports.push(describeFailure(f, query, outcome));
      }
      if (failures.length > 3) reports.push(`… and ${failures.length - 3} more failing queries`);
      lap("shrinking", t);
      stats.ms += Date.now() - started;
      if (reports.length > 0 || aggFailures.length > 0)
        console.log([...reports, ...aggFailures.slice(0, 10)].join("\n\n"));
      expect(
        failures.length,
        `${failures.length} query mismatches (seed ${seed.toString(16)}):\n${reports.join("\n\n")}`,
      ).toBe(0);
      expect(aggFailures.length, aggFailures.slice(0, 10).join("\n\n")).toBe(0);
    });
  }
});
