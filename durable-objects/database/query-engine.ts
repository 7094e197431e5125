/**
 * The query engine: picks an access path over the automatic single-field indexes, produces
 * candidate documents, and lets the reference evaluator (`src/query/evaluate.ts`) decide the exact
 * result from them. Correctness only needs "the candidates include every document of the result";
 * speed comes from reading few candidates.
 *
 * Access paths (chosen per query, costed with capped counts of index entries):
 * - **candidate set**: every conjunction of the filter (in disjunctive normal form) has a selective
 *   term — an equality, `in`, `array-contains(-any)`, a range, `__name__` bounds — with few
 *   index entries: read just those entries' documents (the union over an OR's branches).
 * - **ordered scan**: walk the index of the first `orderBy` field (the documents table for
 *   `__name__`) in query order, bounded by that field's own filters and the cursors, probing the
 *   other equality filters with point lookups before reading a document, and stop as soon as the
 *   first `offset + limit` results are certain. Cost follows the results, not the collection.
 * - point-in-time (`readTime`) queries scan their scope as it was then (indexes hold the present).
 */
import { formatFieldPath } from "../../src/model/field-path.js";
import { encodeKey } from "../../src/model/path.js";
import type { Fields, Micros, Value } from "../../src/model/types.js";
import { typeOrder } from "../../src/model/values.js";
import { afterStart, beforeEnd, hasOrderFields, inScope, matches, runQuery } from "../../src/query/evaluate.js";
import { compareBytes, encodeIndexValue, prefixEnd, typeRange } from "../../src/query/index-encoding.js";
import { type Filter, isKeyField, type NormalizedQuery, type QueryDoc } from "../../src/query/types.js";
import { ARRAY_ELEMENT, VALUE } from "./indexes.js";
import { blob, type IndexRow, type Range, Scanner, type Scope, scopeOf } from "./scan.js";
import type { DocRow, DocumentStore } from "./store.js";

/** Candidate sets up to this many index entries are read whole; larger ones prefer ordered scans. */
const CANDIDATE_CAP = 2_000;
const BATCH = 256;

type Leaf = Extract<Filter, { kind: "field" | "unary" }>;

/** Index entries of one field (or document keys, for `__name__`) within ranges. */
interface Term {
  field: string[];
  kind: number;
  ranges: Range[];
  /** A single exact value: also usable as a point probe during ordered scans. */
  exact?: ArrayBuffer;
}

export interface ExecutionStats {
  /** Firestore's notation, e.g. `(age ASC, __name__ ASC)`, with the query scope. */
  indexesUsed: { query_scope: string; properties: string }[];
  indexEntriesScanned: number;
  documentsScanned: number;
}

export interface QueryResult {
  docs: QueryDoc[];
  /** Matching documents the offset skipped. */
  skipped: number;
  stats: ExecutionStats;
}

const COMPARISONS = new Set(["EQUAL", "LESS_THAN", "LESS_THAN_OR_EQUAL", "GREATER_THAN", "GREATER_THAN_OR_EQUAL"]);

/**
 * The index range holding exactly the values a comparison with `value` accepts: type-bracketed
 * (`x > 5` only reaches numbers), NaN counted as the smallest number, as the evaluator does.
 */
function comparisonRange(op: string, value: Value): Range | null {
  const enc = encodeIndexValue(value);
  const after = prefixEnd(enc) as Uint8Array;
  const t = typeRange(typeOrder(value));
  const bounds: Record<string, [Uint8Array, Uint8Array]> = {
    EQUAL: [enc, after],
    LESS_THAN: [t.lower, enc],
    LESS_THAN_OR_EQUAL: [t.lower, after],
    GREATER_THAN: [after, t.upper],
    GREATER_THAN_OR_EQUAL: [enc, t.upper],
  };
  const b = bounds[op];
  if (!b) return null;
  // An empty range still needs a representation: lower == upper (exclusive) matches nothing.
  return compareBytes(b[0], b[1]) < 0
    ? { lower: blob(b[0]), upper: blob(b[1]) }
    : { lower: blob(b[0]), upper: blob(b[0]) };
}

/** Key range of a `__name__` comparison; keys are prefix-free, so key + 0x00 is the next key. */
function keyRange(op: string, path: string): Range | null {
  const key = encodeKey(path);
  const next = new Uint8Array(key.length + 1);
  next.set(key);
  switch (op) {
    case "EQUAL":
      return { lower: blob(key), upper: blob(next) };
    case "LESS_THAN":
      return { upper: blob(key) };
    case "LESS_THAN_OR_EQUAL":
      return { upper: blob(next) };
    case "GREATER_THAN":
      return { lower: blob(next) };
    case "GREATER_THAN_OR_EQUAL":
      return { lower: blob(key) };
    default:
      return null;
  }
}

