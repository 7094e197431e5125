/**
 * The corpus: valid REST requests for every method of the documents API, built for one database
 * (a fuzz lane's), under /v1 or /v1beta1. Each is a template the mutators work on:
 * `{ name, method, version, project, database, path, verb, query, body, headers }`, where `path`
 * holds the segments after `documents` and `query` the query-string pairs.
 *
 * `$TX` in a template stands for a live transaction id: the runner begins one (read-write or
 * read-only, as `tx` says) just before sending, and rolls it back afterwards.
 */

/** Documents every lane database starts with (and is reset to): several collections, a
 *  subcollection, a missing parent, numeric and `____` ids, and every value type. */
export const SENTINELS = {
  "c1/s1": {
    n: { integerValue: "1" },
    s: { stringValue: "a" },
    d: { doubleValue: 1.5 },
    b: { booleanValue: true },
    nul: { nullValue: null },
    t: { timestampValue: "2024-01-02T03:04:05.123456Z" },
    by: { bytesValue: "AAEC" },
    g: { geoPointValue: { latitude: 1, longitude: 2 } },
    arr: { arrayValue: { values: [{ integerValue: "1" }, { stringValue: "x" }] } },
    m: { mapValue: { fields: { a: { booleanValue: true }, k: { integerValue: "3" } } } },
    v: {
      mapValue: {
        fields: {
          __type__: { stringValue: "__vector__" },
          value: { arrayValue: { values: [{ doubleValue: 1 }, { doubleValue: 0 }] } },
        },
      },
    },
  },
  "c1/s2": {
    n: { integerValue: "2" },
    s: { stringValue: "b" },
    arr: { arrayValue: { values: [{ stringValue: "y" }] } },
  },
  "c1/s3": { n: { integerValue: "3" }, d: { doubleValue: "NaN" } },
  "c1/__id7__": { n: { integerValue: "7" } },
  "c1/s1/sub/x1": { n: { integerValue: "10" } },
  "c2/y": { n: { integerValue: "5" }, tags: { arrayValue: { values: [{ stringValue: "a" }, { stringValue: "b" }] } } },
  "ghost/g/sub/z": { n: { integerValue: "6" } },
  "____/u": { n: { integerValue: "8" } },
};

/** The commit that (re)creates the sentinels. */
export function seedBody(project, database) {
  const root = `projects/${project}/databases/${database}/documents`;
  return {
    writes: Object.entries(SENTINELS).map(([path, fields]) => ({ update: { name: `${root}/${path}`, fields } })),
  };
}

const DOC_PATHS = ["c1/s1", "c1/s2", "c1/s3", "c1/__id7__", "c1/s1/sub/x1", "c2/y", "____/u", "c1/new", "c3/absent"];
const COLLECTIONS = ["c1", "c2", "sub", "____", "c3"];
const FIELDS = ["n", "s", "d", "b", "t", "arr", "m.a", "m.k", "tags", "v", "nul", "`weird.name`"];

/** A random valid Value (proto3 JSON) of bounded size. */
export function value(rng, depth = 0) {
  const kinds = depth >= 2 ? 9 : 11;
  switch (rng.int(kinds)) {
    case 0:
      return { nullValue: null };
    case 1:
      return { booleanValue: rng.chance(0.5) };
    case 2:
      return { integerValue: String(rng.range(-5, 20)) };
    case 3:
      return { doubleValue: rng.pick([0.5, -2.25, 1e10, "NaN", "Infinity", 3]) };
    case 4:
      return { timestampValue: rng.pick(["2024-01-02T03:04:05Z", "2001-09-09T01:46:40.5Z", "1970-01-01T00:00:00Z"]) };
    case 5:
      return { stringValue: rng.pick(["a", "b", "", "ünïcode", "x".repeat(rng.range(1, 40))]) };
    case 6:
      return { bytesValue: rng.pick(["", "AA==", "AAEC", "_-8"]) };
    case 7:
      return { referenceValue: "projects/p/databases/(default)/documents/c1/s1" };
    case 8:
      return { geoPointValue: { latitude: rng.range(-90, 90), longitude: rng.range(-180, 180) } };
    case 9: {
      const values = [];
      for (let i = rng.int(4); i > 0; i--) {
        let v = value(rng, depth + 1);
        if ("arrayValue" in v) v = { integerValue: "1" };
        values.push(v);
      }
      return { arrayValue: { values } };
    }
    default: {
      const fields = {};
      for (let i = rng.int(4); i > 0; i--) fields[rng.pick(["a", "b", "k", "n"])] = value(rng, depth + 1);
      return { mapValue: { fields } };
    }
  }
}

