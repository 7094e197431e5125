/**
 * Evaluates rules expressions: operators, `is`, user functions with `let`, and the standard library
 * apps use (string, list, map, set, map diff, timestamp, duration, latlng, bytes, path, math, and
 * the document lookups `get`, `exists`, `getAfter`, `existsAfter`). Pure: documents come from the
 * caller's synchronous `lookup`.
 *
 * An evaluation that fails (an undefined field, a type mismatch, a limit) throws RulesError, which
 * denies, except where `||` or `&&` is decided by its other side (`error || true` is true,
 * `error && false` is false), as in Firestore.
 */
import { md5 } from "@noble/hashes/legacy.js";
import { sha256 } from "@noble/hashes/sha2.js";
import CRC32 from "crc-32";
import CRC32C from "crc-32/crc32c";
import type { At, Expr, FunctionDecl } from "./ast.js";
import {
  compare,
  compareOrNaN,
  equals,
  INT64_MAX,
  INT64_MIN,
  RBytes,
  RDuration,
  RLatLng,
  RMap,
  RMapDiff,
  RNamespace,
  RPartialMap,
  RPath,
  RRange,
  RSet,
  RTimestamp,
  RUnknown,
  RulesError,
  type RValue,
  typeName,
  UnknownError,
} from "./values.js";

/** Cloud Firestore's limits on one evaluation. */
export const MAX_EXPRESSIONS = 1000;
export const MAX_CALL_DEPTH = 20;

/** A lexical scope: a match block's wildcard variables and functions, or a function call's parameters and lets. */
export class Scope {
  readonly vars = new Map<string, RValue>();
  readonly functions = new Map<string, FunctionDecl>();

  constructor(readonly parent: Scope | undefined) {}

  lookupVar(name: string): RValue | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) if (s.vars.has(name)) return s.vars.get(name) as RValue;
    return undefined;
  }

  lookupFunction(name: string): { decl: FunctionDecl; scope: Scope } | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      const decl = s.functions.get(name);
      if (decl) return { decl, scope: s };
    }
    return undefined;
  }
}

/** Reads a document for `get()`/`exists()` (`after`: as the request would leave it): its resource map, or null. */
export type DocumentLookup = (path: RPath, after: boolean) => RMap | null;

/** The most document lookups one evaluation (one document's, or one query's) may make. */
export const LOOKUPS_PER_EVALUATION = 10;

/**
 * The document lookups of one request, shared by its evaluations: together at most `max` (Cloud
 * Firestore's 10 for a single-document request or a query, 20 for a multi-document read, a batch
 * or a transaction), each evaluation at most LOOKUPS_PER_EVALUATION. A document read again in the
 * same request is not counted again.
 */
export class RequestLookups {
  count = 0;
  readonly seen = new Map<string, RMap | null>();
  constructor(readonly max: number) {}
}

export interface Budget {
  expressions: number;
  /** This evaluation's lookups. */
  lookups: number;
  readonly request: RequestLookups;
}

export function newBudget(request: RequestLookups): Budget {
  return { expressions: 0, lookups: 0, request };
}

const NAMESPACES = new Set(["math", "timestamp", "duration", "latlng", "hashing", "string"]);

export class Evaluator {
  private depth = 0;

  constructor(
    private readonly lookup: DocumentLookup,
    private readonly budget: Budget,
    /** The database the request is for: `get()` of another database's documents is refused. */
    private readonly database: string,
  ) {}

  /** The value of a condition: it must be a bool. */
  condition(e: Expr, scope: Scope): boolean {
    const v = this.eval(e, scope);
    if (typeof v !== "boolean") throw fail(e.at, `the condition is ${typeName(v)}, not bool`);
    return v;
  }