function exactTerm(field: string[], kind: number, value: Value): Term {
  const enc = encodeIndexValue(value);
  return { field, kind, ranges: [{ lower: blob(enc), upper: blob(prefixEnd(enc) as Uint8Array) }], exact: blob(enc) };
}

/** The index term a leaf filter can be answered from, if any. */
function termOf(leaf: Leaf, pathOf: (ref: string) => string | null): Term | null {
  if (leaf.kind === "unary") {
    if (leaf.op === "IS_NULL") return exactTerm(leaf.field, VALUE, { nullValue: null });
    if (leaf.op === "IS_NAN") return exactTerm(leaf.field, VALUE, { doubleValue: "NaN" });
    return null;
  }
  const values = "arrayValue" in leaf.value ? leaf.value.arrayValue.values : [];
  if (isKeyField(leaf.field)) {
    const refs = leaf.op === "IN" ? values : [leaf.value];
    const ranges: Range[] = [];
    for (const ref of refs) {
      const path = "referenceValue" in ref ? pathOf(ref.referenceValue) : null;
      const range = path === null ? null : keyRange(leaf.op === "IN" ? "EQUAL" : leaf.op, path);
      if (!range) return null;
      ranges.push(range);
    }
    return { field: leaf.field, kind: VALUE, ranges };
  }
  switch (leaf.op) {
    case "EQUAL":
      return exactTerm(leaf.field, VALUE, leaf.value);
    case "ARRAY_CONTAINS":
      return exactTerm(leaf.field, ARRAY_ELEMENT, leaf.value);
    case "IN":
    case "ARRAY_CONTAINS_ANY":
      return {
        field: leaf.field,
        kind: leaf.op === "IN" ? VALUE : ARRAY_ELEMENT,
        ranges: values.map((v) => comparisonRange("EQUAL", v) as Range),
      };
    default: {
      const range = comparisonRange(leaf.op, leaf.value);
      return range ? { field: leaf.field, kind: VALUE, ranges: [range] } : null;
    }
  }
}

/** Disjunctive normal form of a filter (the normalizer caps it at 30 conjunctions). */
function dnf(filter: Filter | undefined): Leaf[][] {
  if (filter === undefined) return [[]];
  if (filter.kind === "field" || filter.kind === "unary") return [[filter]];
  if (filter.kind === "or") return filter.filters.flatMap(dnf);
  let out: Leaf[][] = [[]];
  for (const child of filter.filters) {
    const next: Leaf[][] = [];
    for (const a of out) for (const b of dnf(child)) next.push([...a, ...b]);
    out = next;
  }
  return out;
}

/** Narrows `range` to its intersection with `other`. */
function tighten(range: Range, other: Range): void {
  if (other.lower !== undefined) {
    const c = range.lower === undefined ? 1 : compareBytes(new Uint8Array(other.lower), new Uint8Array(range.lower));
    if (c > 0 || (c === 0 && other.lowerInclusive === false)) {
      range.lower = other.lower;
      range.lowerInclusive = other.lowerInclusive;
    }
  }
  if (other.upper !== undefined) {
    const c = range.upper === undefined ? -1 : compareBytes(new Uint8Array(other.upper), new Uint8Array(range.upper));
    if (c < 0 || (c === 0 && !other.upperInclusive)) {
      range.upper = other.upper;
      range.upperInclusive = other.upperInclusive;
    }
  }
}

function bytesId(bytes: ArrayBuffer): string {
  const u = new Uint8Array(bytes);
  let s = "";
  for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i] as number);
  return s;
}

function describe(scope: Scope, properties: string): ExecutionStats["indexesUsed"][number] {
  return { query_scope: scope.kind === "collection" ? "Collection" : "Collection group", properties };
}

export class QueryEngine {
  constructor(
    private readonly sql: SqlStorage,
    private readonly store: DocumentStore,
  ) {}

