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
import { binaryString } from "../../src/model/bytes.js";
import { formatFieldPath, projectFields } from "../../src/model/field-path.js";
import { encodeKey } from "../../src/model/path.js";
import type { Micros, Value } from "../../src/model/types.js";
import { fieldsRead, inScope, output, rankQuery, selects } from "../../src/query/evaluate.js";
import {
  type ComparisonOp,
  compareBytes,
  comparisonRanges,
  encodeIndexValue,
  prefixEnd,
} from "../../src/query/index-encoding.js";
import { type Filter, isKeyField, type NormalizedQuery, type QueryDoc } from "../../src/query/types.js";
import { ARRAY_ELEMENT, VALUE } from "./indexes.js";
import { blob, type IndexRow, type Range, Scanner, type Scope, scopeOf } from "./scan.js";
import { type DocRow, type DocumentStore, queryDocOf } from "./store.js";

/** Candidate sets up to this many index entries are read whole; larger ones prefer ordered scans. */
const CANDIDATE_CAP = 2_000;
/**
 * A query at a past read time uses today's indexes when at most this many documents changed
 * since; beyond it, it scans its scope as of then.
 */
const MAX_DELTA = 10_000;
const BATCH = 256;
/**
 * Document bodies (in characters of stored JSON) one query parses before it keeps its candidates
 * partial (see `QueryEngine.run`): below it, small results pay for no second read.
 */
const WHOLE_CANDIDATE_CHARS = 4 * 1024 * 1024;

export interface RunOptions {
  /** Ignore the indexes and scan the scope (the benchmarks' baseline). */
  fullScan?: boolean;
  /**
   * Receives every document the query selects (for aggregations without offset or limit), in no
   * particular order; none is kept, and the result has no documents.
   */
  each?: (doc: QueryDoc) => void;
  /** Fields partial candidates keep besides those the query reads (e.g. aggregated fields). */
  keep?: string[][];
  /** false: returned documents may stay partial (a run whose results are candidates again). */
  wholeResults?: boolean;
  /**
   * Stop reading partial results whole again past this many characters of them (at least one is
   * returned): the result is then `truncated`, and a page of it ends there.
   */
  maxBytes?: number;
}

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
  /** More results follow `docs` (cut at `RunOptions.maxBytes`). */
  truncated?: boolean;
}

const COMPARISONS = new Set(["EQUAL", "LESS_THAN", "LESS_THAN_OR_EQUAL", "GREATER_THAN", "GREATER_THAN_OR_EQUAL"]);

/**
 * The index range holding exactly the values a comparison with `value` accepts (type-bracketed;
 * ranges never reach NaN or null, see `matches`), as one `Range`; an empty one when nothing can match.
 */