  eval(e: Expr, scope: Scope): RValue {
    if (++this.budget.expressions > MAX_EXPRESSIONS) {
      throw new LimitError(`the evaluation exceeded ${MAX_EXPRESSIONS} expressions`);
    }
    switch (e.k) {
      case "lit":
        return literal(e);
      case "id": {
        const v = scope.lookupVar(e.name);
        if (v !== undefined) return v;
        if (NAMESPACES.has(e.name)) return new RNamespace(e.name);
        throw fail(e.at, `variable ${e.name} is not defined`);
      }
      case "list":
        return e.items.map((item) => this.eval(item, scope));
      case "map": {
        const entries = new Map<string, RValue>();
        for (const [k, v] of e.entries) {
          const key = this.eval(k, scope);
          if (typeof key !== "string") throw fail(k.at, `map keys must be strings, not ${typeName(key)}`);
          entries.set(key, this.eval(v, scope));
        }
        return new RMap(entries);
      }
      case "path":
        return new RPath(
          e.segments.flatMap((s) => {
            if ("literal" in s) return [s.literal];
            const v = this.eval(s.e, scope);
            if (typeof v === "string") return [v];
            if (typeof v === "bigint") return [v.toString()];
            if (v instanceof RPath) return [...v.segments];
            throw fail(s.e.at, `$(…) in a path must be a string, not ${typeName(v)}`);
          }),
        );
      case "member":
        return member(this.eval(e.e, scope), e.name, e.at);
      case "index":
        return index(this.eval(e.e, scope), this.eval(e.index, scope), e.at);
      case "slice":
        return slice(
          this.eval(e.e, scope),
          e.from === undefined ? undefined : this.eval(e.from, scope),
          e.to === undefined ? undefined : this.eval(e.to, scope),
          e.at,
        );
      case "call":
        return this.call(e.fn, e.args, scope, e.at);
      case "unary": {
        const v = this.eval(e.e, scope);
        if (e.op === "!") {
          if (typeof v !== "boolean") throw fail(e.at, `! needs a bool, not ${typeName(v)}`);
          return !v;
        }
        if (typeof v === "bigint") return checkInt(-v, e.at);
        if (typeof v === "number") return -v;
        if (v instanceof RDuration) return new RDuration(-v.nanos);
        throw fail(e.at, `- needs a number or a duration, not ${typeName(v)}`);
      }
      case "binary":
        return binary(e.op, this.eval(e.l, scope), this.eval(e.r, scope), e.at);
      case "and":
      case "or":
        return this.logical(e.k, e.l, e.r, scope);
      case "is":
        return isType(this.eval(e.e, scope), e.type, e.at);
      case "cond":
        return this.condition(e.test, scope) ? this.eval(e.then, scope) : this.eval(e.otherwise, scope);
    }
  }

  /** `||` and `&&`, where a side that decides the result makes the other side's error irrelevant. */
  private logical(op: "and" | "or", l: Expr, r: Expr, scope: Scope): boolean {
    const decisive = op === "or";
    let leftError: unknown;
    try {
      if (this.condition(l, scope) === decisive) return decisive;
    } catch (e) {
      if (!(e instanceof RulesError) || e instanceof LimitError) throw e;
      leftError = e;
    }
    const right = this.condition(r, scope);
    if (leftError !== undefined && right !== decisive) throw leftError;
    return right;
  }

  private call(fn: Expr, argExprs: Expr[], scope: Scope, at: At): RValue {
    if (fn.k === "id") {
      const user = scope.lookupFunction(fn.name);
      if (user)
        return this.callUser(
          user.decl,
          user.scope,
          argExprs.map((a) => this.eval(a, scope)),
          at,
        );
      return this.global(
        fn.name,
        argExprs.map((a) => this.eval(a, scope)),
        at,
      );
    }
    if (fn.k === "member") {
      const target = this.eval(fn.e, scope);
      const args = argExprs.map((a) => this.eval(a, scope));
      if (target instanceof RNamespace) return namespaceCall(target.name, fn.name, args, at);
      return method(target, fn.name, args, at);
    }
    throw fail(at, "only functions and methods can be called");
  }

  private callUser(decl: FunctionDecl, definedIn: Scope, args: RValue[], at: At): RValue {
    if (args.length !== decl.params.length) {
      throw fail(at, `function ${decl.name} takes ${decl.params.length} arguments, not ${args.length}`);
    }
    if (this.depth >= MAX_CALL_DEPTH) throw new LimitError(`function calls nest more than ${MAX_CALL_DEPTH} deep`);
    const scope = new Scope(definedIn);
    for (const [i, p] of decl.params.entries()) scope.vars.set(p, args[i] as RValue);
    this.depth++;
    try {
      for (const binding of decl.lets) scope.vars.set(binding.name, this.eval(binding.value, scope));
      return this.eval(decl.result, scope);
    } finally {
      this.depth--;
    }
  }

