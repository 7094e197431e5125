/**
 * Query-string parameters of the GET/PATCH/DELETE/create routes, read as Google's HTTP transcoding
 * does: dotted names address nested fields (`mask.fieldPaths=a&mask.fieldPaths=b`,
 * `currentDocument.exists=true`), repeated fields repeat the parameter, and Google's standard
 * system parameters (`key`, `$alt`, `alt`, `prettyPrint`, …) are accepted and ignored.
 */
import { camel } from "./proto-json.js";

const SYSTEM_PARAMS = new Set([
  "key",
  "$alt",
  "alt",
  "fields",
  "$fields",
  "prettyPrint",
  "$prettyPrint",
  "pp",
  "quotaUser",
  "$.xgafv",
  "access_token",
  "callback",
  "$callback",
  "upload_protocol",
  "uploadType",
  "trace",
]);

const REPEATED = new Set(["fieldPaths"]);

/** Turns the query string into a nested plain object (to be checked by `message()`). */
export function queryObject(params: URLSearchParams): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [rawKey, value] of params) {
    if (SYSTEM_PARAMS.has(rawKey)) continue;
    const names = rawKey.split(".").map(camel);
    let node = out;
    for (const name of names.slice(0, -1)) {
      const child = node[name];
      if (typeof child !== "object" || child === null || Array.isArray(child)) node[name] = {};
      node = node[name] as Record<string, unknown>;
    }
    const leaf = names[names.length - 1] as string;
    if (REPEATED.has(leaf)) {
      const arr = Array.isArray(node[leaf]) ? (node[leaf] as unknown[]) : [];
      arr.push(value);
      node[leaf] = arr;
    } else {
      node[leaf] = value;
    }
  }
  return out;
}
