/**
 * Security rules conformance, as data: rules + request + expected allow/deny across the language
 * (matching and wildcards, methods, functions and `let`, operators, `is`, the standard library,
 * document lookups and their limits, errors and how `||`/`&&` forgive them), parse errors with their
 * line and column, and the generated parser matching its grammar.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without types
import { generateRulesParser, RULES_GEN_DIR } from "../../scripts/gen-rules-parser.mjs";
import {
  decide,
  type RequestMethod,
  type RulesDocument,
  type RulesRequest,
  resourceOf,
} from "../../src/rules/engine.js";
import { RequestLookups } from "../../src/rules/evaluate.js";
import { parseRules } from "../../src/rules/parse.js";
import { timestampFromText } from "../../src/rules/values.js";

const NOW = "2026-12-02T12:00:00.123456Z";

/** Plain JSON as Firestore fields (whole numbers are integers; `{ $float: n }`, `{ $time: "…" }`). */
function fields(data: Record<string, unknown>): Record<string, unknown> {
  const value = (v: unknown): unknown => {
    if (v === null) return { nullValue: null };
    if (typeof v === "boolean") return { booleanValue: v };
    if (typeof v === "number") return Number.isInteger(v) ? { integerValue: String(v) } : { doubleValue: v };
    if (typeof v === "string") return { stringValue: v };
    if (Array.isArray(v)) return { arrayValue: { values: v.map(value) } };
    const o = v as Record<string, unknown>;
    if ("$float" in o) return { doubleValue: o.$float };
    if ("$time" in o) return { timestampValue: o.$time };
    if ("$ref" in o) return { referenceValue: `projects/p/databases/(default)/documents/${o.$ref}` };
    if ("$geo" in o)
      return { geoPointValue: { latitude: (o.$geo as number[])[0], longitude: (o.$geo as number[])[1] } };
    return { mapValue: { fields: fields(o) } };
  };
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, value(v)]));
}

interface Case {
  name: string;
  /** The body of `match /databases/{database}/documents { … }`, or a whole file with `file`. */
  rules?: string;
  file?: string;
  /** `allow read: if <expr>;` at `/c/{id}`, read as `get c/x`. */
  expr?: string;
  method?: RequestMethod;
  path?: string;
  uid?: string | null;
  claims?: Record<string, unknown>;
  resource?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  docs?: Record<string, Record<string, unknown>>;
  afterDocs?: Record<string, Record<string, unknown> | null>;
  maxLookups?: number;
  allow: boolean;
  reason?: RegExp;
}

function run(c: Case) {
  const source =
    c.file ??
    `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    ${c.rules ?? `match /c/{id} { allow read: if ${c.expr}; }`}
  }
}`;
  const ruleset = parseRules(source);
  const path = (c.path ?? "c/x").split("/");
  const doc = (p: readonly string[], f: Record<string, unknown> | null | undefined): RulesDocument | null =>
    f === null || f === undefined ? null : { path: p, fields: fields(f) };
  const request: RulesRequest = {
    method: c.method ?? "get",
    database: "(default)",
    path,
    auth: c.uid === undefined || c.uid === null ? null : { uid: c.uid, token: { sub: c.uid, ...c.claims } },
    time: timestampFromText(NOW),
    resource: doc(path, c.resource === undefined ? { n: 1 } : c.resource),
    ...(c.after === undefined ? {} : { requestResource: doc(path, c.after) }),
  };
  const lookups: string[] = [];
  const decision = decide(
    ruleset,
    request,
    (p, after) => {
      const key = p.segments.slice(3).join("/");
      lookups.push(`${after ? "after " : ""}${key}`);
      const data = after && c.afterDocs && key in c.afterDocs ? c.afterDocs[key] : c.docs?.[key];
      if (data === null || data === undefined) return null;
      return resourceOf("(default)", { path: p.segments.slice(3), fields: fields(data) });
    },
    c.maxLookups ?? 10,
  );
  return { decision, lookups };
}