  private global(name: string, args: RValue[], at: At): RValue {
    switch (name) {
      case "get":
      case "getAfter":
      case "exists":
      case "existsAfter": {
        const path = args[0];
        if (args.length !== 1 || !(path instanceof RPath)) throw fail(at, `${name}() takes one path`);
        const doc = this.read(path, name.endsWith("After"), at);
        return name.startsWith("exists") ? doc !== null : doc;
      }
      case "path": {
        const [text] = args;
        if (typeof text !== "string") throw fail(at, "path() takes a string");
        return new RPath(text.split("/").filter((s) => s !== ""));
      }
      case "int":
        return toInt(one(args, name, at), at);
      case "float":
        return toFloat(one(args, name, at), at);
      case "string":
        return toText(one(args, name, at));
      case "bool": {
        const v = one(args, name, at);
        if (typeof v === "boolean") return v;
        if (v === "true" || v === "false") return v === "true";
        throw fail(at, `bool() cannot convert ${typeName(v)}`);
      }
      case "debug":
        return one(args, name, at);
      default:
        throw fail(at, `function ${name} is not defined`);
    }
  }

  /** A document lookup, counted against the request's limit (a path read again is free). */
  private read(path: RPath, after: boolean, at: At): RMap | null {
    const s = path.segments;
    if (s.length < 5 || s[0] !== "databases" || s[2] !== "documents" || (s.length - 3) % 2 !== 0) {
      throw fail(at, `${path} is not a document path (/databases/{database}/documents/{collection}/{id}…)`);
    }
    if (s[1] !== this.database) throw fail(at, `${path} is in another database`);
    const key = `${after ? "after" : "before"}${path}`;
    const { request } = this.budget;
    if (request.seen.has(key)) return request.seen.get(key) as RMap | null;
    if (++this.budget.lookups > LOOKUPS_PER_EVALUATION) {
      throw new LimitError(`more than ${LOOKUPS_PER_EVALUATION} document lookups (get, exists) for one document`);
    }
    if (++request.count > request.max) {
      throw new LimitError(`more than ${request.max} document lookups (get, exists) in one request`);
    }
    const doc = this.lookup(path, after);
    request.seen.set(key, doc);
    return doc;
  }
}

/** A limit that no `||` or `&&` forgives. */
export class LimitError extends RulesError {}

function fail(at: At, message: string): RulesError {
  return new RulesError(`${message} (line ${at.line}, column ${at.column})`);
}

function one(args: RValue[], name: string, at: At): RValue {
  if (args.length !== 1) throw fail(at, `${name}() takes one argument`);
  return args[0] as RValue;
}

function literal(e: Extract<Expr, { k: "lit" }>): RValue {
  switch (e.type) {
    case "null":
      return null;
    case "bool":
      return e.value;
    case "int":
      return checkInt(BigInt(e.value), e.at);
    case "float":
      return Number(e.value);
    case "string":
      return e.value;
    case "bytes":
      return new RBytes(new TextEncoder().encode(e.value));
  }
}

function checkInt(v: bigint, at: At): bigint {
  if (v < INT64_MIN || v > INT64_MAX) throw fail(at, "integer overflow");
  return v;
}

/** `v`, unless it is something a query leaves open (see RUnknown). */
function known(v: RValue, at: At): RValue {
  if (v instanceof RUnknown)
    throw new UnknownError(`${v.what} is not fixed by the query (line ${at.line}, column ${at.column})`);
  return v;
}

function openField(m: RPartialMap, key: string, at: At): never {
  throw new UnknownError(`${m.what}.${key} is not fixed by the query's filters (line ${at.line}, column ${at.column})`);
}

function member(v: RValue, name: string, at: At): RValue {
  known(v, at);
  if (v instanceof RPartialMap && !v.entries.has(name)) openField(v, name, at);
  if (v instanceof RMap) {
    if (!v.entries.has(name)) throw fail(at, `property ${name} is undefined`);
    return v.entries.get(name) as RValue;
  }
  throw fail(at, `${typeName(v)} has no property ${name}`);
}

function index(v: RValue, i: RValue, at: At): RValue {
  known(v, at);
  known(i, at);
  if (v instanceof RMap) {
    if (typeof i !== "string") throw fail(at, `a map is indexed by a string, not ${typeName(i)}`);
    if (v instanceof RPartialMap && !v.entries.has(i)) openField(v, i, at);
    if (!v.entries.has(i)) throw fail(at, `key ${JSON.stringify(i)} is undefined`);
    return v.entries.get(i) as RValue;
  }
  const items = Array.isArray(v) ? v : typeof v === "string" ? [...v] : v instanceof RPath ? v.segments : undefined;
  if (items === undefined) throw fail(at, `${typeName(v)} cannot be indexed`);
  if (typeof i !== "bigint") throw fail(at, `an index must be an int, not ${typeName(i)}`);
  if (i < 0n || i >= BigInt(items.length)) throw fail(at, `index ${i} is out of range`);
  return items[Number(i)] as RValue;
}

