/**
 * Mutators. A request template (corpus.mjs) is mutated as a JSON structure first (wrong types,
 * extreme numbers, missing and extra fields, bad enums, deep nesting, bad base64, timestamps and
 * resource names), then serialized, then possibly mutated as raw HTTP (truncated or garbage
 * bodies, bad percent-encoding, odd methods, content types and headers). Every choice comes from
 * the request's own PRNG, so a request is reproducible from (seed, index).
 */

const KNOWN_FIELDS = [
  "writes",
  "update",
  "delete",
  "verify",
  "transform",
  "updateMask",
  "update_mask",
  "updateTransforms",
  "currentDocument",
  "current_document",
  "fieldPaths",
  "field_paths",
  "name",
  "fields",
  "createTime",
  "updateTime",
  "documents",
  "mask",
  "transaction",
  "newTransaction",
  "new_transaction",
  "readTime",
  "read_time",
  "options",
  "readOnly",
  "readWrite",
  "retryTransaction",
  "structuredQuery",
  "structured_query",
  "structuredAggregationQuery",
  "aggregations",
  "from",
  "where",
  "orderBy",
  "order_by",
  "startAt",
  "endAt",
  "offset",
  "limit",
  "select",
  "findNearest",
  "collectionId",
  "allDescendants",
  "fieldFilter",
  "compositeFilter",
  "unaryFilter",
  "op",
  "value",
  "field",
  "fieldPath",
  "direction",
  "values",
  "before",
  "parent",
  "pageSize",
  "pageToken",
  "partitionCount",
  "database",
  "labels",
  "explainOptions",
  "count",
  "sum",
  "avg",
  "alias",
  "upTo",
  "integerValue",
  "stringValue",
  "arrayValue",
  "mapValue",
  "doubleValue",
  "nullValue",
  "referenceValue",
  "timestampValue",
  "bytesValue",
  "geoPointValue",
  "booleanValue",
  "latitude",
  "longitude",
  "exists",
  "increment",
  "setToServerValue",
  "appendMissingElements",
  "removeAllFromArray",
  "maximum",
  "minimum",
  "vectorField",
  "queryVector",
  "distanceMeasure",
  "distanceThreshold",
  "distanceResultField",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "",
  "__name__",
  "__x__",
  "$TX",
];

const STRINGS = [
  "",
  " ",
  "\u0000",
  "\uD800",
  "\uDFFF",
  "a\uD800b",
  "💩",
  "\u202E",
  "NaN",
  "Infinity",
  "-Infinity",
  "1e400",
  "-0",
  "9223372036854775807",
  "9223372036854775808",
  "-9223372036854775809",
  "0x10",
  "1.5",
  "1e3",
  "+1",
  " 1",
  "true",
  "null",
  "undefined",
  "REQUEST_TIME",
  "ASCENDING",
  "DESCENDING",
  "OPERATOR_UNSPECIFIED",
  "AND",
  "OR",
  "IN",
  "EUCLIDEAN",
  "__name__",
  "__x__",
  "____",
  "__id7__",
  "__id07__",
  "__id9223372036854775808__",
  ".",
  "..",
  "a.b",
  "`a`",
  "`",
  "a..b",
  "a.",
  "*",
  "n desc",
  "n DESC,",
  "__name__ desc",
  "2020-13-01T00:00:00Z",
  "1970-01-01T00:00:00Z",
  "0001-01-01T00:00:00Z",
  "0000-12-31T23:59:59Z",
  "9999-12-31T23:59:59.999999999Z",
  "10000-01-01T00:00:00Z",
  "2024-02-30T00:00:00Z",
  "2024-01-01T00:00:00.1234567891Z",
  "2024-01-01T00:00:00+25:00",
  "2024-01-01T24:00:00Z",
  "2024-01-01T00:00:60Z",
  "2024-01-01",
  "!!!",
  "====",
  "AAAA",
  "A",
  "AB=C",
  "_-_-",
  "%",
  "%FF",
  "/",
  "//",
  "projects/p/databases/d/documents",
  "projects//databases/(default)/documents/c/d",
  "projects/p/databases/(default)",
];

const NUMBERS = [
  0, -0, 1, -1, 2, 0.5, -1.5, 2147483647, 2147483648, -2147483649, 4294967296, 9007199254740992, 1e21, 1e308, -1e308,
  5e-324, 1e-7, 501, 10001, 100000, 1e9,
];

