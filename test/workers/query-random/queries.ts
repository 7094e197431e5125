/**
 * Random StructuredQuery generation (proto3 JSON), biased towards valid queries whose operands and
 * cursor positions are values that really occur in the scope, so that results are rarely empty.
 */
import { parseFieldPath } from "../../../src/model/field-path.js";
import type { DatabaseRef } from "../../../src/model/path.js";
import type { Value } from "../../../src/model/types.js";
import { fieldValueOf, inScope, runQuery } from "../../../src/query/evaluate.js";
import { decodeStructuredQuery } from "../../../src/query/normalize.js";
import type { NormalizedQuery, QueryDoc } from "../../../src/query/types.js";
import { anyValue, elementPool, type V } from "./data.js";
import type { Rng } from "./prng.js";

export type Json = Record<string, unknown>;

/** Where a query runs: the URL parent and its `from` selector. */
export interface ScopeSpec {
  label: string;
  parent: string;
  from: Json;
  /** Queries over the large collection (few distinct values, ordered-scan plans). */
  big: boolean;
}

export interface GenContext {
  rng: Rng;
  db: DatabaseRef;
  /** `projects/{p}/databases/(default)/documents`. */
  root: string;
  docs: QueryDoc[];
  parents: string[];
  missingParents: string[];
}

export interface GenQuery {
  scope: ScopeSpec;
  query: Json;
}

export const FIELD_OPS = [
  "EQUAL",
  "NOT_EQUAL",
  "LESS_THAN",
  "LESS_THAN_OR_EQUAL",
  "GREATER_THAN",
  "GREATER_THAN_OR_EQUAL",
  "ARRAY_CONTAINS",
  "IN",
  "ARRAY_CONTAINS_ANY",
  "NOT_IN",
] as const;
export const UNARY_OPS = ["IS_NULL", "IS_NAN", "IS_NOT_NULL", "IS_NOT_NAN"] as const;

const RICH_FIELDS = ["a", "b", "c", "m", "m.x", "arr", "`x.y`", "nope"];
const BIG_FIELDS = ["a", "b", "c", "m.x", "arr"];

/** An equal value: the other numeric type when it is an exact integer, else the value itself. */
export function numericTwin(v: V): V {
  if ("integerValue" in v) {
    const n = Number(v.integerValue);
    return Number.isSafeInteger(n) ? { doubleValue: n } : v;
  }
  if ("doubleValue" in v && typeof v.doubleValue === "number" && Number.isSafeInteger(v.doubleValue)) {
    return { integerValue: String(v.doubleValue) };
  }
  return v;
}

export function pickScope(g: GenContext, kindlessDirect = 1): ScopeSpec {
  const { rng } = g;
  return rng.weighted<() => ScopeSpec>([
    [30, () => ({ label: "collection c", parent: "", from: { collectionId: "c" }, big: false })],
    [24, () => ({ label: "collection big", parent: "", from: { collectionId: "big" }, big: true })],
    [5, () => ({ label: "collection other", parent: "", from: { collectionId: "other" }, big: false })],
    [2, () => ({ label: "collection sub (root)", parent: "", from: { collectionId: "sub" }, big: false })],
    [9, () => ({ label: "group sub", parent: "", from: { collectionId: "sub", allDescendants: true }, big: false })],
    [7, () => ({ label: "group c", parent: "", from: { collectionId: "c", allDescendants: true }, big: false })],
    [2, () => ({ label: "group big", parent: "", from: { collectionId: "big", allDescendants: true }, big: true })],
    [
      3,
      () => ({
        label: "group sub under a document",
        parent: rng.pick(g.parents),
        from: { collectionId: "sub", allDescendants: true },
        big: false,
      }),
    ],
    [
      2,
      () => ({
        label: "group c under a c document",
        parent: rng.pick(g.parents.filter((p) => p.startsWith("c/"))),
        from: { collectionId: "c", allDescendants: true },
        big: false,
      }),
    ],
    [
      6,
      () => ({
        label: "subcollection sub",
        parent: rng.pick(g.parents),
        from: { collectionId: "sub" },
        big: false,
      }),
    ],
    [
      3,
      () => ({
        label: "subcollection under a missing parent",
        parent: rng.pick(g.missingParents),
        from: { collectionId: "sub", ...(rng.chance(0.5) ? { allDescendants: true } : {}) },
        big: false,
      }),
    ],
    [
      3,
      () => ({
        label: "kindless (all descendants)",
        parent: rng.chance(0.5) ? "" : rng.pick(g.parents),
        from: { allDescendants: true },
        big: false,
      }),
    ],
    [
      kindlessDirect,
      () => ({ label: "kindless (direct)", parent: rng.chance(0.5) ? "" : rng.pick(g.parents), from: {}, big: false }),
    ],
  ])();
}