function slice(v: RValue, from: RValue | undefined, to: RValue | undefined, at: At): RValue {
  const items = Array.isArray(v) ? v : typeof v === "string" ? [...v] : undefined;
  if (items === undefined) throw fail(at, `${typeName(v)} cannot be sliced`);
  const bound = (b: RValue | undefined, fallback: number) => {
    if (b === undefined) return fallback;
    if (typeof b !== "bigint") throw fail(at, `slice bounds must be ints, not ${typeName(b)}`);
    if (b < 0n || b > BigInt(items.length)) throw fail(at, `slice bound ${b} is out of range`);
    return Number(b);
  };
  const start = bound(from, 0);
  const end = bound(to, items.length);
  if (start > end) throw fail(at, "the slice's start is after its end");
  const part = items.slice(start, end);
  return typeof v === "string" ? part.join("") : part;
}

function binary(op: string, l: RValue, r: RValue, at: At): RValue {
  if ((op === "<" || op === "<=" || op === ">" || op === ">=") && l instanceof RRange !== r instanceof RRange) {
    // A bounded field against a value: true when the query's bounds imply it, else unknown.
    const flip: Record<string, "<" | "<=" | ">" | ">="> = { "<": ">", "<=": ">=", ">": "<", ">=": "<=" };
    const [range, value, rel] = l instanceof RRange ? [l, r, op] : [r as RRange, l, flip[op] as string];
    if (!(value instanceof RUnknown) && implied(range, rel, value)) return true;
    throw new UnknownError(
      `${range.what} is only bounded by the query, not ${rel} that (line ${at.line}, column ${at.column})`,
    );
  }
  known(l, at);
  known(r, at);
  if (op === "in" && r instanceof RPartialMap && typeof l === "string" && !r.entries.has(l)) openField(r, l, at);
  if ((op === "==" || op === "!=") && (l instanceof RPartialMap || r instanceof RPartialMap)) {
    throw new UnknownError(`a query's documents are compared whole (line ${at.line}, column ${at.column})`);
  }
  switch (op) {
    case "==":
      return equals(l, r);
    case "!=":
      return !equals(l, r);
    case "<":
    case "<=":
    case ">":
    case ">=": {
      let d: number;
      try {
        d = compare(l, r);
      } catch (e) {
        throw fail(at, (e as Error).message);
      }
      if (Number.isNaN(d)) return false;
      return op === "<" ? d < 0 : op === "<=" ? d <= 0 : op === ">" ? d > 0 : d >= 0;
    }
    case "in":
      if (Array.isArray(r)) return r.some((x) => equals(x, l));
      if (r instanceof RSet) return r.has(l);
      if (r instanceof RMap) {
        if (typeof l !== "string") throw fail(at, `a map's keys are strings, not ${typeName(l)}`);
        return r.entries.has(l);
      }
      throw fail(at, `in needs a list, set or map on its right, not ${typeName(r)}`);
    default:
      return arithmetic(op, l, r, at);
  }
}

/** Whether every value within `range` is `rel` `value`. */
function implied(range: RRange, rel: string, value: RValue): boolean {
  const { lower, upper } = range;
  if (rel === ">" || rel === ">=") {
    if (!lower) return false;
    const d = compareOrNaN(lower.value, value);
    return d > 0 || (d === 0 && (rel === ">=" || !lower.inclusive));
  }
  if (!upper) return false;
  const d = compareOrNaN(upper.value, value);
  return d < 0 || (d === 0 && (rel === "<=" || !upper.inclusive));
}