function fields(rng) {
  const out = {};
  for (let i = rng.range(0, 4); i > 0; i--) out[rng.pick(["n", "s", "d", "arr", "m", "new"])] = value(rng);
  return out;
}

const fieldRef = (fieldPath) => ({ fieldPath });

/** A page token shaped like the server's (base64url JSON), valid or plausibly forged. */
function pageToken(rng) {
  const v = rng.pick([
    () => ({ path: rng.pick(DOC_PATHS) }),
    () => ({ path: "c1/s1", values: JSON.stringify([value(rng)]) }),
    () => ({ path: "c1/s2", values: JSON.stringify([value(rng), value(rng)]) }),
    () => ({ path: "c1/s1", values: rng.pick(["[]", "[1]", "{", '[{"integerValue":"x"}]', '[{"bogus":1}]']) }),
    () => ({ path: rng.pick(["", "c1", "../x", "c1/__x__", "c1/s1/"]) }),
    () => rng.pick(["c1", "sub", "__x__", "", 3, -1, 1e9, null, [], {}]),
  ])();
  return Buffer.from(JSON.stringify(v)).toString("base64url");
}

function filter(rng, depth = 0) {
  const r = rng.int(depth >= 2 ? 4 : 6);
  if (r <= 2) {
    const field = rng.pick(["n", "s", "d", "arr", "tags", "m.k"]);
    const op = rng.pick([
      "EQUAL",
      "LESS_THAN",
      "GREATER_THAN_OR_EQUAL",
      "NOT_EQUAL",
      "ARRAY_CONTAINS",
      "IN",
      "NOT_IN",
      "ARRAY_CONTAINS_ANY",
    ]);
    const list = ["IN", "NOT_IN", "ARRAY_CONTAINS_ANY"].includes(op);
    return {
      fieldFilter: {
        field: fieldRef(field),
        op,
        value: list
          ? { arrayValue: { values: [{ integerValue: "1" }, { stringValue: "a" }] } }
          : { integerValue: String(rng.range(0, 5)) },
      },
    };
  }
  if (r === 3) return { unaryFilter: { op: rng.pick(["IS_NULL", "IS_NAN", "IS_NOT_NULL"]), field: fieldRef("d") } };
  return {
    compositeFilter: {
      op: rng.pick(["AND", "OR"]),
      filters: [filter(rng, depth + 1), filter(rng, depth + 1)],
    },
  };
}

function structuredQuery(rng, db) {
  const q = {
    from: [rng.chance(0.8) ? { collectionId: rng.pick(COLLECTIONS) } : { collectionId: "sub", allDescendants: true }],
  };
  if (rng.chance(0.5)) q.where = filter(rng);
  if (rng.chance(0.4))
    q.orderBy = [
      { field: fieldRef(rng.pick(["n", "s", "__name__"])), direction: rng.pick(["ASCENDING", "DESCENDING"]) },
    ];
  if (rng.chance(0.3)) q.limit = rng.chance(0.5) ? rng.range(0, 5) : { value: rng.range(0, 5) };
  if (rng.chance(0.2)) q.offset = rng.range(0, 3);
  if (rng.chance(0.2)) q.select = { fields: [fieldRef("n"), fieldRef("s")] };
  if (rng.chance(0.2)) q.startAt = { values: [{ integerValue: "1" }], before: true };
  if (rng.chance(0.1)) q.endAt = { values: [{ referenceValue: `${db}/documents/c1/s2` }] };
  if (rng.chance(0.05)) {
    delete q.startAt;
    delete q.endAt;
    q.findNearest = {
      vectorField: fieldRef("v"),
      queryVector: {
        mapValue: {
          fields: {
            __type__: { stringValue: "__vector__" },
            value: { arrayValue: { values: [{ doubleValue: 1 }, { doubleValue: 1 }] } },
          },
        },
      },
      distanceMeasure: rng.pick(["EUCLIDEAN", "COSINE", "DOT_PRODUCT"]),
      limit: rng.range(1, 3),
    };
  }
  return q;
}