  /**
   * Runs a query on the latest state, or at `readTime`. `database` is its resource name.
   * `fullScan` ignores the indexes (the benchmarks' baseline).
   */
  run(query: NormalizedQuery, database: string, readTime?: Micros, fullScan = false): QueryResult {
    const prefix = `${database}/documents/`;
    const scanner = new Scanner(this.sql);
    const stats: ExecutionStats = { indexesUsed: [], indexEntriesScanned: 0, documentsScanned: 0 };
    const toDoc = (row: DocRow): QueryDoc => {
      stats.documentsScanned++;
      return {
        path: row.path,
        name: prefix + row.path,
        fields: JSON.parse(row.fields) as Fields,
        createTime: row.createTime,
        updateTime: row.updateTime,
      };
    };
    const done = (candidates: QueryDoc[]): QueryResult => {
      stats.indexEntriesScanned = scanner.indexEntriesScanned;
      // The offset skipped min(offset, matches) documents; counting matches only costs when asked.
      const skipped =
        query.offset === 0
          ? 0
          : runQuery({ ...query, offset: 0, limit: query.offset, projection: [] }, candidates).length;
      return { docs: runQuery(query, candidates), skipped, stats };
    };
    const scope = scopeOf(query.parent, query.collectionId, query.allDescendants);
    if (readTime !== undefined || fullScan) {
      stats.indexesUsed.push(describe(scope, "(full scan)"));
      return done(this.store.scopeAt(scope, readTime ?? Number.MAX_SAFE_INTEGER).map(toDoc));
    }
    const ctx: Ctx = {
      query,
      scope,
      scanner,
      stats,
      toDoc,
      pathOf: (ref) => (ref.startsWith(prefix) ? ref.slice(prefix.length) : null),
      conjunctions: dnf(query.filter),
      // Nearest-neighbour search ranks every match, so it cannot stop early.
      need: query.findNearest || query.limit === undefined ? undefined : query.offset + query.limit,
    };
    const picks = this.selectiveTerms(ctx);
    if (picks) return done(this.candidateSet(ctx, picks));
    return done(this.orderedScan(ctx));
  }

  /** The most selective term of every conjunction, when reading them is the cheaper plan. */
  private selectiveTerms(ctx: Ctx): Term[] | null {
    const picks: Term[] = [];
    let total = 0;
    for (const conjunction of ctx.conjunctions) {
      let best: { term: Term; count: number } | undefined;
      for (const leaf of conjunction) {
        const term = termOf(leaf, ctx.pathOf);
        if (!term) continue;
        const count = this.count(ctx, term);
        if (!best || count < best.count) best = { term, count };
      }
      if (!best) return null;
      picks.push(best.term);
      total += best.count;
    }
    if (ctx.need === undefined) return picks;
    return total <= Math.max(CANDIDATE_CAP, 20 * ctx.need) ? picks : null;
  }

  private count(ctx: Ctx, term: Term): number {
    let n = 0;
    for (const range of term.ranges) {
      n += isKeyField(term.field)
        ? ctx.scanner.countDocuments(ctx.scope, range, CANDIDATE_CAP + 1)
        : ctx.scanner.countIndex(ctx.scope, formatFieldPath(term.field), term.kind, range, CANDIDATE_CAP + 1);
    }
    return n;
  }

  private candidateSet(ctx: Ctx, terms: Term[]): QueryDoc[] {
    const seen = new Set<string>();
    const out: QueryDoc[] = [];
    for (const term of terms) {
      const field = formatFieldPath(term.field);
      ctx.stats.indexesUsed.push(
        describe(
          ctx.scope,
          isKeyField(term.field)
            ? "(__name__ ASC)"
            : `(${field} ${term.kind === ARRAY_ELEMENT ? "CONTAINS" : "ASC"}, __name__ ASC)`,
        ),
      );
      for (const range of term.ranges) {
        let after: IndexRow | undefined;
        for (;;) {
          const rows = isKeyField(term.field)
            ? ctx.scanner.documentScan(ctx.scope, range, false, after?.key, BATCH)
            : ctx.scanner.indexScan(ctx.scope, field, term.kind, range, false, after, BATCH);
          for (const row of rows) {
            const id = bytesId(row.key);
            if (seen.has(id)) continue;
            seen.add(id);
            const doc = this.store.getByKey(row.key);
            if (doc) out.push(ctx.toDoc(doc));
          }
          if (rows.length < BATCH) break;
          after = rows[rows.length - 1];
        }
      }
    }
    return out;
  }