function inScopeDocs(g: GenContext, scope: ScopeSpec): QueryDoc[] {
  const q = {
    parent: scope.parent,
    collectionId: (scope.from.collectionId as string | undefined) ?? null,
    allDescendants: scope.from.allDescendants === true,
  };
  return g.docs.filter((d) => inScope(q, d.path));
}

/** Memoized per scope label+parent: the documents a scope holds. */
class ScopeDocs {
  private cache = new Map<string, QueryDoc[]>();
  constructor(private readonly g: GenContext) {}
  of(scope: ScopeSpec): QueryDoc[] {
    const key = `${scope.parent}|${JSON.stringify(scope.from)}`;
    let docs = this.cache.get(key);
    if (!docs) {
      docs = inScopeDocs(this.g, scope);
      this.cache.set(key, docs);
    }
    return docs;
  }
}

export class QueryGenerator {
  private readonly scopes: ScopeDocs;
  private readonly elements: V[];

  constructor(private readonly g: GenContext) {
    this.scopes = new ScopeDocs(g);
    this.elements = elementPool(g.root);
  }

  private get rng(): Rng {
    return this.g.rng;
  }

  /** A value of `field` taken from a random document of the scope, if one has it. */
  private existing(docs: QueryDoc[], field: string, element: boolean): V | undefined {
    if (docs.length === 0) return undefined;
    const path = parseFieldPath(field, "field");
    for (let tries = 0; tries < 6; tries++) {
      const v = fieldValueOf(this.rng.pick(docs), path) as Value | undefined;
      if (v === undefined) continue;
      if (element) {
        if (!("arrayValue" in v) || v.arrayValue.values.length === 0) continue;
        return this.rng.pick(v.arrayValue.values) as V;
      }
      return v as V;
    }
    return undefined;
  }

  private operand(docs: QueryDoc[], field: string, element: boolean): V {
    const { rng } = this;
    if (rng.chance(0.6)) {
      const v = this.existing(docs, field, element);
      if (v !== undefined && !(element && "arrayValue" in v)) return v;
    }
    if (element || rng.chance(0.2)) return rng.pick(this.elements);
    return anyValue(rng, this.g.root);
  }

  private reference(docs: QueryDoc[]): V {
    const { rng, g } = this;
    return rng.weighted<() => V>([
      [6, () => ({ referenceValue: rng.pick(docs.length > 0 ? docs : g.docs).name })],
      [2, () => ({ referenceValue: rng.pick(g.docs).name })],
      [
        2,
        () => ({
          referenceValue: `${g.root}/${rng.pick(["c/d5", "c/zzz", "big/k01500", "c/d1/sub/s2", "other/o15", "sub/r3", "a/b", "missing/m1/sub/s1", "c/__id7__"])}`,
        }),
      ],
    ])();
  }

  private nameFilter(docs: QueryDoc[]): Json {
    const { rng } = this;
    const op = rng.weighted([
      [6, "EQUAL"],
      [3, "NOT_EQUAL"],
      [4, "LESS_THAN"],
      [4, "LESS_THAN_OR_EQUAL"],
      [4, "GREATER_THAN"],
      [4, "GREATER_THAN_OR_EQUAL"],
      [4, "IN"],
      [2, "NOT_IN"],
      [0.2, "ARRAY_CONTAINS"], // invalid on __name__
      [0.2, "ARRAY_CONTAINS_ANY"], // invalid on __name__
    ] as const);
    let value: V;
    if (op === "IN" || op === "NOT_IN" || op === "ARRAY_CONTAINS_ANY") {
      value = { arrayValue: { values: Array.from({ length: rng.range(1, 4) }, () => this.reference(docs)) } };
    } else if (rng.chance(0.03)) {
      value = { stringValue: "c/d1" }; // invalid: not a reference
    } else {
      value = this.reference(docs);
    }
    return { fieldFilter: { field: { fieldPath: "__name__" }, op, value } };
  }