function write(rng, docs) {
  const name = `${docs}/${rng.pick(DOC_PATHS)}`;
  const w = {};
  switch (rng.int(5)) {
    case 0:
      w.update = { name, fields: fields(rng) };
      break;
    case 1:
      w.update = { name, fields: fields(rng) };
      w.updateMask = { fieldPaths: ["n", "s"] };
      w.updateTransforms = [
        rng.pick([
          { fieldPath: "cnt", increment: { integerValue: "1" } },
          { fieldPath: "ts", setToServerValue: "REQUEST_TIME" },
          { fieldPath: "tags", appendMissingElements: { values: [{ stringValue: "z" }] } },
          { fieldPath: "mx", maximum: { doubleValue: 2.5 } },
        ]),
      ];
      break;
    case 2:
      w.delete = name;
      break;
    case 3:
      w.transform = { document: name, fieldTransforms: [{ fieldPath: "cnt", increment: { integerValue: "2" } }] };
      break;
    default:
      w.verify = name;
  }
  if (rng.chance(0.3))
    w.currentDocument = rng.chance(0.5) ? { exists: rng.chance(0.5) } : { updateTime: "2024-01-01T00:00:00Z" };
  return w;
}

/**
 * A transaction id that is valid base64 but not one the server issued: the server's read-only ids
 * are base64 of `ro/{readTime}/{started}/{nonce}` (durable-objects/database/transactions.ts), so
 * some look like those, with odd read times.
 */
function forgedTransaction(rng) {
  const now = Date.now();
  const readTime = rng.pick(["0", "1", String(now * 1000), String((now + 3_600_000) * 1000), "99999999999999999999"]);
  return Buffer.from(
    rng.pick([`ro/${readTime}/${now}/x1`, `ro/1/${rng.pick(["0", String(now + 1e6)])}/x`, "rw/x", "\u0000\u00ff"]),
    "latin1",
  ).toString("base64");
}

const consistencyChoices = (rng) =>
  rng.weighted([
    [12, {}],
    [2, { readTime: new Date(Date.now() - 1000).toISOString() }],
    [2, { newTransaction: { readOnly: {} } }],
    [2, { transaction: "$TX" }],
    [1, { transaction: forgedTransaction(rng) }],
  ]);