function arithmetic(op: string, l: RValue, r: RValue, at: At): RValue {
  if (typeof l === "bigint" && typeof r === "bigint") {
    if ((op === "/" || op === "%") && r === 0n) throw fail(at, "division by zero");
    const v = op === "+" ? l + r : op === "-" ? l - r : op === "*" ? l * r : op === "/" ? l / r : l % r;
    return checkInt(v, at);
  }
  if ((typeof l === "bigint" || typeof l === "number") && (typeof r === "bigint" || typeof r === "number")) {
    const x = Number(l);
    const y = Number(r);
    if (op === "%") throw fail(at, "% needs ints");
    return op === "+" ? x + y : op === "-" ? x - y : op === "*" ? x * y : x / y;
  }
  if (op === "+") {
    if (typeof l === "string" && typeof r === "string") return l + r;
    if (Array.isArray(l) && Array.isArray(r)) return [...l, ...r];
    if (l instanceof RTimestamp && r instanceof RDuration) return new RTimestamp(l.nanos + r.nanos);
    if (l instanceof RDuration && r instanceof RTimestamp) return new RTimestamp(l.nanos + r.nanos);
    if (l instanceof RDuration && r instanceof RDuration) return new RDuration(l.nanos + r.nanos);
  }
  if (op === "-") {
    if (l instanceof RTimestamp && r instanceof RDuration) return new RTimestamp(l.nanos - r.nanos);
    if (l instanceof RTimestamp && r instanceof RTimestamp) return new RDuration(l.nanos - r.nanos);
    if (l instanceof RDuration && r instanceof RDuration) return new RDuration(l.nanos - r.nanos);
  }
  throw fail(at, `${typeName(l)} ${op} ${typeName(r)} is not defined`);
}

const TYPES: Record<string, (v: RValue) => boolean> = {
  bool: (v) => typeof v === "boolean",
  int: (v) => typeof v === "bigint",
  float: (v) => typeof v === "number",
  number: (v) => typeof v === "bigint" || typeof v === "number",
  string: (v) => typeof v === "string",
  list: (v) => Array.isArray(v),
  map: (v) => v instanceof RMap,
  set: (v) => v instanceof RSet,
  bytes: (v) => v instanceof RBytes,
  path: (v) => v instanceof RPath,
  timestamp: (v) => v instanceof RTimestamp,
  duration: (v) => v instanceof RDuration,
  latlng: (v) => v instanceof RLatLng,
  map_diff: (v) => v instanceof RMapDiff,
};

function isType(v: RValue, type: string, at: At): boolean {
  known(v, at);
  const check = TYPES[type];
  if (!check) throw fail(at, `${type} is not a type (${Object.keys(TYPES).join(", ")})`);
  return check(v);
}

function list(v: RValue, what: string, at: At): readonly RValue[] {
  if (Array.isArray(v)) return v;
  if (v instanceof RSet) return v.items;
  throw fail(at, `${what} needs a list or set, not ${typeName(v)}`);
}

/** The arguments, checked to be `n` (typed as a tuple: the checked ones are there). */
function args(a: RValue[], n: number, name: string, at: At): [RValue, RValue, RValue, RValue] {
  if (a.length !== n) throw fail(at, `${name}() takes ${n} argument${n === 1 ? "" : "s"}, not ${a.length}`);
  return a as unknown as [RValue, RValue, RValue, RValue];
}

/** Regular expressions are RE2's; JavaScript's agree on the syntax apps use (a full match for `matches`). */
function regex(pattern: RValue, at: At, flags = "u"): RegExp {
  if (typeof pattern !== "string") throw fail(at, `a regular expression must be a string, not ${typeName(pattern)}`);
  try {
    return new RegExp(pattern, flags);
  } catch {
    throw fail(at, `${JSON.stringify(pattern)} is not a valid regular expression`);
  }
}