const CASES: Case[] = [
  // Matching, wildcards and methods.
  { name: "no rules: deny", rules: "", allow: false, reason: /no rule matches/ },
  { name: "allow without condition", rules: "match /c/{id} { allow read; }", allow: true },
  { name: "read covers get", rules: "match /c/{id} { allow read: if true; }", allow: true },
  { name: "read covers list", rules: "match /c/{id} { allow read: if true; }", method: "list", allow: true },
  { name: "get does not cover list", rules: "match /c/{id} { allow get: if true; }", method: "list", allow: false },
  {
    name: "write covers create",
    rules: "match /c/{id} { allow write: if true; }",
    method: "create",
    resource: null,
    after: {},
    allow: true,
  },
  {
    name: "update is not create",
    rules: "match /c/{id} { allow update: if true; }",
    method: "create",
    resource: null,
    after: {},
    allow: false,
  },
  {
    name: "several methods in one allow",
    rules: "match /c/{id} { allow create, delete: if true; }",
    method: "delete",
    allow: true,
  },
  { name: "a wildcard binds its segment", rules: "match /c/{id} { allow read: if id == 'x'; }", allow: true },
  { name: "a wildcard binds its segment (other)", rules: "match /c/{id} { allow read: if id == 'y'; }", allow: false },
  { name: "the database wildcard", rules: "match /c/{id} { allow read: if database == '(default)'; }", allow: true },
  {
    name: "a rule for the collection does not cover a subcollection",
    rules: "match /c/{id} { allow read; }",
    path: "c/x/sub/y",
    allow: false,
  },
  {
    name: "nested match continues the path",
    rules: "match /c/{id} { match /sub/{s} { allow read: if id == 'x' && s == 'y'; } }",
    path: "c/x/sub/y",
    allow: true,
  },
  {
    name: "{rest=**} matches any depth (v2: a path)",
    rules: "match /c/{rest=**} { allow read: if rest == path('x/sub/y'); }",
    path: "c/x/sub/y",
    allow: true,
  },
  {
    name: "{rest=**} in v2 matches zero segments",
    rules: "match /c/x/{rest=**} { allow read: if true; }",
    path: "c/x",
    allow: true,
  },
  {
    name: "{path=**} before more segments (collection groups)",
    rules: "match /{path=**}/sub/{s} { allow read: if path == /c/x && s == 'y'; }",
    path: "c/x/sub/y",
    allow: true,
  },
  {
    name: "{path=**} before more segments (no match)",
    rules: "match /{path=**}/other/{s} { allow read; }",
    path: "c/x/sub/y",
    allow: false,
  },
  {
    name: "{document=**} at the root",
    rules: "match /{document=**} { allow read: if true; }",
    path: "a/b/c/d",
    allow: true,
  },
  {
    name: "any matching allow suffices (overlapping matches)",
    rules: "match /c/{id} { allow read: if false; } match /{d=**} { allow read: if true; }",
    allow: true,
  },
  { name: "a literal segment", rules: "match /c/y { allow read; }", allow: false },
  // request.auth and token claims.
  { name: "signed out: auth is null", expr: "request.auth == null", allow: true },
  { name: "signed in: uid", expr: "request.auth.uid == 'alice'", uid: "alice", allow: true },
  { name: "a custom claim", expr: "request.auth.token.admin == true", uid: "a", claims: { admin: true }, allow: true },
  {
    name: "a number claim is an int",
    expr: "request.auth.token.level is int && request.auth.token.level > 2",
    uid: "a",
    claims: { level: 3 },
    allow: true,
  },
  {
    name: "auth.uid when signed out is an error: deny",
    expr: "request.auth.uid == 'x'",
    allow: false,
    reason: /property uid|has no property/,
  },
  // resource and request.resource.
  { name: "resource.data", expr: "resource.data.n == 1", allow: true },
  {
    name: "resource.id and __name__",
    expr: "resource.id == 'x' && resource.__name__ == /databases/$(database)/documents/c/x",
    allow: true,
  },
  { name: "resource is null when missing", expr: "resource == null", resource: null, allow: true },
  {
    name: "request.resource for an update",
    rules: "match /c/{id} { allow update: if request.resource.data.n == resource.data.n + 1; }",
    method: "update",
    after: { n: 2 },
    allow: true,
  },
  {
    name: "request.resource for an update (refused)",
    rules: "match /c/{id} { allow update: if request.resource.data.n == resource.data.n + 1; }",
    method: "update",
    after: { n: 5 },
    allow: false,
  },
  {
    name: "hasOnly on keys",
    rules: "match /c/{id} { allow create: if request.resource.data.keys().hasOnly(['a', 'b']); }",
    method: "create",
    resource: null,
    after: { a: 1 },
    allow: true,
  },
  {
    name: "hasOnly on keys (an extra key)",
    rules: "match /c/{id} { allow create: if request.resource.data.keys().hasOnly(['a', 'b']); }",
    method: "create",
    resource: null,
    after: { a: 1, z: 2 },
    allow: false,
  },
  {
    name: "diff().affectedKeys()",
    rules:
      "match /c/{id} { allow update: if request.resource.data.diff(resource.data).affectedKeys().hasOnly(['n']); }",
    method: "update",
    resource: { n: 1, m: 1 },
    after: { n: 2, m: 1 },
    allow: true,
  },
  {
    name: "diff().affectedKeys() (another key changed)",
    rules:
      "match /c/{id} { allow update: if request.resource.data.diff(resource.data).affectedKeys().hasOnly(['n']); }",
    method: "update",
    resource: { n: 1, m: 1 },
    after: { n: 2, m: 3 },
    allow: false,
  },
  {
    name: "request.method and request.path",
    rules:
      "match /c/{id} { allow delete: if request.method == 'delete' && request.path == /databases/(default)/documents/c/x; }",
    method: "delete",
    allow: true,
  },
  {
    name: "request.time",
    expr: "request.time > timestamp.date(2026, 1, 1) && request.time < timestamp.date(2027, 1, 1)",
    allow: true,
  },
  // Functions and let.
  {
    name: "a function",
    rules: "function ok(v) { return v == 'x'; } match /c/{id} { allow read: if ok(id); }",
    allow: true,
  },
  {
    name: "a function sees its match's wildcards",
    rules: "match /c/{id} { function mine() { return id == 'x'; } allow read: if mine(); }",
    allow: true,
  },
  {
    name: "let bindings",
    rules: "function f(a) { let b = a + 1; let c = b * 2; return c == 4; } match /c/{id} { allow read: if f(1); }",
    allow: true,
  },
  {
    name: "a function from an outer block",
    rules:
      "function signedIn() { return request.auth != null; } match /c/{id} { match /s/{t} { allow read: if signedIn(); } }",
    path: "c/x/s/y",
    uid: "u",
    allow: true,
  },
  {
    name: "recursion is refused (depth limit)",
    rules: "function f(n) { return f(n); } match /c/{id} { allow read: if f(1); }",
    allow: false,
    reason: /nest more than 20/,
  },
  {
    name: "a wrong argument count is an error",
    rules: "function f(a) { return true; } match /c/{id} { allow read: if f(); }",
    allow: false,
  },
  { name: "an undefined function is an error", expr: "nope()", allow: false, reason: /not defined/ },
  // Operators and errors.
  {
    name: "arithmetic and precedence",
    expr: "1 + 2 * 3 == 7 && (1 + 2) * 3 == 9 && 7 / 2 == 3 && 7 % 3 == 1 && -7 / 2 == -3",
    allow: true,
  },
  { name: "int and float compare as numbers", expr: "1 == 1.0 && 2 > 1.5 && 1.5e1 == 15", allow: true },
  { name: "division by zero is an error", expr: "1 / 0 == 0", allow: false, reason: /division by zero/ },
  { name: "int overflow is an error", expr: "9223372036854775807 + 1 > 0", allow: false, reason: /overflow/ },
  { name: "error || true is true", expr: "resource.data.missing == 1 || true", allow: true },
  { name: "true || error is true", expr: "true || resource.data.missing == 1", allow: true },
  {
    name: "error && false is false (a deny, not an error)",
    rules: "match /c/{id} { allow read: if !(resource.data.missing == 1 && false); }",
    allow: true,
  },
  {
    name: "error && true is an error",
    expr: "resource.data.missing == 1 && true",
    allow: false,
    reason: /missing is undefined/,
  },
  { name: "a non-bool condition is an error", expr: "1", allow: false, reason: /not bool/ },
  { name: "ternary", expr: "(1 < 2 ? 'a' : 'b') == 'a'", allow: true },
  {
    name: "in: list, map, set",
    expr: "2 in [1, 2] && 'k' in {'k': 1} && 3 in [3].toSet() && !(4 in [1])",
    allow: true,
  },
  { name: "!= and !", expr: "1 != 2 && !false", allow: true },
  { name: "different types are unequal, not an error", expr: "1 != 'a' && null != false", allow: true },
  { name: "ordering different types is an error", expr: "1 < 'a'", allow: false, reason: /compare/ },
  // is.
  {
    name: "is: each type",
    expr: "1 is int && 1.5 is float && 1 is number && 'a' is string && true is bool && [1] is list && {'a': 1} is map && [1].toSet() is set && b'x' is bytes && /a/b is path && request.time is timestamp && duration.value(1, 's') is duration && latlng.value(1, 2) is latlng",
    allow: true,
  },
  { name: "is: negative", expr: "!('1' is int) && !(1 is string)", allow: true },
  {
    name: "is: a field's type",
    expr: "resource.data.t is timestamp && resource.data.g is latlng && resource.data.r is path && resource.data.f is float && resource.data.m is map",
    resource: {
      t: { $time: "2026-01-01T00:00:00Z" },
      g: { $geo: [1, 2] },
      r: { $ref: "c/y" },
      f: { $float: 1 },
      m: { a: 1 },
    },
    allow: true,
  },
  // Strings.
  {
    name: "string methods",
    expr: "'Hello'.size() == 5 && 'Hello'.lower() == 'hello' && 'Hello'.upper() == 'HELLO' && ' x '.trim() == 'x' && 'a,b'.split(',') == ['a', 'b']",
    allow: true,
  },
  {
    name: "matches is a full match",
    expr: "'abc'.matches('a.c') && !'abcd'.matches('a.c') && 'x@y.com'.matches('.*@y[.]com')",
    allow: true,
  },
  {
    name: "replace with a back reference",
    expr: "'aXbX'.replace('X', '-') == 'a-b-' && 'ab'.replace('(a)(b)', '\\\\2\\\\1') == 'ba'",
    allow: true,
  },
  {
    name: "string index, slice and concatenation",
    expr: "'abc'[1] == 'b' && 'abcd'[1:3] == 'bc' && 'a' + 'b' == 'ab'",
    allow: true,
  },
  { name: "size counts characters", expr: "'héé😀'.size() == 4", allow: true },
  { name: "toUtf8", expr: "'é'.toUtf8().size() == 2", allow: true },
  {
    name: "a bad regular expression is an error",
    expr: "'a'.matches('(')",
    allow: false,
    reason: /regular expression/,
  },
  // Lists and sets.
  {
    name: "list methods",
    expr: "[1, 2].size() == 2 && [1, 2, 3].hasAll([1, 3]) && [1].hasAny([0, 1]) && [1, 1].hasOnly([1]) && ['a', 'b'].join('-') == 'a-b' && [1].concat([2]) == [1, 2] && [1, 2, 1].removeAll([1]) == [2]",
    allow: true,
  },
  {
    name: "list index and slice",
    expr: "[1, 2, 3][0] == 1 && [1, 2, 3][1:] == [2, 3] && [1] + [2] == [1, 2]",
    allow: true,
  },
  { name: "list index out of range is an error", expr: "[1][5] == 1", allow: false, reason: /out of range/ },
  {
    name: "set methods",
    expr: "[1, 2].toSet().union([3].toSet()) == [1, 2, 3].toSet() && [1, 2].toSet().intersection([2, 3].toSet()) == [2].toSet() && [1, 2].toSet().difference([2].toSet()) == [1].toSet() && [1, 1, 2].toSet().size() == 2",
    allow: true,
  },
  // Maps.
  {
    name: "map methods",
    expr: "{'a': 1, 'b': 2}.size() == 2 && {'a': 1}.keys() == ['a'] && {'a': 1}.values() == [1] && {'a': {'b': 2}}.get(['a', 'b'], 0) == 2 && {'a': 1}.get('z', 7) == 7",
    allow: true,
  },
  {
    name: "map diff key sets",
    expr: "{'a': 1, 'b': 2, 'c': 3}.diff({'a': 1, 'b': 9, 'd': 4}).addedKeys() == ['c'].toSet() && {'a': 1, 'b': 2, 'c': 3}.diff({'a': 1, 'b': 9, 'd': 4}).removedKeys() == ['d'].toSet() && {'a': 1, 'b': 2, 'c': 3}.diff({'a': 1, 'b': 9, 'd': 4}).changedKeys() == ['b'].toSet() && {'a': 1, 'b': 2}.diff({'a': 1}).unchangedKeys() == ['a'].toSet()",
    allow: true,
  },
  { name: "map index by key", expr: "resource.data['n'] == 1", allow: true },
  {
    name: "an undefined field is an error",
    expr: "resource.data.zzz == null",
    allow: false,
    reason: /zzz is undefined/,
  },
  // Timestamps, durations, latlng, bytes, math, conversions.
  {
    name: "timestamp parts",
    expr: "request.time.year() == 2026 && request.time.month() == 12 && request.time.day() == 2 && request.time.hours() == 12 && request.time.minutes() == 0 && request.time.nanos() == 123456000 && request.time.dayOfWeek() == 3 && request.time.dayOfYear() == 336",
    allow: true,
  },
  {
    name: "timestamp arithmetic",
    expr: "request.time + duration.value(1, 'd') > request.time && request.time - request.time == duration.value(0, 's') && request.time.date() == timestamp.date(2026, 12, 2) && request.time.toMillis() == 1796212800123",
    allow: true,
  },
  {
    name: "durations",
    expr: "duration.value(90, 'm').seconds() == 5400 && duration.time(1, 2, 3, 4).nanos() == 4 && duration.abs(duration.value(-1, 's')) == duration.value(1, 's')",
    allow: true,
  },
  {
    name: "a document timestamp against request.time",
    expr: "resource.data.t < request.time",
    resource: { t: { $time: "2026-01-01T00:00:00.5Z" } },
    allow: true,
  },
  {
    name: "latlng",
    expr: "latlng.value(0, 0).distance(latlng.value(0, 1)) > 111000 && latlng.value(0, 0).distance(latlng.value(0, 1)) < 112000 && latlng.value(1, 2).latitude() == 1",
    allow: true,
  },
  {
    name: "bytes",
    expr: "b'ab'.size() == 2 && b'ab'.toBase64() == 'YWI=' && b'ab'.toHexString() == '6162'",
    allow: true,
  },
  {
    name: "hashing: known digests of strings (UTF-8) and bytes, as bytes",
    expr: "hashing.sha256('abc').toHexString() == 'BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD' && hashing.md5(b'abc').toHexString() == '900150983CD24FB0D6963F7D28E17F72' && hashing.crc32('123456789').toHexString() == 'CBF43926' && hashing.crc32c('123456789').toHexString() == 'E3069283' && hashing.sha256(b'abc') == hashing.sha256('abc') && hashing.sha256('é').size() == 32",
    allow: true,
  },
  {
    name: "hashing an int is an error (denied)",
    expr: "hashing.md5(1).size() == 16",
    allow: false,
  },
  {
    name: "math",
    expr: "math.abs(-2) == 2 && math.ceil(1.2) == 2 && math.floor(1.8) == 1 && math.round(1.5) == 2 && math.trunc(-1.5) == -1 && math.sqrt(4) == 2 && math.pow(2, 3) == 8 && math.isNaN(0.0 / 0.0) && math.isInfinite(1.0 / 0.0)",
    allow: true,
  },
  {
    name: "conversions",
    expr: "int('12') == 12 && int(1.9) == 1 && float(1) == 1.0 && string(1) == '1' && string(true) == 'true' && bool('true')",
    allow: true,
  },
  {
    name: "paths: literals, $() and indexing",
    expr: "/databases/$(database)/documents/c/$(id) == request.path && request.path[4] == 'x' && path('/a/b') == /a/b",
    allow: true,
  },
  // Document lookups.
  {
    name: "get() reads a document",
    rules:
      "match /c/{id} { allow read: if get(/databases/$(database)/documents/roles/$(request.auth.uid)).data.role == 'admin'; }",
    uid: "alice",
    docs: { "roles/alice": { role: "admin" } },
    allow: true,
  },
  {
    name: "get() of a missing document is null: its .data is an error",
    rules:
      "match /c/{id} { allow read: if get(/databases/$(database)/documents/roles/$(request.auth.uid)).data.role == 'admin'; }",
    uid: "bob",
    docs: {},
    allow: false,
  },
  {
    name: "exists()",
    expr: "exists(/databases/$(database)/documents/roles/a) && !exists(/databases/$(database)/documents/roles/b)",
    docs: { "roles/a": {} },
    allow: true,
  },
  {
    name: "getAfter() sees the write's result",
    rules:
      "match /c/{id} { allow create: if getAfter(/databases/$(database)/documents/c/$(id)).data.n == 2 && !exists(/databases/$(database)/documents/c/$(id)); }",
    method: "create",
    resource: null,
    after: { n: 2 },
    afterDocs: { "c/x": { n: 2 } },
    allow: true,
  },
  {
    name: "existsAfter() of a deleted document",
    rules: "match /c/{id} { allow delete: if !existsAfter(/databases/$(database)/documents/c/$(id)); }",
    method: "delete",
    afterDocs: { "c/x": null },
    docs: { "c/x": { n: 1 } },
    allow: true,
  },
  {
    name: "get() of another database is an error",
    expr: "exists(/databases/other/documents/c/x)",
    allow: false,
    reason: /another database/,
  },
  {
    name: "get() of a collection path is an error",
    expr: "exists(/databases/$(database)/documents/c)",
    allow: false,
    reason: /not a document path/,
  },
  {
    name: "the lookup limit (a repeated path counts once)",
    expr: "exists(/databases/$(database)/documents/d/1) || exists(/databases/$(database)/documents/d/1) || exists(/databases/$(database)/documents/d/2) || exists(/databases/$(database)/documents/d/3)",
    maxLookups: 2,
    allow: false,
    reason: /more than 2 document lookups/,
  },
  {
    name: "the lookup limit is not forgiven by ||",
    expr: "exists(/databases/$(database)/documents/d/1) || exists(/databases/$(database)/documents/d/2) || true",
    maxLookups: 1,
    allow: false,
    reason: /lookups/,
  },
];