/** Every corpus entry: method name → template builder. */
const BUILDERS = {
  get: (rng) => ({
    method: "GET",
    path: rng.pick(DOC_PATHS).split("/"),
    query: rng.pick([
      [],
      [
        ["mask.fieldPaths", rng.pick(FIELDS)],
        ["mask.fieldPaths", rng.pick(FIELDS)],
      ],
      [["readTime", new Date(Date.now() - 500).toISOString()]],
      [["transaction", "$TX"]],
    ]),
    tx: "readOnly",
  }),
  list: (rng) => ({
    method: "GET",
    path: rng.pick([["c1"], ["c1", "s1", "sub"], ["c2"], ["____"], []]),
    query: rng.pick([
      [["pageSize", "2"]],
      [
        ["orderBy", "n desc"],
        ["pageSize", String(rng.range(1, 5))],
      ],
      [["showMissing", "true"]],
      [["mask.fieldPaths", rng.pick(FIELDS)]],
      [
        ["orderBy", "n"],
        ["pageToken", pageToken(rng)],
      ],
      [["pageToken", pageToken(rng)]],
      [],
    ]),
  }),
  createDocument: (rng) => ({
    method: "POST",
    path: [rng.pick(COLLECTIONS)],
    query: rng.chance(0.5) ? [["documentId", `id${rng.int(1000)}`]] : [],
    body: { fields: fields(rng) },
  }),
  patch: (rng) => ({
    method: "PATCH",
    path: rng.pick(DOC_PATHS).split("/"),
    query: rng.pick([
      [],
      [["updateMask.fieldPaths", "n"]],
      [["currentDocument.exists", "true"]],
      [["mask.fieldPaths", "s"]],
    ]),
    body: { fields: fields(rng) },
  }),
  delete: (rng) => ({
    method: "DELETE",
    path: rng.pick(DOC_PATHS).split("/"),
    query: rng.pick([
      [],
      [["currentDocument.exists", "true"]],
      [["currentDocument.updateTime", "2024-01-01T00:00:00Z"]],
    ]),
  }),
  batchGet: (rng, { docs }) => ({
    method: "POST",
    verb: "batchGet",
    body: {
      documents: [`${docs}/${rng.pick(DOC_PATHS)}`, `${docs}/${rng.pick(DOC_PATHS)}`],
      ...(rng.chance(0.3) ? { mask: { fieldPaths: ["n"] } } : {}),
      ...consistencyChoices(rng),
    },
    tx: "readOnly",
  }),
  beginTransaction: (rng) => ({
    method: "POST",
    verb: "beginTransaction",
    body: rng.pick([
      {},
      { options: { readOnly: {} } },
      { options: { readWrite: {} } },
      { options: { readOnly: { readTime: new Date(Date.now() - 1000).toISOString() } } },
    ]),
  }),
  commit: (rng, { docs }) => ({
    method: "POST",
    verb: "commit",
    body: {
      writes: Array.from({ length: rng.range(0, 3) }, () => write(rng, docs)),
      ...(rng.chance(0.2) ? { transaction: "$TX" } : {}),
    },
    tx: "readWrite",
  }),
  rollback: () => ({ method: "POST", verb: "rollback", body: { transaction: "$TX" }, tx: "readWrite" }),
  runQuery: (rng, { db }) => ({
    method: "POST",
    verb: "runQuery",
    path: rng.chance(0.2) ? ["c1", "s1"] : [],
    body: { structuredQuery: structuredQuery(rng, db), ...consistencyChoices(rng) },
    tx: "readOnly",
  }),
  runAggregationQuery: (rng, { db }) => {
    const q = structuredQuery(rng, db);
    delete q.findNearest;
    return {
      method: "POST",
      verb: "runAggregationQuery",
      body: {
        structuredAggregationQuery: {
          structuredQuery: q,
          aggregations: rng.pick([
            [{ count: {} }],
            [{ alias: "total", sum: { field: fieldRef("n") } }, { avg: { field: fieldRef("d") } }],
            [{ count: { upTo: "5" } }],
          ]),
        },
        ...(rng.chance(0.2) ? { explainOptions: { analyze: rng.chance(0.5) } } : {}),
      },
    };
  },
  partitionQuery: (rng) => ({
    method: "POST",
    verb: "partitionQuery",
    body: {
      structuredQuery: {
        from: [{ collectionId: "sub", allDescendants: true }],
        orderBy: [{ field: fieldRef("__name__") }],
      },
      partitionCount: String(rng.range(1, 4)),
      ...(rng.chance(0.3) ? { pageSize: 1 } : {}),
      ...(rng.chance(0.2) ? { pageToken: pageToken(rng) } : {}),
    },
  }),
  listCollectionIds: (rng) => ({
    method: "POST",
    verb: "listCollectionIds",
    path: rng.chance(0.3) ? ["c1", "s1"] : [],
    body: rng.pick([
      {},
      { pageSize: 1 },
      { pageSize: 2, readTime: new Date(Date.now() - 500).toISOString() },
      { pageToken: pageToken(rng) },
    ]),
  }),
  batchWrite: (rng, { docs }) => {
    const seen = new Set();
    const writes = [];
    for (let i = rng.range(0, 3); i > 0; i--) {
      const w = write(rng, docs);
      const target = w.update?.name ?? w.delete ?? w.transform?.document ?? w.verify;
      if (seen.has(target) || w.verify !== undefined) continue;
      seen.add(target);
      writes.push(w);
    }
    return { method: "POST", verb: "batchWrite", body: { writes, ...(rng.chance(0.2) ? { labels: { k: "v" } } : {}) } };
  },
};

export const METHODS = Object.keys(BUILDERS);

/** A valid request template for `method` (one of METHODS) against a lane's database. */
export function template(rng, method, project, database) {
  const db = `projects/${project}/databases/${database}`;
  const docs = `${db}/documents`;
  const built = BUILDERS[method](rng, { db, docs });
  const body = built.body;
  // Fields named like the database or parent are optional in bodies; add them sometimes.
  if (body !== undefined && rng.chance(0.2)) {
    if (["batchGet", "commit", "beginTransaction", "rollback", "batchWrite"].includes(built.verb ?? "")) {
      body.database = db;
    } else if (["runQuery", "runAggregationQuery", "partitionQuery", "listCollectionIds"].includes(built.verb ?? "")) {
      body.parent = built.path?.length ? `${docs}/${built.path.join("/")}` : docs;
    }
  }
  return {
    name: method,
    method: built.method,
    version: rng.chance(0.5) ? "v1" : "v1beta1",
    project,
    database,
    path: built.path ?? [],
    verb: built.verb,
    query: built.query ?? [],
    body,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    tx: built.tx,
  };
}