function interesting(rng) {
  switch (rng.int(9)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick(NUMBERS);
    case 3:
    case 4:
      return rng.pick(STRINGS);
    case 5:
      return [];
    case 6:
      return {};
    case 7:
      return [rng.pick(NUMBERS), rng.pick(STRINGS), null];
    default:
      return { [rng.pick(KNOWN_FIELDS)]: rng.pick([null, 1, "x", {}, []]) };
  }
}

/** Every (parent, key) slot of a JSON tree, breadth first, at most `limit`. */
function slots(root, limit = 400) {
  const out = [];
  const queue = [root];
  while (queue.length > 0 && out.length < limit) {
    const node = queue.shift();
    if (Array.isArray(node)) {
      node.forEach((child, i) => {
        out.push({ parent: node, key: i });
        if (child !== null && typeof child === "object") queue.push(child);
      });
    } else if (node !== null && typeof node === "object") {
      for (const key of Object.keys(node)) {
        out.push({ parent: node, key });
        const child = node[key];
        if (child !== null && typeof child === "object") queue.push(child);
      }
    }
  }
  return out;
}

const camelToSnake = (k) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const snakeToCamel = (k) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase());

/** Mutations of a resource name: bad ids, wrong shapes, other databases. */
function mutateName(rng, name) {
  const parts = name.split("/");
  switch (rng.int(10)) {
    case 0:
      parts[parts.length - 1] = rng.pick(["__x__", "..", ".", "", "x".repeat(1501), "\uD800", "_____", "a%2Fb"]);
      return parts.join("/");
    case 1:
      return parts.slice(0, -1).join("/");
    case 2:
      return `${name}/`;
    case 3:
      return `${name}/extra`;
    case 4:
      return name.replace(/^projects\/[^/]*/, `projects/${rng.pick(["other", "", "p q", "\u0000"])}`);
    case 5:
      return name.replace(/databases\/[^/]*/, `databases/${rng.pick(["other", "", "(default)"])}`);
    case 6:
      return name.replace("/documents", rng.pick(["/document", "/documents/", "", "/documents/documents"]));
    case 7:
      return `${name}${"/c/d".repeat(rng.pick([50, 120, 2000]))}`;
    case 8:
      return name.replace(/\//g, "//");
    default:
      return name.slice(0, rng.int(name.length + 1));
  }
}

function mutateString(rng, s) {
  if (s.startsWith("projects/") && rng.chance(0.7)) return mutateName(rng, s);
  switch (rng.int(8)) {
    case 0:
      return rng.pick(STRINGS);
    case 1:
      return s.slice(0, rng.int(s.length + 1));
    case 2:
      return s + rng.pick(STRINGS);
    case 3:
      return s.repeat(rng.pick([2, 50, 3000]));
    case 4:
      return "x".repeat(rng.pick([1500, 1501, 6145, 70000, 1_100_000]));
    case 5:
      return s.toUpperCase();
    case 6:
      return `${s}\uD800`;
    default:
      return s.split("").reverse().join("");
  }
}

/** Prefix and suffix of one nesting level, per kind (Firestore values, filters, plain JSON). */
const NESTINGS = [
  ['{"mapValue":{"fields":{"a":', "}}}"],
  ['{"arrayValue":{"values":[', "]}}"],
  ['{"compositeFilter":{"op":"AND","filters":[', "]}}"],
  ['{"compositeFilter":{"op":"OR","filters":[{"unaryFilter":{"op":"IS_NULL","field":{"fieldPath":"n"}}},', "]}}"],
  ["[", "]"],
  ['{"a":', "}"],
];

/**
 * Deep nesting is spliced into the serialized text (JSON.stringify would overflow the stack):
 * the tree holds a placeholder string, `t.deep` what replaces it.
 */
function nest(rng, t, node, depth) {
  const [open, close] = rng.pick(NESTINGS);
  const token = `\u0001deep${t.deep.length}`;
  t.deep.push({ token, open, close, depth, inner: node });
  return token;
}

/** One structural mutation of a JSON tree; returns the (possibly new) root. */
function mutateTree(rng, t, root) {
  const all = slots(root);
  if (all.length === 0 || rng.chance(0.05)) return interesting(rng);
  const { parent, key } = rng.pick(all);
  const current = parent[key];
  switch (rng.int(12)) {
    case 0: // wrong type
      parent[key] = interesting(rng);
      break;
    case 1: // missing field
      if (Array.isArray(parent)) parent.splice(key, 1);
      else delete parent[key];
      break;
    case 2: // extra field
      if (!Array.isArray(parent)) parent[rng.pick(KNOWN_FIELDS)] = rng.chance(0.5) ? interesting(rng) : current;
      else parent.push(rng.chance(0.5) ? interesting(rng) : current);
      break;
    case 3: // renamed field (snake/camel twins, typos)
      if (!Array.isArray(parent)) {
        const renamed = rng.pick([camelToSnake(key), snakeToCamel(key), `${key}x`, key.toUpperCase(), ` ${key}`]);
        delete parent[key];
        parent[renamed] = current;
        if (rng.chance(0.3)) parent[key] = current; // both spellings at once
      }
      break;
    case 4: // strings
      if (typeof current === "string") parent[key] = mutateString(rng, current);
      else parent[key] = rng.pick(STRINGS);
      break;
    case 5: // numbers
      parent[key] =
        typeof current === "string" && /^-?\d+$/.test(current) ? String(rng.pick(NUMBERS)) : rng.pick(NUMBERS);
      break;
    case 6: {
      // many copies (limits: 500 writes, 30 disjunctions, 100 filters, 2048 dimensions), kept
      // under ~8 MB of JSON
      const size = (JSON.stringify(current) ?? "").length + 1;
      const n = Math.max(2, Math.min(rng.pick([11, 31, 101, 501, 2049]), Math.floor(8_000_000 / size)));
      if (Array.isArray(current) && current.length > 0) {
        parent[key] = Array.from({ length: n }, (_, i) => structuredClone(current[i % current.length]));
      } else parent[key] = Array.from({ length: n }, () => current);
      break;
    }
    case 7: // deep nesting
      parent[key] = nest(rng, t, current, rng.pick([6, 19, 20, 21, 30, 33, 34, 50, 99, 100, 101, 3000, 200_000]));
      break;
    case 8: {
      // swap with another slot (copies: the other slot may lie inside this one)
      const other = rng.pick(all);
      const tmp = structuredClone(other.parent[other.key]);
      other.parent[other.key] = structuredClone(current);
      parent[key] = tmp;
      break;
    }
    case 9: // enum confusion
      parent[key] = rng.pick([0, 1, 2, 3, 99, -1, "1", "99", "ascending", "LIKE", "OPERATOR_UNSPECIFIED", "AND"]);
      break;
    case 10: // empty containers and nulls
      parent[key] = rng.pick([null, [], {}, [null], { values: null }, { fields: null }]);
      break;
    default: // a Firestore value where another is expected, or a value that is not one
      parent[key] = rng.pick([
        { integerValue: "1" },
        { stringValue: "a", integerValue: "1" },
        { arrayValue: { values: [{ arrayValue: { values: [] } }] } },
        { mapValue: { fields: { __bad__: { nullValue: null } } } },
        { timestampValue: { seconds: "1", nanos: 1e9 } },
        { bytesValue: "***" },
        { geoPointValue: { latitude: 91, longitude: 0 } },
        { referenceValue: "c/d" },
        { doubleValue: "1e400" },
        { unknownValue: 1 },
        {},
      ]);
  }
  return root;
}

/** Mutates a template in place (URL-level and JSON-level parts). */
export function mutateTemplate(rng, t) {
  t.deep = [];
  const n = rng.weighted([
    [2, 0],
    [10, 1],
    [5, 2],
    [2, 3],
  ]);
  for (let i = 0; i < n; i++) {
    const target = rng.weighted([
      [t.body === undefined ? 1 : 10, "body"],
      [2, "path"],
      [2, "query"],
      [1, "verb"],
      [1, "method"],
      [1, "version"],
    ]);
    switch (target) {
      case "body":
        try {
          t.body = mutateTree(rng, t, t.body === undefined ? {} : t.body);
        } catch {
          // A tree too deep for structuredClone/JSON.stringify: leave it as it is.
        }
        break;
      case "path":
        mutatePath(rng, t);
        break;
      case "query":
        mutateQuery(rng, t);
        break;
      case "verb":
        t.verb = rng.pick([
          undefined,
          "",
          "commit",
          "batchGet",
          "runQuery",
          "listen",
          "write",
          "executePipeline",
          "frobnicate",
          "runQuery:commit",
          "COMMIT",
          "batchWrite",
          "rollback",
          "listDocuments",
          "get",
        ]);
        break;
      case "method":
        t.method = rng.pick(["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS", "get", "FOO", "PROPFIND"]);
        break;
      default:
        t.version = rng.pick(["v1", "v1beta1", "v1beta2", "v2", "V1", "v1/", ""]);
    }
  }
  return n;
}

function mutatePath(rng, t) {
  const segs = t.path;
  switch (rng.int(8)) {
    case 0:
      segs.push(rng.pick(["c", "sub", "__x__", "..", "x".repeat(1501)]));
      break;
    case 1:
      segs.pop();
      break;
    case 2:
      if (segs.length > 0) segs[rng.int(segs.length)] = mutateString(rng, segs[rng.int(segs.length)] ?? "x");
      else segs.push(mutateString(rng, "c"));
      break;
    case 3:
      t.project = rng.pick(["", "p/q", "other", "x".repeat(2000), "%", "\uD800"]);
      break;
    case 4:
      t.database = rng.pick(["", "other", "(default)", "%FF", "a:b"]);
      break;
    case 5:
      for (let i = rng.pick([100, 101, 300]); i > 0; i--) segs.push(i % 2 ? "c" : "d");
      break;
    case 6:
      t.rawSegment = rng.pick(["%", "%G1", "%FF", "%C0%80", "%ED%A0%80", "%2F", "%00", "a%2", "%E2%82", "é", "%2E%2E"]);
      break;
    default:
      t.prefix = rng.pick(["", "/emulator", "/v1/v1", "/documents", "//"]);
  }
}

function mutateQuery(rng, t) {
  const q = t.query;
  switch (rng.int(6)) {
    case 0:
      q.push([
        rng.pick([
          "foo",
          "pageSize",
          "mask.fieldPaths",
          "transaction",
          "readTime",
          "orderBy",
          "showMissing",
          "documentId",
          "updateMask.fieldPaths",
          "currentDocument.exists",
          "currentDocument.updateTime",
          "currentDocument",
          "mask",
          "page_size",
          "$alt",
          "alt",
          "key",
          "a.b.c.d",
          "__proto__",
          "constructor.prototype",
        ]),
        rng.pick(STRINGS),
      ]);
      break;
    case 1:
      if (q.length > 0) q[rng.int(q.length)][1] = rng.pick(STRINGS);
      break;
    case 2:
      if (q.length > 0) q.push(structuredClone(q[rng.int(q.length)]));
      break;
    case 3:
      q.splice(0, q.length);
      break;
    case 4:
      t.rawQuery = rng.pick([
        "%",
        "a=%",
        "=&=&",
        "pageSize=1&pageSize=2",
        "mask.fieldPaths=%FF",
        "x".repeat(9000),
        "a[b]=c",
        "&&&",
      ]);
      break;
    default:
      q.push([rng.pick(["pageSize", "offset"]), String(rng.pick(NUMBERS))]);
  }
}

/** Percent-encoding that also encodes lone surrogates (as their 3-byte WTF-8 form, e.g. %ED%A0%80,
 *  which no UTF-8 decoder accepts), where encodeURIComponent would throw. */
function enc(s) {
  try {
    return encodeURIComponent(s);
  } catch {
    let out = "";
    for (const ch of s) {
      const c = ch.codePointAt(0);
      if (ch.length === 1 && c >= 0xd800 && c <= 0xdfff) {
        const bytes = [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)];
        out += bytes.map((b) => `%${b.toString(16).toUpperCase()}`).join("");
      } else out += encodeURIComponent(ch);
    }
    return out;
  }
}

