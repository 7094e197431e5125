/**
 * The CLI's view of a Firestore endpoint: flarestore (local or deployed), the Firebase emulator,
 * or Cloud Firestore itself, through the public REST API only (plus flarestore's own
 * `/emulator/…` endpoints where it needs them). Every failure is a CliError whose message says
 * what to do about it.
 */

export class CliError extends Error {}

/** Where `endpoint` answers REST for one database. */
export class Endpoint {
  /**
   * `endpoint`: a URL (`http://127.0.0.1:8080`, `https://firestore.googleapis.com`) or host:port.
   * `token`: the bearer token (flarestore's admin secret, a Google access token, `owner` locally).
   */
  constructor({ endpoint, token, project, database = "(default)", branch, needsProject = true }) {
    if (!project && needsProject) throw new CliError("No project: pass --project (or set GCLOUD_PROJECT).");
    this.base = normalizeEndpoint(endpoint);
    /** flarestore's branch (the x-flarestore-branch header: the admin's, or emulator mode). */
    this.branch = branch;
    this.token = token;
    this.project = project;
    this.database = database;
    this.databaseName = `projects/${project}/databases/${database}`;
  }

  get documentsRoot() {
    return `${this.databaseName}/documents`;
  }

  /** `{base}/v1/{databaseName}/documents{suffix}` (or any absolute path), JSON in and out. */
  async call(method, path, body) {
    const url = path.startsWith("/") ? `${this.base}${path}` : `${this.base}/v1/${this.documentsRoot}${path}`;
    let res;
    try {
      res = await fetch(url, {
        method,
        headers: {
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          ...(this.branch ? { "x-flarestore-branch": this.branch } : {}),
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new CliError(`Cannot reach ${this.base}: ${e.cause?.message ?? e.message}. Is the endpoint right?`);
    }
    const text = await res.text();
    let json;
    try {
      json = text === "" ? {} : JSON.parse(text);
    } catch {
      throw new CliError(
        `${method} ${url} answered ${res.status} with something that is not JSON: ${text.slice(0, 200)}`,
      );
    }
    if (!res.ok) {
      const error = Array.isArray(json) ? json[0]?.error : json.error;
      const message = error?.message ?? text.slice(0, 300);
      const hint =
        res.status === 401
          ? " (check --token)"
          : res.status === 403
            ? " (the token may not do this: use the admin's)"
            : res.status === 404 && path.startsWith("/emulator/")
              ? " (the endpoint is not flarestore in emulator mode, or the token is not the admin's)"
              : "";
      throw new CliError(
        `${method} ${url}: ${res.status} ${error?.status ?? ""} ${message}${hint}`.replace(/ +/g, " "),
      );
    }
    return json;
  }
}

/** `http(s)://host[:port]` without a trailing slash; a bare host:port is taken as plain http. */
export function normalizeEndpoint(endpoint) {
  const raw = endpoint ?? process.env.FIRESTORE_EMULATOR_HOST ?? "127.0.0.1:8080";
  const withScheme = /^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`;
  let url;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CliError(`--endpoint ${raw} is not a URL or host:port.`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new CliError(`--endpoint ${raw}: use http or https.`);
  return `${url.protocol}//${url.host}`;
}

/** The path of a document name relative to its database's documents (`c/a/sub/b`), or null. */
export function relativePath(name) {
  const m = typeof name === "string" ? /^projects\/[^/]+\/databases\/[^/]+\/documents\/(.+)$/.exec(name) : null;
  if (!m) return null;
  const segments = m[1].split("/");
  return segments.length % 2 === 0 && segments.every((s) => s !== "") ? m[1] : null;
}
