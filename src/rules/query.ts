/**
 * Rules are not filters: a query (list) is allowed only if the rules allow every document it could
 * return, decided from the query itself, never from what it happens to find.
 *
 * The query's filter is taken in disjunctive normal form (an `IN` is one term per value); each term
 * must be allowed. In a term, the fields that equality filters fix are known to the rules
 * (`resource.data.owner == request.auth.uid` holds for every result of `where("owner", "==", uid)`),
 * and so is the document when `__name__` is fixed; every other field, the id, and the listing of
 * keys are unknown, and a condition that depends on them is not true, except comparisons that the
 * query's range filters imply (`where("age", ">", 18)` proves `resource.data.age >= 18`). A collection-group query's
 * documents may be at any depth: only a `{path=**}` rule covers them.
 */
import type { Value } from "../model/types.js";
import type { Filter, NormalizedQuery } from "../query/types.js";
import type { Ruleset } from "./ast.js";
import { ANY_ID, ANY_PATH, type Decision, decide, type RulesRequest, type Segment } from "./engine.js";
import { type DocumentLookup, RequestLookups } from "./evaluate.js";
import {
  type Bound,
  compareOrNaN,
  fromFirestore,
  RMap,
  RPartialMap,
  RPath,
  RRange,
  RUnknown,
  type RValue,
} from "./values.js";

/** Firestore's limit on a query's disjunctions; past it (not reachable after validation) deny. */
const MAX_TERMS = 30;

type Leaf = Extract<Filter, { kind: "field" | "unary" }>;

const RANGE_OPS = {
  GREATER_THAN: "lower",
  GREATER_THAN_OR_EQUAL: "lower",
  LESS_THAN: "upper",
  LESS_THAN_OR_EQUAL: "upper",
} as const;

export interface QueryRulesRequest {
  database: string;
  query: NormalizedQuery;
  auth: RulesRequest["auth"];
  time: RulesRequest["time"];
}

/** Whether the rules allow `list` for every document `query` could return. */
export function decideQuery(
  ruleset: Ruleset,
  request: QueryRulesRequest,
  lookup: DocumentLookup,
  maxLookups: number,
): Decision {
  const { query } = request;
  // One request: its disjunctions share the lookups (a document read twice counts once).
  const lookups = new RequestLookups(maxLookups);
  const terms = dnf(query.filter);
  if (terms.length > MAX_TERMS) return { allowed: false, reason: `more than ${MAX_TERMS} disjunctions` };
  const parent = query.parent === "" ? [] : query.parent.split("/");
  const queryMap = RMap.of({
    limit: query.limit === undefined ? null : BigInt(query.limit),
    offset: BigInt(query.offset),
    orderBy: query.orderBy.map((o) => RMap.of({ field: o.field.join("."), direction: o.descending ? "DESC" : "ASC" })),
  });
  for (const term of terms) {
    const fixed = new Map<string, RValue>();
    const ranges = new Map<string, { lower?: Bound; upper?: Bound }>();
    let name: string[] | undefined;
    for (const leaf of term) {
      if (leaf.kind === "unary") {
        if (leaf.op === "IS_NULL") fixed.set(leaf.field.join("\u0000"), null);
        continue;
      }
      const key = leaf.field.join("\u0000");
      if (leaf.op in RANGE_OPS && !(leaf.field.length === 1 && leaf.field[0] === "__name__")) {
        const range = ranges.get(key) ?? {};
        const bound = { value: fromFirestore(leaf.value), inclusive: leaf.op.endsWith("_OR_EQUAL") };
        // Of two bounds on one side, the tighter holds (both must, for every result).
        const side = RANGE_OPS[leaf.op as keyof typeof RANGE_OPS];
        const current = range[side];
        const tighter = (a: Bound, b: Bound) => {
          const d = compareOrNaN(a.value, b.value);
          if (Number.isNaN(d)) return a;
          if (d === 0) return a.inclusive ? b : a;
          return (side === "lower") === d > 0 ? a : b;
        };
        range[side] = current ? tighter(current, bound) : bound;
        ranges.set(key, range);
        continue;
      }
      if (leaf.op !== "EQUAL") continue;
      if (leaf.field.length === 1 && leaf.field[0] === "__name__") {
        name = documentPath(leaf.value);
        continue;
      }
      fixed.set(key, fromFirestore(leaf.value));
    }
    for (const [key, range] of ranges) {
      if (!fixed.has(key))
        fixed.set(key, new RRange(`resource.data.${key.split("\u0000").join(".")}`, range.lower, range.upper));
    }
    const path: Segment[] = name ?? [
      ...parent,
      ...(query.allDescendants ? [ANY_PATH as Segment] : []),
      ...(query.collectionId === null ? [] : [query.collectionId]),
      ANY_ID,
    ];
    const resource = RMap.of({
      __name__: name
        ? new RPath(["databases", request.database, "documents", ...name])
        : new RUnknown("resource.__name__"),
      id: name ? (name[name.length - 1] as string) : new RUnknown("resource.id"),
      data: partialData(fixed),
    });
    const decision = decide(
      ruleset,
      {
        method: "list",
        database: request.database,
        path,
        auth: request.auth,
        time: request.time,
        resource: null,
        query: queryMap,
        listResource: resource,
      },
      lookup,
      lookups,
    );
    if (!decision.allowed) return decision;
  }
  return { allowed: true, reason: "" };
}

/** The filter's conjunctions, each a list of leaves; `IN` becomes one `EQUAL` per value. */
function dnf(filter: Filter | undefined): Leaf[][] {
  if (filter === undefined) return [[]];
  if (filter.kind === "and") {
    return filter.filters.reduce<Leaf[][]>(
      (acc, f) => acc.flatMap((left) => dnf(f).map((right) => [...left, ...right])).slice(0, MAX_TERMS + 1),
      [[]],
    );
  }
  if (filter.kind === "or") return filter.filters.flatMap(dnf).slice(0, MAX_TERMS + 1);
  if (filter.kind === "field" && filter.op === "IN") {
    const values = (filter.value as { arrayValue?: { values?: Value[] } }).arrayValue?.values ?? [];
    return values.map((value) => [{ kind: "field", field: filter.field, op: "EQUAL", value }]);
  }
  return [[filter as Leaf]];
}

/** `projects/p/databases/d/documents/a/b` as ["a", "b"]. */
function documentPath(value: Value): string[] | undefined {
  const ref = (value as { referenceValue?: string }).referenceValue;
  if (ref === undefined) return undefined;
  const segments = ref.split("/");
  return segments.slice(5);
}

/** `resource.data` with the fixed fields (dotted paths as nested maps); the rest unknown. */
function partialData(fixed: Map<string, RValue>): RPartialMap {
  const build = (prefix: string[]): RPartialMap => {
    const entries = new Map<string, RValue>();
    const nested = new Set<string>();
    for (const [key, value] of fixed) {
      const field = key.split("\u0000");
      if (field.length <= prefix.length || prefix.some((p, i) => field[i] !== p)) continue;
      const head = field[prefix.length] as string;
      if (field.length === prefix.length + 1) entries.set(head, value);
      else nested.add(head);
    }
    for (const head of nested) if (!entries.has(head)) entries.set(head, build([...prefix, head]));
    return new RPartialMap(entries, ["resource.data", ...prefix].join("."));
  };
  return build([]);
}