  private leaf(scope: ScopeSpec, docs: QueryDoc[], indexOnly = false): Json {
    const { rng } = this;
    if (!indexOnly && rng.chance(scope.big ? 0.06 : 0.1)) return this.nameFilter(docs);
    const fields = scope.big ? BIG_FIELDS : RICH_FIELDS;
    const kinds = [
      [20, "EQUAL"],
      [5, "NOT_EQUAL"],
      [5, "LESS_THAN"],
      [5, "LESS_THAN_OR_EQUAL"],
      [5, "GREATER_THAN"],
      [5, "GREATER_THAN_OR_EQUAL"],
      [8, "ARRAY_CONTAINS"],
      [8, "IN"],
      [6, "ARRAY_CONTAINS_ANY"],
      [4, "NOT_IN"],
      [8, "unary"],
    ] as const;
    // Index-only operators: what an index range answers exactly (no !=, NOT_IN, IS_NOT_*).
    const kind = rng.weighted(indexOnly ? kinds.filter(([, k]) => k !== "NOT_EQUAL" && k !== "NOT_IN") : kinds);
    const arrayOp = kind === "ARRAY_CONTAINS" || kind === "ARRAY_CONTAINS_ANY";
    const field = arrayOp && rng.chance(0.75) ? "arr" : rng.pick(fields);
    if (kind === "unary") {
      return {
        unaryFilter: { field: { fieldPath: field }, op: rng.pick(indexOnly ? ["IS_NULL", "IS_NAN"] : UNARY_OPS) },
      };
    }
    let value: V;
    if (kind === "IN" || kind === "NOT_IN" || kind === "ARRAY_CONTAINS_ANY") {
      const n = rng.weighted([
        [5, 1],
        [5, 2],
        [3, 3],
        [2, 5],
        [0.3, 11],
      ] as const);
      const values = Array.from({ length: n }, () => this.operand(docs, field, kind === "ARRAY_CONTAINS_ANY"));
      // Repeated values, and equal values of both numeric types (1 and 1.0): one match each.
      if (rng.chance(0.25)) values.push(numericTwin(rng.pick(values)));
      value = { arrayValue: { values: rng.chance(0.01) ? [] : values } };
    } else {
      value = this.operand(docs, field, kind === "ARRAY_CONTAINS");
    }
    return { fieldFilter: { field: { fieldPath: field }, op: kind, value } };
  }

  private filter(scope: ScopeSpec, docs: QueryDoc[], depth: number): Json {
    const { rng } = this;
    if (depth < 3 && rng.chance(depth === 0 ? 0.45 : 0.25)) {
      const op = rng.chance(0.5) ? "AND" : "OR";
      const n = rng.weighted([
        [1, 1],
        [6, 2],
        [3, 3],
        [1, 4],
      ] as const);
      const filters = Array.from({ length: n }, () => this.filter(scope, docs, depth + 1));
      return { compositeFilter: { op, filters } };
    }
    return this.leaf(scope, docs);
  }

  private orderBy(scope: ScopeSpec): Json[] | undefined {
    const { rng } = this;
    const n = rng.weighted([
      [4, 0],
      [5, 1],
      [3, 2],
      [0.3, 3],
    ] as const);
    if (n === 0) return undefined;
    const pool = scope.big ? ["b", "b", "c", "a", "m.x", "arr", "__name__"] : [...RICH_FIELDS, "__name__"];
    const fields: string[] = [];
    for (let i = 0; i < n; i++) {
      let f = rng.pick(pool);
      // Mostly distinct fields, and __name__ last (both rules are validated by the decoder).
      if (rng.chance(0.95)) {
        for (let t = 0; t < 5 && (fields.includes(f) || (f === "__name__" && i < n - 1)); t++) f = rng.pick(pool);
      }
      fields.push(f);
    }
    return fields.map((f) => {
      const direction = rng.weighted([
        [5, "ASCENDING"],
        [5, "DESCENDING"],
        [1, undefined],
        [0.5, "DIRECTION_UNSPECIFIED"],
      ] as const);
      return direction === undefined ? { field: { fieldPath: f } } : { field: { fieldPath: f }, direction };
    });
  }