  /** Walks the first order field's index (or the keys) in query order; see the module comment. */
  private orderedScan(ctx: Ctx): QueryDoc[] {
    const { query, scanner, need } = ctx;
    const first = query.orderBy[0] ?? { field: ["__name__"], descending: false };
    const byKey = isKeyField(first.field);
    const field = formatFieldPath(first.field);
    const dir = first.descending ? "DESC" : "ASC";
    ctx.stats.indexesUsed.push(describe(ctx.scope, byKey ? `(__name__ ${dir})` : `(${field} ${dir}, __name__ ${dir})`));
    // Index order is (value, key) in the scan direction: it is the query order exactly when the
    // order is [first, __name__] in one direction; otherwise equal first values need a full group.
    const exactOrder =
      query.orderBy.length <= 1 || (query.orderBy.length === 2 && query.orderBy[1]?.descending === first.descending);
    const single = ctx.conjunctions.length === 1 ? (ctx.conjunctions[0] ?? []) : [];
    const probes = single
      .map((leaf) => termOf(leaf, ctx.pathOf))
      .filter((t): t is Term => t?.exact !== undefined && !isKeyField(t.field));
    const range = this.bounds(ctx, first.field, first.descending, single);
    const accept = (doc: QueryDoc) =>
      inScope(query, doc.path) &&
      (query.filter === undefined || matches(doc, query.filter)) &&
      hasOrderFields(doc, query.orderBy) &&
      (query.startAt === undefined || afterStart(doc, query.startAt, query.orderBy)) &&
      (query.endAt === undefined || beforeEnd(doc, query.endAt, query.orderBy));

    const out: QueryDoc[] = [];
    let lastValue: string | undefined;
    let after: IndexRow | undefined;
    for (;;) {
      const rows = byKey
        ? scanner.documentScan(ctx.scope, range, first.descending, after?.key, BATCH)
        : scanner.indexScan(ctx.scope, field, VALUE, range, first.descending, after, BATCH);
      for (const row of rows) {
        if (need !== undefined && out.length >= need && (exactOrder || bytesId(row.value) !== lastValue)) return out;
        if (
          !probes.every((t) =>
            scanner.hasEntry(row.parent, formatFieldPath(t.field), t.kind, t.exact as ArrayBuffer, row.key),
          )
        ) {
          continue;
        }
        const row2 = this.store.getByKey(row.key);
        if (!row2) continue;
        const doc = ctx.toDoc(row2);
        if (!accept(doc)) continue;
        out.push(doc);
        lastValue = bytesId(row.value);
      }
      if (rows.length < BATCH) return out;
      after = rows[rows.length - 1];
    }
  }

  /** Scan bounds on the first order field: its own filters (one conjunction) and the cursors. */
  private bounds(ctx: Ctx, field: string[], descending: boolean, single: Leaf[]): Range {
    const range: Range = {};
    const byKey = isKeyField(field);
    const name = formatFieldPath(field);
    for (const leaf of single) {
      if (leaf.kind !== "field" || formatFieldPath(leaf.field) !== name || !COMPARISONS.has(leaf.op)) continue;
      const path = byKey && "referenceValue" in leaf.value ? ctx.pathOf(leaf.value.referenceValue) : null;
      const bound = byKey ? (path === null ? null : keyRange(leaf.op, path)) : comparisonRange(leaf.op, leaf.value);
      if (bound) tighten(range, bound);
    }
    // A cursor bounds the scan inclusively on its side; the evaluator applies `before` exactly.
    for (const [cursor, isStart] of [
      [ctx.query.startAt, true],
      [ctx.query.endAt, false],
    ] as const) {
      const v = cursor?.values[0];
      if (!v) continue;
      const op = isStart !== descending ? "GREATER_THAN_OR_EQUAL" : "LESS_THAN_OR_EQUAL";
      if (byKey) {
        const path = "referenceValue" in v ? ctx.pathOf(v.referenceValue) : null;
        const bound = path === null ? null : keyRange(op, path);
        if (bound) tighten(range, bound);
      } else {
        // Cursor values may be of another type than the field's filters: bound by bytes only.
        const enc = encodeIndexValue(v);
        tighten(
          range,
          op === "GREATER_THAN_OR_EQUAL" ? { lower: blob(enc) } : { upper: blob(prefixEnd(enc) as Uint8Array) },
        );
      }
    }
    return range;
  }
}

interface Ctx {
  query: NormalizedQuery;
  scope: Scope;
  scanner: Scanner;
  stats: ExecutionStats;
  toDoc: (row: DocRow) => QueryDoc;
  pathOf: (ref: string) => string | null;
  conjunctions: Leaf[][];
  /** offset + limit, when the query can stop early. */
  need: number | undefined;
}