function method(v: RValue, name: string, a: RValue[], at: At): RValue {
  known(v, at);
  for (const arg of a) known(arg, at);
  if (v instanceof RPartialMap && name !== "get") {
    throw new UnknownError(
      `${v.what}.${name}() depends on fields the query does not fix (line ${at.line}, column ${at.column})`,
    );
  }
  if (typeof v === "string") return stringMethod(v, name, a, at);
  if (Array.isArray(v) || v instanceof RSet) return collectionMethod(v, name, a, at);
  if (v instanceof RMap) return mapMethod(v, name, a, at);
  if (v instanceof RMapDiff) {
    args(a, 0, name, at);
    const { before, after } = v;
    const keys = (m: RMap) => [...m.entries.keys()];
    const changed = keys(after).filter(
      (k) => before.entries.has(k) && !equals(after.entries.get(k) as RValue, before.entries.get(k) as RValue),
    );
    const added = keys(after).filter((k) => !before.entries.has(k));
    const removed = keys(before).filter((k) => !after.entries.has(k));
    switch (name) {
      case "addedKeys":
        return new RSet(added);
      case "removedKeys":
        return new RSet(removed);
      case "changedKeys":
        return new RSet(changed);
      case "affectedKeys":
        return new RSet([...added, ...removed, ...changed]);
      case "unchangedKeys":
        return new RSet(keys(after).filter((k) => before.entries.has(k) && !changed.includes(k)));
    }
  }
  if (v instanceof RTimestamp) return timestampMethod(v, name, a, at);
  if (v instanceof RDuration) {
    args(a, 0, name, at);
    if (name === "seconds") return v.nanos / 1_000_000_000n;
    if (name === "nanos") return v.nanos % 1_000_000_000n;
    if (name === "toMillis") return v.nanos / 1_000_000n;
  }
  if (v instanceof RBytes) {
    args(a, 0, name, at);
    if (name === "size") return BigInt(v.bytes.length);
    if (name === "toBase64") return btoa(String.fromCharCode(...v.bytes));
    if (name === "toHexString") return [...v.bytes].map((b) => b.toString(16).toUpperCase().padStart(2, "0")).join("");
  }
  if (v instanceof RLatLng) {
    if (name === "latitude" || name === "longitude") {
      args(a, 0, name, at);
      return name === "latitude" ? v.lat : v.lng;
    }
    if (name === "distance") {
      const [other] = args(a, 1, name, at);
      if (!(other instanceof RLatLng)) throw fail(at, "distance() takes a latlng");
      return haversine(v, other);
    }
  }
  if (v instanceof RPath && name === "bind") {
    const [bindings] = args(a, 1, name, at);
    if (!(bindings instanceof RMap)) throw fail(at, "bind() takes a map");
    return new RPath(
      v.segments.map((s) => {
        const m = /^\{(\w+)\}$/.exec(s);
        const bound = m ? bindings.entries.get(m[1] as string) : undefined;
        return typeof bound === "string" ? bound : s;
      }),
    );
  }
  throw fail(at, `${typeName(v)} has no method ${name}()`);
}

function stringMethod(s: string, name: string, a: RValue[], at: At): RValue {
  switch (name) {
    case "size":
      args(a, 0, name, at);
      return BigInt([...s].length);
    case "matches": {
      const [p] = args(a, 1, name, at);
      return regex(`^(?:${p})$`, at).test(s);
    }
    case "split": {
      const [p] = args(a, 1, name, at);
      return s.split(regex(p, at, "gu"));
    }
    case "replace": {
      const [p, sub] = args(a, 2, name, at);
      if (typeof sub !== "string") throw fail(at, "replace() takes a string replacement");
      // RE2's \1 back references are JavaScript's $1.
      return s.replace(regex(p, at, "gu"), sub.replace(/\$/g, "$$$$").replace(/\\(\d)/g, "$$$1"));
    }
    case "lower":
      args(a, 0, name, at);
      return s.toLowerCase();
    case "upper":
      args(a, 0, name, at);
      return s.toUpperCase();
    case "trim":
      args(a, 0, name, at);
      return s.trim();
    case "toUtf8":
      args(a, 0, name, at);
      return new RBytes(new TextEncoder().encode(s));
  }
  throw fail(at, `string has no method ${name}()`);
}

function collectionMethod(v: readonly RValue[] | RSet, name: string, a: RValue[], at: At): RValue {
  const items = v instanceof RSet ? v.items : v;
  const has = (x: RValue) => items.some((i) => equals(i, x));
  const isSet = v instanceof RSet;
  switch (name) {
    case "size":
      args(a, 0, name, at);
      return BigInt(items.length);
    case "hasAll": {
      const [other] = args(a, 1, name, at);
      return list(other, name, at).every(has);
    }
    case "hasAny": {
      const [other] = args(a, 1, name, at);
      return list(other, name, at).some(has);
    }
    case "hasOnly": {
      const [other] = args(a, 1, name, at);
      const allowed = list(other, name, at);
      return items.every((i) => allowed.some((x) => equals(x, i)));
    }
    case "toSet":
      args(a, 0, name, at);
      return new RSet(items);
  }
  if (!isSet) {
    switch (name) {
      case "join": {
        const [sep] = args(a, 1, name, at);
        if (typeof sep !== "string" || !items.every((i) => typeof i === "string")) {
          throw fail(at, "join() needs a list of strings and a string separator");
        }
        return items.join(sep);
      }
      case "concat": {
        const [other] = args(a, 1, name, at);
        if (!Array.isArray(other)) throw fail(at, "concat() takes a list");
        return [...items, ...other];
      }
      case "removeAll": {
        const [other] = args(a, 1, name, at);
        const gone = list(other, name, at);
        return items.filter((i) => !gone.some((x) => equals(x, i)));
      }
    }
  } else {
    const [other] = args(a, 1, name, at);
    if (!(other instanceof RSet)) throw fail(at, `${name}() takes a set`);
    switch (name) {
      case "difference":
        return new RSet(items.filter((i) => !other.has(i)));
      case "intersection":
        return new RSet(items.filter((i) => other.has(i)));
      case "union":
        return new RSet([...items, ...other.items]);
    }
  }
  throw fail(at, `${isSet ? "set" : "list"} has no method ${name}()`);
}