  /** The query without cursors; regenerated a few times while invalid, to keep most queries valid. */
  private base(scope: ScopeSpec, docs: QueryDoc[]): { query: Json; normalized?: NormalizedQuery } {
    const { rng } = this;
    let query: Json = {};
    for (let attempt = 0; attempt < 20; attempt++) {
      query = { from: [scope.from] };
      if (rng.chance(0.8)) query.where = this.filter(scope, docs, 0);
      const orderBy = this.orderBy(scope);
      if (orderBy) query.orderBy = orderBy;
      const normalized = this.tryDecode(query, scope.parent);
      if (normalized || rng.chance(0.12)) return { query, normalized };
    }
    return { query };
  }

  tryDecode(query: Json, parent: string): NormalizedQuery | undefined {
    try {
      return decodeStructuredQuery(query, this.g.db, parent, "structured_query");
    } catch {
      return undefined;
    }
  }

  private cursor(normalized: NormalizedQuery, docs: QueryDoc[]): Json {
    const { rng } = this;
    const before = rng.chance(0.5);
    const order = normalized.orderBy;
    // Usually a real position: a document of the (uncursored) result.
    const results = runQuery({ ...normalized, offset: 0, limit: undefined, projection: undefined }, docs);
    let values: V[];
    if (results.length > 0 && rng.chance(0.8)) {
      const doc = rng.pick(results);
      const k = rng.range(1, order.length);
      values = order.slice(0, k).map((o) => fieldValueOf(doc, o.field) as V);
    } else {
      const k = rng.weighted([
        [4, 1],
        [1, 2],
      ] as const);
      values = order
        .slice(0, k)
        .map((o) =>
          o.field.length === 1 && o.field[0] === "__name__"
            ? this.reference(docs)
            : (this.existing(docs, o.field.join("."), false) ?? anyValue(rng, this.g.root)),
        );
    }
    if (rng.chance(0.01)) values.push({ integerValue: "1" }); // invalid: longer than the order
    return before ? { values, before: true } : rng.chance(0.5) ? { values } : { values, before: false };
  }

  /**
   * A query the engine may count from index entries alone: an AND of index-answerable filters,
   * ordered by nothing or by one of the filtered fields, without cursors, offset or limit.
   */
  countQuery(): GenQuery {
    const { rng } = this;
    const scope = pickScope(this.g, 10);
    const docs = this.scopes.of(scope);
    let query: Json = {};
    for (let attempt = 0; attempt < 20; attempt++) {
      const n = rng.weighted([
        [4, 1],
        [4, 2],
        [2, 3],
      ] as const);
      const leaves = Array.from({ length: n }, () => this.leaf(scope, docs, true));
      query = { from: [scope.from] };
      if (n > 1 || rng.chance(0.2)) query.where = { compositeFilter: { op: "AND", filters: leaves } };
      else query.where = leaves[0];
      if (rng.chance(0.4)) {
        const leaf = rng.pick(leaves) as any;
        const fieldPath = (leaf.fieldFilter ?? leaf.unaryFilter).field.fieldPath;
        query.orderBy = [{ field: { fieldPath }, direction: rng.pick(["ASCENDING", "DESCENDING"]) }];
      } else if (rng.chance(0.1)) {
        query.orderBy = [{ field: { fieldPath: rng.pick(scope.big ? BIG_FIELDS : RICH_FIELDS) } }];
      }
      if (this.tryDecode(query, scope.parent)) break;
    }
    return { scope, query };
  }

