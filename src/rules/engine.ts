/**
 * Decides one request against a ruleset: the `match` blocks whose path matches the document
 * (captures bound as variables, nested blocks continuing where their parent stopped, `{x=**}`
 * taking the rest), and in those that match it whole, any `allow` of the request's method whose
 * condition is true allows it. Nothing allows by default. `read` is `get` and `list`; `write` is
 * `create`, `update` and `delete`.
 */
import type { Body, Method, Ruleset } from "./ast.js";
import { type DocumentLookup, Evaluator, newBudget, RequestLookups, Scope } from "./evaluate.js";
import { fieldsToMap, RMap, RPath, type RTimestamp, RUnknown, RulesError, type RValue } from "./values.js";

export type RequestMethod = "get" | "list" | "create" | "update" | "delete";

/** In a query's path: any document id (`{id}` binds an unknown), or any run of segments (only `{x=**}` covers it). */
export const ANY_ID: unique symbol = Symbol("any document id");
export const ANY_PATH: unique symbol = Symbol("any path");
export type Segment = string | typeof ANY_ID | typeof ANY_PATH;

/** A document as rules see it (`resource`, `request.resource`, `get()`): its path and fields. */
export interface RulesDocument {
  /** Segments after `documents/`, e.g. ["users", "alice"]. */
  path: readonly string[];
  fields: Record<string, unknown>;
}

export interface RulesRequest {
  method: RequestMethod;
  database: string;
  /** The document's path after `documents/` (for `list`, a document the query could return: see query.ts). */
  path: readonly Segment[];
  auth: { uid: string; token: Readonly<Record<string, unknown>> } | null;
  time: RTimestamp;
  /** The document as it is (null when it does not exist). */
  resource: RulesDocument | null;
  /** What a write would leave (create and update). */
  requestResource?: RulesDocument | null;
  /** A query's `limit`, `offset` and `orderBy` (list). */
  query?: RMap;
  /** For `list`: `resource` as far as the query fixes it (overrides `resource`). */
  listResource?: RMap;
}

export interface Decision {
  allowed: boolean;
  /** Why it was denied: no rule matched, or the errors of the conditions that were tried. */
  reason: string;
}

/** The resource map of a document: `__name__`, `id` and `data`. */
export function resourceOf(database: string, doc: RulesDocument): RMap {
  return RMap.of({
    __name__: new RPath(["databases", database, "documents", ...doc.path]),
    id: doc.path[doc.path.length - 1] ?? "",
    data: fieldsToMap(doc.fields),
  });
}

/**
 * Whether `ruleset` allows `request`. `lookup` reads documents for `get()`/`exists()` (and their
 * `After` forms), counted in `lookups`: the request's (shared by all its documents' decisions), or
 * a fresh budget of that many.
 */
export function decide(
  ruleset: Ruleset,
  request: RulesRequest,
  lookup: DocumentLookup,
  lookups: RequestLookups | number,
): Decision {
  const service = ruleset.services.find((s) => s.name === "cloud.firestore");
  if (!service) return { allowed: false, reason: "no cloud.firestore service" };
  const globals = new Scope(undefined);
  globals.vars.set("request", requestMap(request));
  globals.vars.set(
    "resource",
    request.listResource ?? (request.resource ? resourceOf(request.database, request.resource) : null),
  );
  const shared = typeof lookups === "number" ? new RequestLookups(lookups) : lookups;
  const evaluator = new Evaluator(lookup, newBudget(shared), request.database);
  const segments: Segment[] = ["databases", request.database, "documents", ...request.path];
  const errors: string[] = [];
  let matched = false;

  const visit = (body: Body, scope: Scope, from: number): boolean => {
    for (const fn of body.functions) scope.functions.set(fn.name, fn);
    for (const match of body.matches) {
      const inner = new Scope(scope);
      for (const fn of match.body.functions) inner.functions.set(fn.name, fn);
      const end = bind(match.path, segments, from, inner, ruleset.version === "2");
      if (end === undefined) continue;
      if (end === segments.length) {
        matched = true;
        for (const allow of match.body.allows) {
          if (!covers(allow.methods, request.method)) continue;
          if (allow.condition === undefined) return true;
          try {
            if (evaluator.condition(allow.condition, inner)) return true;
          } catch (e) {
            if (!(e instanceof RulesError)) throw e;
            errors.push(e.message);
          }
        }
      }
      if (end < segments.length && visit(match.body, inner, end)) return true;
    }
    return false;
  };
  if (visit(service.body, globals, 0)) return { allowed: true, reason: "" };
  const shown = `/${segments.map((s) => (typeof s === "string" ? s : s === ANY_ID ? "{any id}" : "{any path}")).join("/")}`;
  const reason = !matched
    ? `no rule matches ${shown}`
    : errors.length > 0
      ? `the conditions failed: ${errors.join("; ")}`
      : `no rule allows ${request.method} on ${shown}`;
  return { allowed: false, reason };
}

