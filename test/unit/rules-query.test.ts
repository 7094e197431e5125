/**
 * Rules are not filters: a query is allowed only when the rules allow every document it could
 * return, judged from the query (its equality filters, `IN` values, `__name__`, limit, collection
 * or collection group), never from the documents it would find. Cases as data.
 */
import { describe, expect, it } from "vitest";
import type { Value } from "../../src/model/types.js";
import type { Filter, NormalizedQuery } from "../../src/query/types.js";
import { resourceOf } from "../../src/rules/engine.js";
import { parseRules } from "../../src/rules/parse.js";
import { decideQuery } from "../../src/rules/query.js";
import { timestampFromText } from "../../src/rules/values.js";

const DB = "projects/p/databases/(default)/documents";

const v = (x: unknown): Value => {
  if (typeof x === "string")
    return x.startsWith("ref:") ? { referenceValue: `${DB}/${x.slice(4)}` } : { stringValue: x };
  if (typeof x === "number") return { integerValue: String(x) };
  if (typeof x === "boolean") return { booleanValue: x };
  if (x === null) return { nullValue: null };
  return { arrayValue: { values: (x as unknown[]).map(v) } };
};

const OPS = {
  "==": "EQUAL",
  in: "IN",
  ">": "GREATER_THAN",
  ">=": "GREATER_THAN_OR_EQUAL",
  "<": "LESS_THAN",
  "<=": "LESS_THAN_OR_EQUAL",
  "array-contains": "ARRAY_CONTAINS",
} as const;

/** `[field, op, value]` triples, ANDed; `or` takes several such lists. */
function where(...clauses: [string, keyof typeof OPS, unknown][]): Filter {
  const leaves: Filter[] = clauses.map(([f, op, x]) => ({
    kind: "field",
    field: f.split("."),
    op: OPS[op],
    value: v(x),
  }));
  return leaves.length === 1 ? (leaves[0] as Filter) : { kind: "and", filters: leaves };
}

function query(
  collection: string,
  options: { filter?: Filter; limit?: number; group?: boolean; parent?: string } = {},
): NormalizedQuery {
  return {
    parent: options.parent ?? "",
    collectionId: collection,
    allDescendants: options.group ?? false,
    ...(options.filter ? { filter: options.filter } : {}),
    orderBy: [{ field: ["__name__"], descending: false }],
    offset: 0,
    ...(options.limit === undefined ? {} : { limit: options.limit }),
  };
}

interface Case {
  name: string;
  rules: string;
  query: NormalizedQuery;
  uid?: string;
  docs?: Record<string, Record<string, Value>>;
  allow: boolean;
  reason?: RegExp;
}

const OWNER = "match /posts/{id} { allow list: if resource.data.owner == request.auth.uid; }";
const AGE = "match /people/{p} { allow list: if resource.data.age > 18; }";