function mapMethod(m: RMap, name: string, a: RValue[], at: At): RValue {
  switch (name) {
    case "size":
      args(a, 0, name, at);
      return BigInt(m.entries.size);
    case "keys":
      args(a, 0, name, at);
      return [...m.entries.keys()];
    case "values":
      args(a, 0, name, at);
      return [...m.entries.values()];
    case "get": {
      const [key, fallback] = args(a, 2, name, at);
      const path = Array.isArray(key) ? key : [key];
      let current: RValue = m;
      for (const k of path) {
        if (typeof k !== "string") throw fail(at, "get() takes a string key or a list of them");
        if (current instanceof RPartialMap && !current.entries.has(k)) openField(current, k, at);
        if (!(current instanceof RMap) || !current.entries.has(k)) return fallback as RValue;
        current = current.entries.get(k) as RValue;
      }
      return current;
    }
    case "diff": {
      const [other] = args(a, 1, name, at);
      if (!(other instanceof RMap)) throw fail(at, `diff() takes a map, not ${typeName(other)}`);
      return new RMapDiff(other, m);
    }
  }
  throw fail(at, `map has no method ${name}()`);
}

const NS_PER_S = 1_000_000_000n;
const NS_PER_DAY = 86_400n * NS_PER_S;

function timestampMethod(t: RTimestamp, name: string, a: RValue[], at: At): RValue {
  args(a, 0, name, at);
  const ms = Number(floorDiv(t.nanos, 1_000_000n));
  const date = new Date(ms);
  const ofDay = ((t.nanos % NS_PER_DAY) + NS_PER_DAY) % NS_PER_DAY;
  switch (name) {
    case "year":
      return BigInt(date.getUTCFullYear());
    case "month":
      return BigInt(date.getUTCMonth() + 1);
    case "day":
      return BigInt(date.getUTCDate());
    case "hours":
      return BigInt(date.getUTCHours());
    case "minutes":
      return BigInt(date.getUTCMinutes());
    case "seconds":
      return BigInt(date.getUTCSeconds());
    case "nanos":
      return ((t.nanos % NS_PER_S) + NS_PER_S) % NS_PER_S;
    case "date":
      return new RTimestamp(t.nanos - ofDay);
    case "time":
      return new RDuration(ofDay);
    case "dayOfWeek":
      return BigInt(((date.getUTCDay() + 6) % 7) + 1); // Monday 1 … Sunday 7
    case "dayOfYear":
      return BigInt(Math.floor((ms - Date.UTC(date.getUTCFullYear(), 0, 1)) / 86_400_000) + 1);
    case "toMillis":
      return floorDiv(t.nanos, 1_000_000n);
  }
  throw fail(at, `timestamp has no method ${name}()`);
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n ? q - 1n : q;
}

const UNITS: Record<string, bigint> = {
  w: 7n * NS_PER_DAY,
  d: NS_PER_DAY,
  h: 3600n * NS_PER_S,
  m: 60n * NS_PER_S,
  s: NS_PER_S,
  ms: 1_000_000n,
  ns: 1n,
};