/** Serializes a (mutated) template to a raw HTTP request `{ method, path, headers, body }`. */
export function serialize(t) {
  let path = `${t.prefix ?? ""}/${t.version}/projects/${enc(t.project)}/databases/${enc(t.database)}/documents`;
  for (const seg of t.path) path += `/${enc(String(seg))}`;
  if (t.rawSegment !== undefined) path += `/${t.rawSegment}`;
  if (t.verb !== undefined) path += `:${t.verb}`;
  const qs = t.query.map(([k, v]) => `${enc(String(k))}=${enc(String(v))}`);
  if (t.rawQuery !== undefined) qs.push(t.rawQuery);
  if (qs.length > 0) path += `?${qs.join("&")}`;
  let text;
  try {
    text = t.body === undefined ? undefined : (JSON.stringify(t.body) ?? "null");
  } catch {
    text = `${"[".repeat(20_000)}${"]".repeat(20_000)}`; // too deep for JSON.stringify: deep anyway
  }
  for (const d of t.deep ?? []) {
    const at = text?.indexOf(JSON.stringify(d.token)) ?? -1;
    if (at < 0) continue; // mutated away
    let inner;
    try {
      inner = JSON.stringify(d.inner) ?? "null";
    } catch {
      inner = "null";
    }
    const nested = d.open.repeat(d.depth) + inner + d.close.repeat(d.depth);
    text = text.slice(0, at) + nested + text.slice(at + JSON.stringify(d.token).length);
  }
  const body = text === undefined ? undefined : Buffer.from(text, "utf8");
  return { method: t.method, path, headers: { ...t.headers }, body };
}