function covers(methods: Method[], method: RequestMethod): boolean {
  return methods.some(
    (m) =>
      m === method ||
      (m === "read" && (method === "get" || method === "list")) ||
      (m === "write" && (method === "create" || method === "update" || method === "delete")),
  );
}

/**
 * Matches `pattern` against `segments` from `from`, binding its captures into `scope`; returns
 * where it stopped, or undefined. `{x=**}` takes zero or more segments in version 2 (a path; it may
 * stand anywhere, the rest of the pattern matching after it), one or more in version 1 (the rest,
 * as a string).
 */
function bind(
  pattern: Body["matches"][number]["path"],
  segments: readonly Segment[],
  from: number,
  scope: Scope,
  version2: boolean,
): number | undefined {
  const captures = new Map<string, RValue>();
  const walk = (p: number, i: number): number | undefined => {
    if (p === pattern.length) return i;
    const part = pattern[p] as Body["matches"][number]["path"][number];
    const segment = segments[i];
    // A literal covers one id, not any: a query's unknown document or path does not match it.
    if ("literal" in part) return segment === part.literal ? walk(p + 1, i + 1) : undefined;
    if (!part.rest) {
      if (segment === undefined || segment === ANY_PATH) return undefined;
      captures.set(part.variable, segment === ANY_ID ? new RUnknown("the document id") : segment);
      return walk(p + 1, i + 1);
    }
    // The longest run that lets the rest of the pattern match (a trailing one takes everything).
    for (let end = segments.length; end >= i + (version2 ? 0 : 1); end--) {
      const taken = segments.slice(i, end);
      const open = taken.some((t) => typeof t !== "string");
      const text = taken as string[];
      captures.set(part.variable, open ? new RUnknown("the path") : version2 ? new RPath(text) : text.join("/"));
      const stop = walk(p + 1, end);
      if (stop !== undefined) return stop;
    }
    return undefined;
  };
  const end = walk(0, from);
  if (end !== undefined) for (const [name, value] of captures) scope.vars.set(name, value);
  return end;
}

function requestMap(request: RulesRequest): RMap {
  const auth: RValue =
    request.auth === null ? null : RMap.of({ uid: request.auth.uid, token: jsonToRules(request.auth.token) as RMap });
  const fields: Record<string, RValue> = {
    auth,
    method: request.method,
    path: request.path.every((s) => typeof s === "string")
      ? new RPath(["databases", request.database, "documents", ...(request.path as string[])])
      : new RUnknown("request.path"),
    time: request.time,
    query: request.query ?? null,
  };
  if (request.requestResource !== undefined) {
    fields.resource = request.requestResource === null ? null : resourceOf(request.database, request.requestResource);
  }
  return RMap.of(fields);
}

/** Token claims (plain JSON) as rules values: whole numbers are ints. */
function jsonToRules(v: unknown): RValue {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return Number.isInteger(v) ? BigInt(v) : v;
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (Array.isArray(v)) return v.map(jsonToRules);
  return new RMap(new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, jsonToRules(x)])));
}