describe("security rules conformance", () => {
  for (const c of CASES) {
    it(`${c.allow ? "allows" : "denies"}: ${c.name}`, () => {
      const { decision } = run(c);
      expect(decision.allowed, decision.reason).toBe(c.allow);
      if (c.reason) expect(decision.reason).toMatch(c.reason);
    });
  }

  it("lookups are read once per path per request", () => {
    const { lookups } = run({
      name: "",
      expr: "exists(/databases/$(database)/documents/d/1) && exists(/databases/$(database)/documents/d/1) && getAfter(/databases/$(database)/documents/d/1) != null",
      docs: { "d/1": {} },
      allow: true,
    });
    expect(lookups).toEqual(["d/1", "after d/1"]);
  });

  it("the expression limit: 1,000 per request", () => {
    const long = Array.from({ length: 600 }, () => "1 == 1").join(" && ");
    // (`|| true` does not forgive a limit.)
    const { decision } = run({ name: "", expr: `${long} || true`, allow: false });
    expect(decision.allowed).toBe(false);
    expect(decision.reason).toMatch(/1000 expressions/);
  });
});

describe("rules files that do not load", () => {
  const refused = (source: string) => {
    try {
      parseRules(source);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error("expected a refusal");
  };

  it("a syntax error names its line and column", () => {
    const message = refused(
      "rules_version = '2';\nservice cloud.firestore {\n  match /c/{id} {\n    allow read: if 1 +;\n  }\n}\n",
    );
    expect(message).toMatch(/^firestore\.rules:4:23: Expected/);
  });

  it("limits and structure: no firestore service, {x=**} not last, match nesting, function parameters", () => {
    expect(refused("service firebase.storage { }")).toMatch(/one "service cloud.firestore/);
    expect(refused("service cloud.firestore { match /{a=**}/b { allow read; } }")).toMatch(/must be the last segment/);
    expect(refused("rules_version = '2'; service cloud.firestore { match /{a=**}/b/{c=**} { allow read; } }")).toMatch(
      /one \{name=\*\*\} wildcard, not 2/,
    );
    const deep = `service cloud.firestore { ${"match /a { ".repeat(11)}${"} ".repeat(11)}}`;
    expect(refused(deep)).toMatch(/nest more than 10/);
    expect(refused("service cloud.firestore { function f(a,b,c,d,e,f,g,h) { return true; } }")).toMatch(
      /more than 7 parameters/,
    );
    expect(refused("rules_version = '3'; service cloud.firestore { }")).toMatch(/rules_version/);
    expect(refused(`service cloud.firestore { } // ${"x".repeat(256 * 1024)}`)).toMatch(/over 256 KB/);
  });

  it("comments, optional semicolons, rules_version 1", () => {
    const ruleset = parseRules(
      "// top\nrules_version = '1'\nservice cloud.firestore { /* block */ match /databases/{d}/documents { match /a/{b} { allow read: if true } } }",
    );
    expect(ruleset.version).toBe("1");
  });
});

describe("the generated rules parser", () => {
  it("is exactly what scripts/gen-rules-parser.mjs writes from the grammar", () => {
    const out = mkdtempSync(join(tmpdir(), "rules-gen-"));
    try {
      generateRulesParser(out);
      for (const f of ["parser.js", "parser.d.ts"]) {
        expect(readFileSync(join(RULES_GEN_DIR, f), "utf8"), f).toBe(readFileSync(join(out, f), "utf8"));
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe("document lookups across one request", () => {
  /**
   * Rules where reading c/{id} checks `exists` of d/shared and of `n` documents named after {id}
   * (none exists): "||" ends in `|| true` (allowed, unless a limit is hit, which no `||` forgives);
   * "&&" negates each (allowed when all are missing).
   */
  const rules = (n: number, op: "||" | "&&") =>
    parseRules(`rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /c/{id} {
      allow read: if ${[
        "exists(/databases/$(database)/documents/d/shared)",
        ...Array.from({ length: n }, (_, i) => `exists(/databases/$(database)/documents/d/$(id + '-${i + 1}'))`),
      ]
        .map((e) => (op === "&&" ? `!${e}` : e))
        .join(` ${op} `)}${op === "||" ? " || true" : ""};
    }
  }
}`);
  /** A `get` of c/{id} deciding with `lookups`, counting the documents it reads (none exists). */
  const reader = (ruleset: ReturnType<typeof parseRules>, lookups: RequestLookups) => {
    const count = { n: 0 };
    const read = (id: string) =>
      decide(
        ruleset,
        {
          method: "get",
          database: "(default)",
          path: ["c", id],
          auth: null,
          time: timestampFromText(NOW),
          resource: null,
        },
        () => {
          count.n++;
          return null;
        },
        lookups,
      );
    return { read, count };
  };

  it("one document's evaluation may make 10, even when the request may make 20", () => {
    const decision = reader(rules(11, "||"), new RequestLookups(20)).read("a");
    expect(decision.allowed).toBe(false);
    expect(decision.reason).toMatch(/more than 10 document lookups \(get, exists\) for one document/);
  });

  it("a multi-document request's documents share 20, and a document read again is not counted again", () => {
    const { read, count } = reader(rules(6, "&&"), new RequestLookups(20));
    // 7 lookups for the first document, then 6 each (d/shared is remembered): 7 + 6 + 6 = 19.
    expect(read("a").allowed).toBe(true);
    expect(read("b").allowed).toBe(true);
    expect(read("c").allowed).toBe(true);
    expect(count.n).toBe(19);
    // The fourth document's second new lookup would be the 21st.
    const fourth = read("d");
    expect(fourth.allowed).toBe(false);
    expect(fourth.reason).toMatch(/more than 20 document lookups \(get, exists\) in one request/);
  });
});