function namespaceCall(ns: string, name: string, a: RValue[], at: At): RValue {
  const num = (v: RValue) => {
    if (typeof v === "bigint" || typeof v === "number") return v;
    throw fail(at, `${ns}.${name}() takes numbers, not ${typeName(v)}`);
  };
  const int = (v: RValue) => {
    if (typeof v !== "bigint") throw fail(at, `${ns}.${name}() takes ints, not ${typeName(v)}`);
    return v;
  };
  const key = `${ns}.${name}`;
  switch (key) {
    case "math.abs": {
      const [x] = args(a, 1, key, at).map(num);
      return typeof x === "bigint" ? (x < 0n ? -x : x) : Math.abs(x as number);
    }
    case "math.ceil":
    case "math.floor":
    case "math.round":
    case "math.trunc": {
      const [x] = args(a, 1, key, at).map(num);
      if (typeof x === "bigint") return x;
      const f = {
        "math.ceil": Math.ceil,
        "math.floor": Math.floor,
        "math.round": Math.round,
        "math.trunc": Math.trunc,
      }[key];
      const r = f(x as number);
      if (!Number.isFinite(r)) throw fail(at, `${key}() of ${x} is not an int`);
      return BigInt(r);
    }
    case "math.sqrt":
      return Math.sqrt(Number(num(args(a, 1, key, at)[0] as RValue)));
    case "math.pow": {
      const [x, y] = args(a, 2, key, at).map(num);
      return Number(x) ** Number(y);
    }
    case "math.isNaN":
      return Number.isNaN(Number(num(args(a, 1, key, at)[0] as RValue)));
    case "math.isInfinite": {
      const x = Number(num(args(a, 1, key, at)[0] as RValue));
      return !Number.isFinite(x) && !Number.isNaN(x);
    }
    case "timestamp.date": {
      const [y, m, d] = args(a, 3, key, at).map(int);
      return new RTimestamp(BigInt(Date.UTC(Number(y), Number(m) - 1, Number(d))) * 1_000_000n);
    }
    case "timestamp.value":
      return new RTimestamp(int(args(a, 1, key, at)[0] as RValue) * 1_000_000n);
    case "duration.value": {
      const [magnitude, unit] = args(a, 2, key, at);
      const scale = typeof unit === "string" ? UNITS[unit] : undefined;
      if (scale === undefined) throw fail(at, `duration unit must be one of ${Object.keys(UNITS).join(", ")}`);
      return new RDuration(int(magnitude as RValue) * scale);
    }
    case "duration.time": {
      const [h, m, s, n] = args(a, 4, key, at).map(int);
      return new RDuration(
        (h as bigint) * 3600n * NS_PER_S + (m as bigint) * 60n * NS_PER_S + (s as bigint) * NS_PER_S + (n as bigint),
      );
    }
    case "duration.abs": {
      const [d] = args(a, 1, key, at);
      if (!(d instanceof RDuration)) throw fail(at, "duration.abs() takes a duration");
      return new RDuration(d.nanos < 0n ? -d.nanos : d.nanos);
    }
    case "latlng.value": {
      const [lat, lng] = args(a, 2, key, at).map(num);
      return new RLatLng(Number(lat), Number(lng));
    }
    case "hashing.crc32":
    case "hashing.crc32c":
    case "hashing.md5":
    case "hashing.sha256": {
      const [v] = args(a, 1, key, at);
      const input = v instanceof RBytes ? v.bytes : typeof v === "string" ? new TextEncoder().encode(v) : undefined;
      if (input === undefined) throw fail(at, `${key}() takes a string or bytes, not ${typeName(v as RValue)}`);
      return new RBytes(HASHES[key as keyof typeof HASHES](input));
    }
  }
  throw fail(at, `${key}() is not supported`);
}

/** A CRC as rules give it: 4 bytes, most significant first. */
function crcBytes(crc: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, crc >>> 0);
  return out;
}

/** `hashing.*`: each a string's UTF-8 bytes, or bytes, to their digest. */
const HASHES = {
  "hashing.crc32": (input: Uint8Array) => crcBytes(CRC32.buf(input)),
  "hashing.crc32c": (input: Uint8Array) => crcBytes(CRC32C.buf(input)),
  "hashing.md5": md5,
  "hashing.sha256": sha256,
};

function toInt(v: RValue, at: At): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw fail(at, `int() of ${v}`);
    return checkInt(BigInt(Math.trunc(v)), at);
  }
  if (typeof v === "string" && /^[+-]?\d+$/.test(v.trim())) return checkInt(BigInt(v.trim()), at);
  throw fail(at, `int() cannot convert ${typeName(v)} ${typeof v === "string" ? JSON.stringify(v) : ""}`.trim());
}

function toFloat(v: RValue, at: At): number {
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) return Number(v);
  throw fail(at, `float() cannot convert ${typeName(v)}`);
}

function toText(v: RValue): string {
  if (v === null) return "null";
  if (typeof v === "string") return v;
  if (typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (typeof v === "number") return Number.isInteger(v) ? v.toFixed(1) : String(v);
  if (v instanceof RPath) return v.toString();
  return typeName(v);
}

function haversine(a: RLatLng, b: RLatLng): number {
  const rad = (d: number) => (d * Math.PI) / 180;
  const dLat = rad(b.lat - a.lat);
  const dLng = rad(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 2 * 6_371_008.8 * Math.asin(Math.sqrt(h));
}