const CASES: Case[] = [
  {
    name: "a rule that reads no field",
    rules: "match /posts/{id} { allow list: if request.auth != null; }",
    query: query("posts"),
    uid: "alice",
    allow: true,
  },
  {
    name: "the same, signed out",
    rules: "match /posts/{id} { allow list: if request.auth != null; }",
    query: query("posts"),
    allow: false,
  },
  {
    name: "owner rule, query filtered on the owner",
    rules: OWNER,
    query: query("posts", { filter: where(["owner", "==", "alice"]) }),
    uid: "alice",
    allow: true,
  },
  {
    name: "owner rule, no filter: not every post is alice's",
    rules: OWNER,
    query: query("posts"),
    uid: "alice",
    allow: false,
    reason: /not fixed by the query/,
  },
  {
    name: "owner rule, another owner's posts",
    rules: OWNER,
    query: query("posts", { filter: where(["owner", "==", "bob"]) }),
    uid: "alice",
    allow: false,
  },
  {
    name: "owner rule, filtered on another field only",
    rules: OWNER,
    query: query("posts", { filter: where(["topic", "==", "x"]) }),
    uid: "alice",
    allow: false,
  },
  {
    name: "owner rule, owner and more filters",
    rules: OWNER,
    query: query("posts", { filter: where(["owner", "==", "alice"], ["n", ">", 3]) }),
    uid: "alice",
    allow: true,
  },
  {
    name: "owner rule, owner in [alice]",
    rules: OWNER,
    query: query("posts", { filter: where(["owner", "in", ["alice"]]) }),
    uid: "alice",
    allow: true,
  },
  {
    name: "owner rule, owner in [alice, bob]: each value must be allowed",
    rules: OWNER,
    query: query("posts", { filter: where(["owner", "in", ["alice", "bob"]]) }),
    uid: "alice",
    allow: false,
  },
  {
    name: "owner rule, an OR of two owners, both alice",
    rules: OWNER,
    query: query("posts", {
      filter: {
        kind: "or",
        filters: [where(["owner", "==", "alice"], ["a", "==", 1]), where(["owner", "==", "alice"], ["b", "==", 2])],
      },
    }),
    uid: "alice",
    allow: true,
  },
  {
    name: "owner rule, an OR with another owner",
    rules: OWNER,
    query: query("posts", {
      filter: { kind: "or", filters: [where(["owner", "==", "alice"]), where(["owner", "==", "bob"])] },
    }),
    uid: "alice",
    allow: false,
  },
  {
    name: "public or mine: filtered on public",
    rules:
      "match /posts/{id} { allow list: if resource.data.visibility == 'public' || resource.data.owner == request.auth.uid; }",
    query: query("posts", { filter: where(["visibility", "==", "public"]) }),
    uid: "alice",
    allow: true,
  },
  {
    name: "public or mine: filtered on mine (the unknown side is forgiven)",
    rules:
      "match /posts/{id} { allow list: if resource.data.visibility == 'public' || resource.data.owner == request.auth.uid; }",
    query: query("posts", { filter: where(["owner", "==", "alice"]) }),
    uid: "alice",
    allow: true,
  },
  {
    name: "public or mine: no filter",
    rules:
      "match /posts/{id} { allow list: if resource.data.visibility == 'public' || resource.data.owner == request.auth.uid; }",
    query: query("posts"),
    uid: "alice",
    allow: false,
  },
  {
    name: "a nested field fixed by a dotted filter",
    rules: "match /posts/{id} { allow list: if resource.data.meta.lang == 'en'; }",
    query: query("posts", { filter: where(["meta.lang", "==", "en"]) }),
    allow: true,
  },
  {
    name: "a field's type when the filter fixes it",
    rules: "match /posts/{id} { allow list: if resource.data.n is int; }",
    query: query("posts", { filter: where(["n", "==", 3]) }),
    allow: true,
  },
  {
    name: "the keys of the documents are unknown",
    rules: "match /posts/{id} { allow list: if resource.data.keys().hasOnly(['a']); }",
    query: query("posts", { filter: where(["a", "==", 1]) }),
    allow: false,
  },
  {
    name: "a map get() of an unfixed field is unknown, not its default",
    rules: "match /posts/{id} { allow list: if resource.data.get('open', true) == true; }",
    query: query("posts"),
    allow: false,
  },
  {
    name: "unknown && false is false",
    rules: "match /posts/{id} { allow list: if !(resource.data.x == 1 && false); }",
    query: query("posts"),
    allow: true,
  },
  {
    name: "request.query.limit",
    rules: "match /posts/{id} { allow list: if request.query.limit <= 10; }",
    query: query("posts", { limit: 5 }),
    allow: true,
  },
  {
    name: "request.query.limit over the bound",
    rules: "match /posts/{id} { allow list: if request.query.limit <= 10; }",
    query: query("posts", { limit: 50 }),
    allow: false,
  },
  {
    name: "request.query.limit absent",
    rules: "match /posts/{id} { allow list: if request.query.limit <= 10; }",
    query: query("posts"),
    allow: false,
  },
  {
    name: "the document id is unknown",
    rules: "match /posts/{id} { allow list: if id == 'a'; }",
    query: query("posts"),
    allow: false,
  },
  {
    name: "__name__ fixed: the id is known",
    rules: "match /posts/{id} { allow list: if id == 'a' && resource.id == 'a'; }",
    query: query("posts", { filter: where(["__name__", "==", "ref:posts/a"]) }),
    allow: true,
  },
  {
    name: "a literal rule covers one document, not a query",
    rules: "match /posts/special { allow read; }",
    query: query("posts"),
    allow: false,
  },
  {
    name: "get() in a list rule",
    rules:
      "match /posts/{id} { allow list: if get(/databases/$(database)/documents/users/$(request.auth.uid)).data.admin == true; }",
    query: query("posts"),
    uid: "alice",
    docs: { "users/alice": { admin: { booleanValue: true } } },
    allow: true,
  },
  {
    name: "subcollection query under a parent",
    rules: "match /users/{u}/posts/{p} { allow list: if u == request.auth.uid; }",
    query: query("posts", { parent: "users/alice" }),
    uid: "alice",
    allow: true,
  },
  {
    name: "collection group: a {path=**} rule covers it",
    rules: "match /{path=**}/posts/{p} { allow read: if request.auth != null; }",
    query: query("posts", { group: true }),
    uid: "a",
    allow: true,
  },
  {
    name: "collection group: a rule for one parent does not",
    rules: "match /users/{u}/posts/{p} { allow read; }",
    query: query("posts", { group: true }),
    allow: false,
  },
  {
    name: "collection group: the path is unknown",
    rules: "match /{path=**}/posts/{p} { allow read: if path == /users/a; }",
    query: query("posts", { group: true }),
    allow: false,
  },
  {
    name: "a range filter implies the rule's bound",
    rules: AGE,
    query: query("people", { filter: where(["age", ">", 18]) }),
    allow: true,
  },
  {
    name: "a tighter range implies it too",
    rules: AGE,
    query: query("people", { filter: where(["age", ">=", 21], ["age", "<", 99]) }),
    allow: true,
  },
  {
    name: "an inclusive bound at the limit does not",
    rules: AGE,
    query: query("people", { filter: where(["age", ">=", 18]) }),
    allow: false,
    reason: /only bounded/,
  },
  {
    name: "the wrong side of the range does not",
    rules: AGE,
    query: query("people", { filter: where(["age", "<", 30]) }),
    allow: false,
  },
  { name: "no filter on the field does not", rules: AGE, query: query("people"), allow: false },
  {
    name: "a bound written the other way round",
    rules: "match /people/{p} { allow list: if 65 >= resource.data.age; }",
    query: query("people", { filter: where(["age", "<=", 60]) }),
    allow: true,
  },
  {
    name: "a range is not an equality",
    rules: "match /people/{p} { allow list: if resource.data.age == 20; }",
    query: query("people", { filter: where(["age", ">", 19], ["age", "<", 21]) }),
    allow: false,
  },
  {
    name: "strings compare too",
    rules: "match /people/{p} { allow list: if resource.data.name < 'n'; }",
    query: query("people", { filter: where(["name", "<", "m"]) }),
    allow: true,
  },
  {
    name: "read covers list; get does not",
    rules: "match /posts/{id} { allow get; }",
    query: query("posts"),
    allow: false,
  },
];

describe("queries under security rules: rules are not filters", () => {
  for (const c of CASES) {
    it(`${c.allow ? "allows" : "denies"}: ${c.name}`, () => {
      const ruleset = parseRules(
        `rules_version = '2'; service cloud.firestore { match /databases/{database}/documents { ${c.rules} } }`,
      );
      const decision = decideQuery(
        ruleset,
        {
          database: "(default)",
          query: c.query,
          auth: c.uid === undefined ? null : { uid: c.uid, token: { sub: c.uid } },
          time: timestampFromText("2026-12-02T12:00:00Z"),
        },
        (path) => {
          const key = path.segments.slice(3).join("/");
          const fields = c.docs?.[key];
          return fields ? resourceOf("(default)", { path: path.segments.slice(3), fields }) : null;
        },
        10,
      );
      expect(decision.allowed, decision.reason).toBe(c.allow);
      if (c.reason) expect(decision.reason).toMatch(c.reason);
    });
  }
});