function comparisonRange(op: string, value: Value): Range | null {
  if (!COMPARISONS.has(op)) return null;
  const [range] = comparisonRanges(op as ComparisonOp, value);
  if (!range) {
    const enc = blob(encodeIndexValue(value));
    return { lower: enc, upper: enc }; // [x, x) is empty
  }
  return { lower: blob(range.lower), upper: blob(range.upper) };
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

/**
 * The index terms of one conjunction. Comparisons on the same field (e.g. `n >= 5 AND n < 9`)
 * merge into one range term: their intersection, not two half-open scans.
 */
function termsOf(conjunction: Leaf[], pathOf: (ref: string) => string | null): Term[] {
  const out: Term[] = [];
  const ranges = new Map<string, Term>();
  for (const leaf of conjunction) {
    const term = termOf(leaf, pathOf);
    if (!term) continue;
    const mergeable = leaf.kind === "field" && COMPARISONS.has(leaf.op) && term.ranges.length === 1;
    if (!mergeable) {
      out.push(term);
      continue;
    }
    const key = `${term.kind}\u0000${formatFieldPath(term.field)}`;
    const existing = ranges.get(key);
    if (!existing) {
      const copy: Term = { ...term, ranges: [{ ...(term.ranges[0] as Range) }] };
      ranges.set(key, copy);
      out.push(copy);
    } else {
      tighten(existing.ranges[0] as Range, term.ranges[0] as Range);
      existing.exact = undefined; // an intersection is no longer a single known value
    }
  }
  return out;
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
  return binaryString(new Uint8Array(bytes));
}

function describe(scope: Scope, properties: string): ExecutionStats["indexesUsed"][number] {
  return { query_scope: scope.kind === "collection" ? "Collection" : "Collection group", properties };
}

export class QueryEngine {
  /** See WHOLE_CANDIDATE_CHARS (tests lower it to keep candidates partial on small data). */
  wholeCandidateChars = WHOLE_CANDIDATE_CHARS;

  constructor(
    private readonly sql: SqlStorage,
    private readonly store: DocumentStore,
  ) {}

  /**
   * Runs a query on the latest state, or at `readTime`. `database` is its resource name.
   *
   * Memory: candidates are parsed documents until their bodies add up to WHOLE_CANDIDATE_CHARS;
   * past that, each candidate is checked against the query at once and kept `partial` (only the
   * fields the query reads, plus `opts.keep`), and the documents returned are read whole again.
   * With `opts.each`, selected documents are handed over one by one and none is kept.
   */
  run(query: NormalizedQuery, database: string, readTime?: Micros, opts: RunOptions = {}): QueryResult {
    const prefix = `${database}/documents/`;
    const root = `${database}/documents`;
    const scanner = new Scanner(this.sql);
    const stats: ExecutionStats = { indexesUsed: [], indexEntriesScanned: 0, documentsScanned: 0 };
    const each = opts.each;
    const reads = each ? [] : [...fieldsRead(query), ...(opts.keep ?? [])];
    let chars = 0;
    const parse = (row: DocRow): QueryDoc => queryDocOf(row, root);
    const toDoc = (row: DocRow): QueryDoc | null => {
      stats.documentsScanned++;
      const doc = parse(row);
      if (each) {
        if (selects(query, doc)) each(doc);
        return null;
      }
      chars += row.fields.length;
      if (chars <= this.wholeCandidateChars) return doc;
      if (!selects(query, doc)) return null;
      return { ...doc, fields: projectFields(doc.fields, reads), partial: true };
    };
    const done = (candidates: QueryDoc[]): QueryResult => {
      stats.indexEntriesScanned = scanner.indexEntriesScanned;
      // The offset skipped min(offset, matches) documents; counting matches only costs when asked.
      const skipped =
        query.offset === 0 ? 0 : rankQuery({ ...query, offset: 0, limit: query.offset }, candidates).length;
      const docs: QueryDoc[] = [];
      let chars = 0;
      for (const ranked of rankQuery(query, candidates)) {
        if (!ranked.doc.partial || opts.wholeResults === false) {
          docs.push(output(ranked, query));
          continue;
        }
        // Partial documents are read whole again, up to the caller's byte budget.
        if (opts.maxBytes !== undefined && docs.length > 0 && chars >= opts.maxBytes) {
          return { docs, skipped, stats, truncated: true };
        }
        const path = ranked.doc.path;
        const row = readTime === undefined ? this.store.getLatest(path) : this.store.getAt(path, readTime);
        if (!row) throw new Error(`query engine: ${path} vanished while the query ran`);
        chars += row.fields.length;
        docs.push(output({ doc: parse(row), distance: ranked.distance }, query));
      }
      return { docs, skipped, stats };
    };
    const scope = scopeOf(query.parent, query.collectionId, query.allDescendants);
    if (readTime !== undefined && !opts.fullScan && !query.findNearest) {
      const changed = this.store.changedSince(readTime, MAX_DELTA);
      if (changed) return this.runAt(query, database, readTime, changed, opts, toDoc, done);
    }
    if (readTime !== undefined || opts.fullScan) {
      stats.indexesUsed.push(describe(scope, "(full scan)"));
      const candidates: QueryDoc[] = [];
      for (const row of this.store.scopeAt(scope, readTime ?? Number.MAX_SAFE_INTEGER)) {
        const doc = toDoc(row);
        if (doc) candidates.push(doc);
      }
      return done(candidates);
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
    if (picks && ctx.need !== undefined && picks.total > ctx.need) {
      // Both plans are possible: try the ordered scan (which stops after `need` results) within a
      // budget of index rows proportional to the candidate set it would replace; past it, fall back.
      const scanned = this.orderedScan(ctx, Math.max(64, 3 * picks.total));
      if (scanned) return done(scanned);
      ctx.stats.indexesUsed = [];
    }
    if (picks) return done(this.candidateSet(ctx, picks.terms));
    return done(this.orderedScan(ctx, Number.POSITIVE_INFINITY) as QueryDoc[]);
  }

  /**
   * A query at a past `readTime`, through today's indexes: documents unchanged since then are the
   * same now, so the query runs on the present (widened by the number of documents that changed,
   * so that dropping those cannot starve it), and the changed documents are added back as they
   * were at `readTime`; the evaluator then orders, cuts and projects the union.
   */
  private runAt(
    query: NormalizedQuery,
    database: string,
    readTime: Micros,
    changed: ReadonlySet<string>,
    opts: RunOptions,
    toDoc: (row: DocRow) => QueryDoc | null,
    done: (candidates: QueryDoc[]) => QueryResult,
  ): QueryResult {
    const widened: NormalizedQuery = {
      ...query,
      offset: 0,
      projection: undefined,
      limit: query.limit === undefined ? undefined : query.offset + query.limit + changed.size,
    };
    // The present run hands over (or returns) only unchanged documents; its results stay partial
    // where they are (the outer `done` reads the returned ones whole, at `readTime`).
    const each = opts.each;
    const present = this.run(widened, database, undefined, {
      ...opts,
      each:
        each &&
        ((doc) => {
          if (!changed.has(doc.path)) each(doc);
        }),
      wholeResults: false,
    });
    const candidates = present.docs.filter((d) => !changed.has(d.path));
    for (const path of changed) {
      if (!inScope(query, path)) continue;
      const row = this.store.getAt(path, readTime);
      const doc = row && toDoc(row);
      if (doc) candidates.push(doc);
    }
    const result = done(candidates);
    result.stats.indexesUsed = present.stats.indexesUsed;
    result.stats.indexEntriesScanned += present.stats.indexEntriesScanned;
    result.stats.documentsScanned += present.stats.documentsScanned;
    return result;
  }

  /** The most selective term of every conjunction, when reading them is the cheaper plan. */
  private selectiveTerms(ctx: Ctx): { terms: Term[]; total: number } | null {
    // Above this many candidates an ordered scan (which can stop early) is expected to be cheaper.
    const budget = ctx.need === undefined ? Number.POSITIVE_INFINITY : Math.max(CANDIDATE_CAP, 20 * ctx.need);
    const terms: Term[] = [];
    let total = 0;
    for (const conjunction of ctx.conjunctions) {
      let best: { term: Term; count: number } | undefined;
      for (const term of termsOf(conjunction, ctx.pathOf)) {
        // Counting past the best term so far (or the cap) cannot change the choice.
        const count = this.count(ctx, term, Math.min(CANDIDATE_CAP + 1, best?.count ?? CANDIDATE_CAP + 1));
        if (!best || count < best.count) best = { term, count };
        if (best.count === 0) break;
      }
      if (!best) return null;
      terms.push(best.term);
      total += best.count;
      if (total > budget) return null;
    }
    return { terms, total };
  }

  /**
   * Counts a query's matches from index entries alone, without reading documents, when its filter
   * is one conjunction of index terms and nothing else (order fields, cursors, offset, limit) can
   * exclude a document: the smallest term's entries are walked and the other (exact) terms probed.
   * Returns null when the query needs the general path. Stops at `upTo`.
   */
  countOnly(query: NormalizedQuery, upTo = Number.POSITIVE_INFINITY): { count: number; stats: ExecutionStats } | null {
    if (query.findNearest || query.offset > 0 || query.limit !== undefined || query.startAt || query.endAt) return null;
    // A kindless query over direct children only has no index scope of its own (scopes cover all
    // descendants); the general path filters it with the evaluator.
    if (query.collectionId === null && !query.allDescendants) return null;
    const conjunctions = dnf(query.filter);
    if (conjunctions.length !== 1) return null;
    const leaves = conjunctions[0] ?? [];
    const pathOf = () => null; // __name__ terms are not counted here
    const terms = termsOf(leaves, pathOf);
    if (terms.length === 0) return null;
    // Every leaf must be an index term, and every ordered field must be one of them (a document
    // without an ordered field would not be counted by the query).
    if (leaves.some((leaf) => termOf(leaf, pathOf) === null)) return null;
    const termFields = new Set(terms.map((t) => formatFieldPath(t.field)));
    if (query.orderBy.some((o) => !isKeyField(o.field) && !termFields.has(formatFieldPath(o.field)))) return null;
    const scanner = new Scanner(this.sql);
    const stats: ExecutionStats = { indexesUsed: [], indexEntriesScanned: 0, documentsScanned: 0 };
    const ctx = { scope: scopeOf(query.parent, query.collectionId, query.allDescendants), scanner } as Ctx;
    let driver: { term: Term; count: number } | undefined;
    for (const term of terms) {
      const count = this.count(ctx, term, driver?.count ?? Number.MAX_SAFE_INTEGER);
      if (!driver || count < driver.count) driver = { term, count };
    }
    const lead = (driver as { term: Term }).term;
    const probes = terms.filter((t) => t !== lead);
    if (probes.some((t) => t.exact === undefined)) return null;
    const field = formatFieldPath(lead.field);
    stats.indexesUsed.push(
      describe(ctx.scope, `(${field} ${lead.kind === ARRAY_ELEMENT ? "CONTAINS" : "ASC"}, __name__ ASC)`),
    );
    // Several ranges can hold the same document (array elements, or `in` listing equal values such
    // as 1 and 1.0): count it once.
    const seen = lead.ranges.length > 1 ? new Set<string>() : undefined;
    let n = 0;
    for (const range of lead.ranges) {
      let after: IndexRow | undefined;
      for (;;) {
        const rows = scanner.indexScan(ctx.scope, field, lead.kind, range, false, after, BATCH);
        for (const row of rows) {
          if (
            !probes.every((t) =>
              scanner.hasEntry(row.parent, formatFieldPath(t.field), t.kind, t.exact as ArrayBuffer, row.key),
            )
          ) {
            continue;
          }
          if (seen) {
            const id = bytesId(row.key);
            if (seen.has(id)) continue;
            seen.add(id);
          }
          if (++n >= upTo) break;
        }
        if (n >= upTo || rows.length < BATCH) break;
        after = rows[rows.length - 1];
      }
      if (n >= upTo) break;
    }
    stats.indexEntriesScanned = scanner.indexEntriesScanned;
    return { count: n, stats };
  }

  /** Index entries (or documents) of a term, counting at most `cap`. */
  private count(ctx: Ctx, term: Term, cap: number): number {
    let n = 0;
    for (const range of term.ranges) {
      if (n >= cap) break;
      n += isKeyField(term.field)
        ? ctx.scanner.countDocuments(ctx.scope, range, cap - n)
        : ctx.scanner.countIndex(ctx.scope, formatFieldPath(term.field), term.kind, range, cap - n);
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
            const stored = this.store.getByKey(row.key);
            const doc = stored && ctx.toDoc(stored);
            if (doc) out.push(doc);
          }
          if (rows.length < BATCH) break;
          after = rows[rows.length - 1];
        }
      }
    }
    return out;
  }

  /**
   * Walks the first order field's index (or, ordered by `__name__`, the keys — through the
   * smallest exact-value term's index range when there is one, whose keys are in key order) in
   * query order; see the module comment. Returns null when `budget` driver rows were read before
   * the result was complete.
   */
  private orderedScan(ctx: Ctx, budget: number): QueryDoc[] | null {
    const { query, scanner, need } = ctx;
    const first = query.orderBy[0] ?? { field: ["__name__"], descending: false };
    const byKey = isKeyField(first.field);
    const dir = first.descending ? "DESC" : "ASC";
    // Index order is (value, key) in the scan direction: it is the query order exactly when the
    // order is [first, __name__] in one direction; otherwise equal first values need a full group.
    const exactOrder =
      query.orderBy.length <= 1 || (query.orderBy.length === 2 && query.orderBy[1]?.descending === first.descending);
    const single = ctx.conjunctions.length === 1 ? (ctx.conjunctions[0] ?? []) : [];
    const exacts = termsOf(single, ctx.pathOf).filter((t) => t.exact !== undefined && !isKeyField(t.field));
    // Ordered by key with an equality: drive by that equality's entries (one value, so key order).
    const driver = byKey ? exacts[0] : undefined;
    const probes = exacts.filter((t) => t !== driver);
    const field = formatFieldPath(driver ? driver.field : first.field);
    const range = driver ? (driver.ranges[0] as Range) : this.bounds(ctx, first.field, first.descending, single);
    const kind = driver ? driver.kind : VALUE;
    ctx.stats.indexesUsed.push(
      describe(
        ctx.scope,
        byKey && !driver ? `(__name__ ${dir})` : `(${field} ${driver ? "ASC" : dir}, __name__ ${dir})`,
      ),
    );
    const accept = (doc: QueryDoc) => selects(query, doc);

    const out: QueryDoc[] = [];
    let lastValue: string | undefined;
    let after: IndexRow | undefined;
    let read = 0;
    for (;;) {
      const rows =
        byKey && !driver
          ? scanner.documentScan(ctx.scope, range, first.descending, after?.key, BATCH)
          : scanner.indexScan(ctx.scope, field, kind, range, first.descending, after, BATCH);
      for (const row of rows) {
        // With a key-ordered driver every row has the same value: only the key orders them.
        const position = driver ? bytesId(row.key) : bytesId(row.value);
        if (need !== undefined && out.length >= need && (exactOrder || position !== lastValue)) return out;
        if (++read > budget) return null;
        if (
          !probes.every((t) =>
            scanner.hasEntry(row.parent, formatFieldPath(t.field), t.kind, t.exact as ArrayBuffer, row.key),
          )
        ) {
          continue;
        }
        const stored = this.store.getByKey(row.key);
        if (!stored) continue;
        const doc = ctx.toDoc(stored);
        if (!doc || !accept(doc)) continue;
        out.push(doc);
        lastValue = position;
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
  /** Parses a candidate; null when it is not kept (see `run`). */
  toDoc: (row: DocRow) => QueryDoc | null;
  pathOf: (ref: string) => string | null;
  conjunctions: Leaf[][];
  /** offset + limit, when the query can stop early. */
  need: number | undefined;
}