const GARBAGE = [
  Buffer.from([0xff, 0xfe, 0x00, 0x41]),
  Buffer.from([0xc0, 0x80]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from("\uFEFF{}"),
  Buffer.from("{}garbage"),
  Buffer.from('{"writes":[],"writes":{}}'),
  Buffer.from('{"a":1,}'),
  Buffer.from("/* c */{}"),
  Buffer.from("NaN"),
  Buffer.from("1".repeat(5000)),
  Buffer.from(`${"[".repeat(100_000)}${"]".repeat(100_000)}`),
  Buffer.from(`${'{"a":'.repeat(50_000)}1${"}".repeat(50_000)}`),
  Buffer.from('"\\ud800"'),
  Buffer.from("null"),
  Buffer.from("[]"),
  Buffer.from(""),
];

/** Raw HTTP mutations of a serialized request (in place). Returns how many were applied. */
export function mutateRaw(rng, req) {
  const n = rng.weighted([
    [6, 0],
    [3, 1],
    [1, 2],
  ]);
  for (let i = 0; i < n; i++) {
    switch (rng.int(7)) {
      case 0: // truncated body
        if (req.body && req.body.length > 0) req.body = req.body.subarray(0, rng.int(req.body.length));
        else req.body = Buffer.from('{"writes": [');
        break;
      case 1: // garbage body
        req.body = rng.pick(GARBAGE);
        break;
      case 2: // random bytes inserted
        if (req.body && req.body.length > 0) {
          const at = rng.int(req.body.length);
          const bytes = Buffer.from(Array.from({ length: rng.range(1, 4) }, () => rng.int(256)));
          req.body = Buffer.concat([req.body.subarray(0, at), bytes, req.body.subarray(at)]);
        } else req.body = Buffer.from([rng.int(256)]);
        break;
      case 3: // content types
        req.headers["content-type"] = rng.pick([
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data; boundary=x",
          "application/json; charset=latin1",
          "application/x-protobuf",
          "application/grpc-web+proto",
          "application/grpc-web-text",
          "application/json+protobuf",
          "",
          "\u00e9",
        ]);
        break;
      case 4: // headers
        req.headers[
          rng.pick([
            "authorization",
            "x-goog-request-params",
            "google-cloud-resource-prefix",
            "x-http-method-override",
            "accept",
            "accept-encoding",
            "origin",
            "content-encoding",
          ])
        ] = rng.pick([
          "Bearer garbage",
          "Bearer ",
          "Basic Zm9vOmJhcg==",
          "gzip",
          "*",
          "x".repeat(4000),
          "projects/other/databases/x",
          "DELETE",
          "null",
        ]);
        break;
      case 5: // a body where none belongs, or none where one does
        req.body = req.body === undefined ? Buffer.from('{"unexpected":true}') : undefined;
        break;
      default: // bad percent-encoding or odd bytes in the URL
        req.path = rawPath(rng, req.path);
    }
  }
  return n;
}

function rawPath(rng, path) {
  const [p, q] = path.split("?");
  const bad = rng.pick([
    "%",
    "%%",
    "%G1",
    "%FF",
    "%C3%28",
    "%E2%82",
    "%ED%A0%80",
    "%F4%90%80%80",
    "%00",
    "é",
    "\u00ff",
    "%2F",
    "%5C",
    "%3A",
  ]);
  // Never before the leading "/": a request target must be origin-form (RFC 9112 §3.2.1), and
  // workerd answers anything else with a plain 500 before the Worker runs.
  const at = 1 + rng.int(p.length);
  const mutated = rng.chance(0.7) ? p.slice(0, at) + bad + p.slice(at) : `${p}/${bad}`;
  return q === undefined ? mutated : `${mutated}?${rng.chance(0.5) ? q + bad : q}`;
}