  /**
   * The query with one of the decoder's rules (most likely) broken: the server must reject what
   * the reference decoder rejects, and accept what it accepts.
   */
  private breakRule(query: Json, scope: ScopeSpec): Json {
    const { rng } = this;
    const root = this.g.root;
    const f = (fieldPath: string, op: unknown, value: unknown) => ({
      fieldFilter: { field: { fieldPath }, op, value },
    });
    const u = (fieldPath: string, op: string) => ({ unaryFilter: { field: { fieldPath }, op } });
    const and = (...filters: unknown[]) => ({ compositeFilter: { op: "AND", filters } });
    const or = (...filters: unknown[]) => ({ compositeFilter: { op: "OR", filters } });
    const list = (...values: V[]) => ({ arrayValue: { values } });
    const ints = (n: number) => list(...Array.from({ length: n }, (_, i) => ({ integerValue: String(i) })));
    const withWhere = (where: unknown) => ({ ...query, where });
    const ref = { referenceValue: `${root}/c/d1` };
    const breakers: (() => Json)[] = [
      () => withWhere(and(f("a", "NOT_EQUAL", { integerValue: "1" }), u("b", "IS_NOT_NULL"))),
      () => withWhere(and(f("a", "NOT_IN", ints(2)), or(f("b", "EQUAL", { integerValue: "1" }), f("c", "EQUAL", ref)))),
      () => withWhere(and(f("a", "NOT_IN", ints(2)), f("b", "IN", ints(2)))),
      () => withWhere(and(f("a", "NOT_IN", ints(2)), f("arr", "ARRAY_CONTAINS_ANY", ints(2)))),
      () => withWhere(f("a", "IN", ints(rng.pick([30, 31])))),
      () => withWhere(and(f("a", "IN", ints(6)), f("b", "IN", ints(rng.pick([5, 6]))))),
      () => withWhere(and(f("arr", "ARRAY_CONTAINS", { integerValue: "1" }), f("arr", "ARRAY_CONTAINS_ANY", ints(2)))),
      () => withWhere(or(f("arr", "ARRAY_CONTAINS", { integerValue: "1" }), f("m", "ARRAY_CONTAINS", ref))),
      () => withWhere(f("a", "NOT_IN", ints(rng.pick([10, 11])))),
      () => withWhere(f("a", rng.pick(["IN", "NOT_IN", "ARRAY_CONTAINS_ANY"]), list())),
      () => withWhere(f("a", rng.pick(["IN", "NOT_IN", "ARRAY_CONTAINS_ANY"]), { integerValue: "1" })),
      () => withWhere(f("arr", "ARRAY_CONTAINS", ints(1))),
      () => withWhere(f("arr", "ARRAY_CONTAINS_ANY", list(ints(1) as V))),
      () => withWhere(f("a", "IN", list(ints(2) as V))), // valid: IN may compare with arrays
      () => withWhere(f("__name__", rng.pick(["EQUAL", "LESS_THAN"]), { stringValue: "c/d1" })),
      () => withWhere(f("__name__", "EQUAL", { referenceValue: "projects/x/databases/(default)/documents/c/d1" })),
      () => withWhere(f("__name__", rng.pick(["ARRAY_CONTAINS", "ARRAY_CONTAINS_ANY"]), list(ref))),
      () => withWhere(f("__name__", "EQUAL", { referenceValue: `${root}/c` })),
      () => withWhere(u("__name__", rng.pick(["IS_NULL", "IS_NAN"]))),
      () => withWhere(f("a", rng.pick(["LIKE", "OPERATOR_UNSPECIFIED", 0, 99]), { integerValue: "1" })),
      () => withWhere(u("a", rng.pick(["IS_EMPTY", "OPERATOR_UNSPECIFIED"]))),
      () => withWhere({ compositeFilter: { op: rng.pick(["AND", "OR"]), filters: [] } }),
      () => withWhere({ compositeFilter: { op: "XOR", filters: [u("a", "IS_NULL")] } }),
      () => withWhere(and(...Array.from({ length: 11 }, (_, i) => f(`f${i}`, "GREATER_THAN", { integerValue: "0" })))),
      () => withWhere(and(...Array.from({ length: 10 }, (_, i) => f(`f${i}`, "GREATER_THAN", { integerValue: "0" })))),
      () => withWhere(f("", "EQUAL", { integerValue: "1" })),
      () => withWhere(f("a..b", "EQUAL", { integerValue: "1" })),
      () => withWhere(f("a", "EQUAL", { integerValue: "x" })),
      () => withWhere({ fieldFilter: { field: { fieldPath: "a" }, op: "EQUAL" } }),
      () => ({
        ...query,
        orderBy: [{ field: { fieldPath: "a" } }, { field: { fieldPath: "a" }, direction: "DESCENDING" }],
      }),
      () => ({ ...query, orderBy: [{ field: { fieldPath: "__name__" } }, { field: { fieldPath: "a" } }] }),
      () => ({ ...query, orderBy: [{ field: { fieldPath: "a" }, direction: "SIDEWAYS" }] }),
      () => ({ ...query, startAt: { values: Array.from({ length: 5 }, () => ({ integerValue: "1" })) } }),
      () => ({ ...query, orderBy: undefined, endAt: { values: [{ stringValue: "c/d1" }] } }),
      () => ({ ...query, limit: rng.pick([-1, "abc", 1.5, { value: -2 }]) }),
      () => ({ ...query, offset: rng.pick([-1, "x", 2 ** 31]) }),
      () => ({ ...query, from: [scope.from, scope.from] }),
      () => ({ ...query, from: [] }),
      () => ({ ...query, from: [{ collectionId: rng.pick(["a/b", "__x__", ""]) }] }),
      () => ({ ...query, select: { fields: [{ fieldPath: rng.pick(["a..b", "", "`"]) }] } }),
      () => ({ ...query, unknownField: 1 }),
    ];
    return rng.pick(breakers)();
  }

