/**
 * What every answer must satisfy: no 5xx (501 UNIMPLEMENTED for the known, not yet implemented
 * methods excepted), and every non-2xx answer a google.rpc.Status JSON
 * `{"error":{"code":<http status>,"message":<non-empty>,"status":<code name>}}` whose status name
 * maps to the HTTP status (google/rpc/code.proto, as src/errors/index.ts renders it).
 */

/** gRPC code name → HTTP status (a copy of src/errors/index.ts HTTP_STATUS; the e2e fuzz test
 *  checks that the two agree). */
export const HTTP_STATUS = {
  OK: 200,
  CANCELLED: 499,
  UNKNOWN: 500,
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  OUT_OF_RANGE: 400,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DATA_LOSS: 500,
  UNAUTHENTICATED: 401,
};

/**
 * Whether an answer comes from workerd's own HTTP server, which refuses requests it cannot parse
 * (an unknown method: 501; a request line or headers over its limit: 431) before any Worker code
 * runs, as a text/plain "ERROR: …". The Worker cannot shape those (in production Cloudflare's
 * edge answers such requests itself), so they are counted apart, not judged.
 */
export function isRuntimeAnswer(res) {
  return (
    [400, 413, 414, 431, 501, 505].includes(res.status) &&
    String(res.headers["content-type"] ?? "").startsWith("text/plain") &&
    res.body.toString("utf8").startsWith("ERROR: ")
  );
}

/**
 * Checks one answer; returns a list of problems (empty when fine).
 * @param {{ method: string }} req
 * @param {{ status: number, headers: Record<string, string | string[] | undefined>, body: Buffer }} res
 */
export function checkResponse(req, res) {
  const problems = [];
  const text = res.body.toString("utf8");
  let json;
  let parsed = false;
  try {
    json = JSON.parse(text);
    parsed = true;
  } catch {
    // judged below
  }
  const unimplemented = res.status === 501 && parsed && json?.error?.status === "UNIMPLEMENTED";
  if (res.status >= 500 && !unimplemented) problems.push(`HTTP ${res.status} (5xx)`);
  if (req.method === "HEAD") return problems; // no body to judge
  if (res.status >= 200 && res.status < 300) {
    // Successful answers are JSON too (CORS preflights answer 204 without a body).
    if (res.status !== 204 && !parsed) problems.push(`HTTP ${res.status} with a body that is not JSON`);
    return problems;
  }
  if (!parsed) {
    problems.push(`HTTP ${res.status} with a body that is not JSON`);
    return problems;
  }
  const type = String(res.headers["content-type"] ?? "");
  if (!type.startsWith("application/json")) problems.push(`error content-type is "${type}"`);
  const e = json?.error;
  if (json === null || typeof json !== "object" || Array.isArray(json) || Object.keys(json).join() !== "error") {
    problems.push("error body is not exactly {error: …}");
  }
  if (e === null || typeof e !== "object") {
    problems.push("no error object");
    return problems;
  }
  if (typeof e.code !== "number") problems.push("error.code is not a number");
  else if (e.code !== res.status) problems.push(`error.code ${e.code} differs from HTTP status ${res.status}`);
  if (typeof e.message !== "string" || e.message.length === 0) problems.push("error.message is missing or empty");
  if (typeof e.status !== "string") problems.push("error.status is not a string");
  else if (!(e.status in HTTP_STATUS) || e.status === "OK")
    problems.push(`error.status "${e.status}" is not an error code name`);
  else if (HTTP_STATUS[e.status] !== res.status) {
    problems.push(`error.status ${e.status} maps to HTTP ${HTTP_STATUS[e.status]}, not ${res.status}`);
  }
  return problems;
}

/**
 * Known server bugs this branch could not fix (their fix belongs in files being rewritten
 * elsewhere): matching violations are counted and shown apart, so that everything else still
 * fails the run. Each entry names where the fix belongs; remove it once fixed.
 */
export const KNOWN_ISSUES = [];