  next(): GenQuery {
    const { rng } = this;
    const scope = pickScope(this.g);
    const docs = this.scopes.of(scope);
    const { query, normalized } = this.base(scope, docs);
    if (normalized) {
      if (rng.chance(0.3)) query.startAt = this.cursor(normalized, docs);
      if (rng.chance(0.25)) query.endAt = this.cursor(normalized, docs);
    }
    if (rng.chance(0.2)) query.offset = rng.pick([0, 1, 2, 3, 7, 20]);
    if (rng.chance(scope.big ? 0.8 : 0.45)) {
      const limit = rng.pick([0, 1, 2, 3, 5, 10, 20, 50, 100]);
      query.limit = rng.chance(0.2) ? { value: limit } : limit;
    }
    if (rng.chance(0.15)) {
      const n = rng.range(0, 3);
      const fields = rng.sample(["a", "b", "m.x", "m", "arr", "__name__", "nope", "`x.y`"], n);
      query.select = { fields: fields.map((fieldPath) => ({ fieldPath })) };
    }
    if (rng.chance(0.06)) return { scope, query: this.breakRule(query, scope) };
    return { scope, query };
  }
}

/** 1–3 count aggregations, some with `upTo`. */
export function randomCounts(rng: Rng): Json[] {
  return Array.from({ length: rng.range(1, 3) }, (_, i) => ({
    ...(rng.chance(0.5) ? { alias: `n${i}` } : {}),
    count: rng.chance(0.4) ? { upTo: rng.pick([1, 2, 5, 40, "100", { value: "3" }]) } : {},
  }));
}

/** 1–3 random aggregations (count, count up to, sum, avg) over mixed-type fields. */
export function randomAggregations(rng: Rng): Json[] {
  const n = rng.range(1, 3);
  const aliases = ["total", "s", "avg_b", "x"];
  return Array.from({ length: n }, (_, i) => {
    const kind = rng.weighted([
      [3, "count"],
      [4, "sum"],
      [4, "avg"],
    ] as const);
    const alias = rng.chance(0.5) ? { alias: `${aliases[i]}${i}` } : {};
    if (kind === "count") return { ...alias, count: rng.chance(0.3) ? { upTo: rng.pick([1, 5, "100"]) } : {} };
    const fieldPath = rng.weighted([
      [5, "b"],
      [3, "a"],
      [2, "m.x"],
      [1, "arr"],
      [1, "nope"],
      [0.3, "__name__"],
    ] as const);
    return { ...alias, [kind]: { field: { fieldPath } } };
  });
}
