/**
 * The fuzz runner: mutated requests from the corpus, sent over raw HTTP/1.1 to a flarestore
 * server on 127.0.0.1, each answer checked (check.mjs), and the database state checked around
 * every rejected request.
 *
 * State: requests are spread over `lanes` databases of one project, request i on lane i % lanes,
 * each lane sequential, so a lane's database changes only through its own requests. A lane keeps
 * a checksum of its whole database (every document, via a kindless runQuery) as of its last
 * accepted write. A rejected request must leave that checksum as it was: it is checked right
 * after every rejected write-like request, before every write-like request, and every
 * `verifyEvery` reads, so a change is pinned to the requests sent since the last check. Accepted
 * write-like requests (any 2xx that is not a GET/HEAD/OPTIONS or a read method) may change state;
 * the checksum is re-taken after them. Every `resetEvery` requests a lane's database is emptied and
 * re-seeded with the sentinel documents.
 */
import { createHash } from "node:crypto";
import http from "node:http";
import { performance } from "node:perf_hooks";
import zlib from "node:zlib";
import { checkResponse, isRuntimeAnswer, KNOWN_ISSUES } from "./check.mjs";
import { METHODS, seedBody, template } from "./corpus.mjs";
import { mutateRaw, mutateTemplate, serialize } from "./mutate.mjs";
import { Rng, requestSeed } from "./prng.mjs";

/** Methods that never change documents, whatever they answer. */
const READ_VERBS = new Set([
  "batchGet",
  "runQuery",
  "runAggregationQuery",
  "partitionQuery",
  "listCollectionIds",
  "beginTransaction",
  "rollback",
]);
const MAX_BODY = 10 * 1024 * 1024 + 1024;

/**
 * Requests whose request line is over workerd's limit (~128 KiB) are refused by workerd's HTTP
 * server before any Worker code runs (431, counted by isRuntimeAnswer in check.mjs). Two ways it
 * does so break the exchange itself, so no client can read the 431: it closes the connection
 * while the client is still writing the request line (ECONNRESET), and for HEAD it sends the 431
 * with a body (HPE_*). Such failures are counted apart, like the 431 itself.
 */
function isOversized(req) {
  return req.path.length > 64 * 1024;
}

/** Refuses any target but 127.0.0.1 (the fuzzer never talks to anything else). */
export function checkLocalUrl(url) {
  const u = new URL(url);
  if (u.protocol !== "http:" || u.hostname !== "127.0.0.1" || u.port === "") {
    throw new Error(`the fuzzer only talks to http://127.0.0.1:<port>, not ${url}`);
  }
  return { host: "127.0.0.1", port: Number(u.port) };
}

/** The verb the server sees: after the last ':' of the last path segment, POST only. */
function verbOf(req) {
  if (req.method !== "POST") return undefined;
  const path = req.path.split("?")[0];
  const last = path.slice(path.lastIndexOf("/") + 1);
  const colon = last.lastIndexOf(":");
  return colon < 0 ? undefined : last.slice(colon + 1);
}

function isWriteLike(req) {
  if (req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS") return false;
  const verb = verbOf(req);
  return !(verb !== undefined && READ_VERBS.has(verb));
}

/** Builds request `index` of a run (deterministic from seed and index, but for live transaction ids). */
export function buildRequest(seed, index, project, database) {
  const rng = new Rng(requestSeed(seed, index));
  const method = rng.pick(METHODS);
  const t = template(rng, method, project, database);
  const mode = rng.weighted([
    [5, "valid"],
    [65, "structure"],
    [20, "raw"],
    [10, "both"],
  ]);
  let mutations = 0;
  if (mode === "structure" || mode === "both") mutations += mutateTemplate(rng, t);
  const req = serialize(t);
  if (mode === "raw" || mode === "both") mutations += mutateRaw(rng, req);
  if (req.body !== undefined && req.body.length > MAX_BODY) req.body = req.body.subarray(0, MAX_BODY);
  return { ...req, index, corpus: method, mode, mutations, tx: t.tx ?? "readOnly" };
}

const lastOnSocket = new WeakMap();

/** Undoes a Content-Encoding the server chose (the fuzzer sometimes sends Accept-Encoding). */
function decode(body, encoding) {
  if (encoding === undefined || encoding === "identity" || body.length === 0) return body;
  if (encoding === "gzip") return zlib.gunzipSync(body);
  if (encoding === "deflate") return zlib.inflateSync(body);
  if (encoding === "br") return zlib.brotliDecompressSync(body);
  throw new Error(`unknown content-encoding ${encoding}`);
}

/** One HTTP exchange; never throws. */
function send(agent, target, req, timeoutMs) {
  return new Promise((resolve) => {
    let settled = false;
    const done = (v) => {
      if (!settled) {
        settled = true;
        resolve(v);
      }
    };
    let r;
    try {
      const headers = { ...req.headers };
      if (req.body !== undefined) headers["content-length"] = String(req.body.length);
      r = http.request({ ...target, agent, method: req.method, path: req.path, headers }, (res) => {
        const sock = res.socket;
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          let body = Buffer.concat(chunks);
          try {
            body = decode(body, res.headers["content-encoding"]);
          } catch (e) {
            body = Buffer.from(`(undecodable ${res.headers["content-encoding"]} body: ${e.message})`);
          }
          const entry = sock && lastOnSocket.get(sock);
          if (entry !== undefined) entry.at = performance.now();
          done({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
        res.on("error", (e) => done({ error: `response: ${e.code ?? e.message}` }));
        res.on("aborted", () => done({ error: "response aborted" }));
      });
    } catch (e) {
      // Node refused to send it (e.g. a header value it considers invalid): not the server's doing.
      done({ unsendable: String(e.code ?? e.message) });
      return;
    }
    r.on("socket", (sock) => {
      // A socket can fail after its request settled (the server closing it while a large body
      // is still being written): that request already reported it; never crash the run.
      if (!lastOnSocket.has(sock)) sock.on("error", () => {});
      const prev = lastOnSocket.get(sock);
      r.previous = prev?.req;
      r.history = [...(prev?.history ?? []), prev?.req].filter(Boolean).slice(-(Number(process.env.FUZZ_HISTORY) || 4));
      r.idleMs = prev === undefined ? undefined : Math.round(performance.now() - prev.at);
      lastOnSocket.set(sock, { req, at: performance.now(), history: r.history });
    });
    r.setTimeout(timeoutMs, () => {
      done({ error: "timeout", timeout: true });
      r.destroy();
    });
    r.on("error", (e) =>
      done({ error: String(e.code ?? e.message), previous: r.previous, history: r.history, idleMs: r.idleMs }),
    );
    r.end(req.body);
  });
}

const json = (body) => {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
};

/** Transaction ids a successful answer hands out (beginTransaction, newTransaction reads). */
function transactionsIn(value) {
  const out = [];
  const visit = (v) => {
    if (typeof v?.transaction === "string") out.push(v.transaction);
  };
  if (Array.isArray(value)) value.slice(0, 2).forEach(visit);
  else visit(value);
  return out;
}

const shorten = (s, n) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);

function describeRequest(req) {
  const body = req.body === undefined ? undefined : shorten(req.body.toString("utf8"), 1500);
  return {
    method: req.method,
    path: shorten(req.path, 600),
    headers: req.headers,
    body,
    corpus: req.corpus,
    mode: req.mode,
  };
}

function describeResponse(res) {
  if (res.status === undefined) return { error: res.error };
  return { status: res.status, body: shorten(res.body.toString("utf8"), 800) };
}

/**
 * Runs `requests` mutated requests against `url` (http://127.0.0.1:<port>) and returns a summary.
 * @param {{ url: string, requests: number, seed: number, lanes?: number, timeoutMs?: number,
 *   resetEvery?: number, verifyEvery?: number, maxViolations?: number, log?: (line: string) => void }} opts
 */
export async function runFuzz(opts) {
  const target = checkLocalUrl(opts.url);
  const lanes = opts.lanes ?? 8;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const resetEvery = opts.resetEvery ?? 400;
  const verifyEvery = opts.verifyEvery ?? 16;
  const maxViolations = opts.maxViolations ?? 200;
  const log = opts.log ?? (() => {});
  const agent = new http.Agent({ keepAlive: true, maxSockets: lanes * 2 + 2 });
  const project = `fuzz-${opts.seed}-${Math.random().toString(36).slice(2, 8)}`;

  const summary = {
    url: opts.url,
    seed: opts.seed,
    project,
    requests: 0,
    elapsedMs: 0,
    byStatus: {},
    byCorpus: {},
    accepted: 0,
    rejected: 0,
    fiveXX: 0,
    unimplemented: 0,
    dropped: 0,
    timeouts: 0,
    unsendable: 0,
    generatorErrors: 0,
    runtimeAnswers: {},
    known: {},
    retriedResets: 0,
    droppedKeptAlive: 0,
    stateChecks: 0,
    housekeeping: 0,
    violations: [],
    violationCount: 0,
  };
  const violation = (v) => {
    const known = KNOWN_ISSUES.find((k) => k.matches(v));
    if (known !== undefined) {
      summary.known[known.id] ??= { where: known.where, count: 0, example: v };
      summary.known[known.id].count++;
      return;
    }
    summary.violationCount++;
    if (summary.violations.length < maxViolations) summary.violations.push(v);
    log(`VIOLATION ${v.kind}${v.index === undefined ? "" : ` at request #${v.index}`}: ${v.problems.join("; ")}`);
  };

  /** A housekeeping call of the runner itself (seed, snapshot, transactions): must never fail. */
  async function house(req, what) {
    summary.housekeeping++;
    let res = await send(agent, target, req, timeoutMs);
    if (res.error !== undefined && !res.timeout) res = await send(false, target, req, timeoutMs);
    if (res.status === undefined || res.status >= 500) {
      violation({
        kind: "housekeeping",
        problems: [`${what} failed: ${res.error ?? `HTTP ${res.status}`}`],
        request: describeRequest(req),
        response: describeResponse(res),
      });
    }
    return res;
  }

  const base = (database) => `/v1/projects/${project}/databases/${database}/documents`;
  const postJson = (path, body) => ({
    method: "POST",
    path,
    headers: { "content-type": "application/json" },
    body: Buffer.from(JSON.stringify(body)),
  });

  async function snapshot(database) {
    summary.stateChecks++;
    const res = await house(
      postJson(`${base(database)}:runQuery`, { structuredQuery: { from: [{ allDescendants: true }] } }),
      "snapshot",
    );
    const items = res.status === 200 ? json(res.body) : undefined;
    if (!Array.isArray(items)) return `unreadable:${res.status}:${Math.random()}`;
    const docs = items.filter((i) => i.document).map((i) => i.document);
    return createHash("sha256").update(JSON.stringify(docs)).digest("hex");
  }

  async function reset(database) {
    await house(
      { method: "DELETE", path: `/emulator/v1/projects/${project}/databases/${database}/documents`, headers: {} },
      "reset",
    );
    await house(postJson(`${base(database)}:commit`, seedBody(project, database)), "seed");
    return snapshot(database);
  }

  async function begin(database, readOnly) {
    const res = await house(
      postJson(`${base(database)}:beginTransaction`, { options: readOnly ? { readOnly: {} } : { readWrite: {} } }),
      "beginTransaction",
    );
    return res.status === 200 ? json(res.body)?.transaction : undefined;
  }

  async function rollback(database, transaction) {
    await send(agent, target, postJson(`${base(database)}:rollback`, { transaction }), timeoutMs);
  }

  async function lane(l) {
    const database = `fuzz${l}`;
    let baseline = await reset(database);
    /** Requests since the last state check that must not have changed anything. */
    let pending = [];
    let sent = 0;

    const verify = async () => {
      const now = await snapshot(database);
      if (now !== baseline) {
        violation({
          kind: "state changed by rejected or read-only requests",
          index: pending.at(-1)?.index,
          problems: [
            `the database changed although requests #${pending.map((p) => p.index).join(", #")} were rejected or read-only`,
          ],
          requests: pending.map((p) => ({ index: p.index, status: p.status, request: describeRequest(p.req) })),
        });
        baseline = now;
      }
      pending = [];
    };

    for (let index = l; index < opts.requests; index += lanes) {
      if (sent > 0 && sent % resetEvery === 0) {
        if (pending.length > 0) await verify();
        baseline = await reset(database);
      }
      sent++;
      let req;
      try {
        req = buildRequest(opts.seed, index, project, database);
      } catch (e) {
        // A bug of the fuzzer itself, not of the server: reported, never fatal.
        summary.generatorErrors++;
        log(`generator error at request #${index}: ${e.stack ?? e}`);
        continue;
      }
      const writeLike = isWriteLike(req);
      if (writeLike && pending.length > 0) await verify();

      // A live transaction for the `$TX` placeholder, if the (mutated) request still has one.
      const txs = [];
      const bodyText = req.body?.toString("latin1");
      if (bodyText?.includes("$TX") || req.path.includes("%24TX")) {
        const tx = await begin(database, req.tx !== "readWrite");
        if (tx !== undefined) {
          txs.push(tx);
          if (bodyText !== undefined) req.body = Buffer.from(bodyText.replaceAll("$TX", tx), "latin1");
          req.path = req.path.replaceAll("%24TX", encodeURIComponent(tx));
        }
      }

      let res = await send(agent, target, req, timeoutMs);
      if (res.error !== undefined && !res.timeout) {
        // The request failed on a kept-alive socket. If that socket had been idle for a while, the
        // server may simply have timed it out (a race every keep-alive client lives with); if it
        // had just carried another answer, the server dropped a connection it should have kept or
        // closed cleanly, and the request before is the likely cause. Either way the request is
        // retried once on a fresh connection; failing again, it is itself a dropped connection.
        summary.retriedResets++;
        const p = res.previous;
        if (p !== undefined && res.idleMs !== undefined && res.idleMs < 2000 && !isOversized(req)) {
          summary.droppedKeptAlive++;
          violation({
            kind: "kept-alive connection dropped",
            index,
            problems: [
              `${res.error} on a connection reused ${res.idleMs} ms after it answered ${p.index === undefined ? `the runner's ${p.method} ${p.path.split("/").pop()}` : `request #${p.index}`} (the likely cause)`,
            ],
            request: describeRequest(p),
            // The socket's earlier requests too (the runner's own ones have no index).
            requests: (res.history ?? []).map((h) => ({ index: h.index, request: describeRequest(h) })),
            replay: p.index === undefined ? undefined : { seed: opts.seed, index: p.index },
          });
        }
        res = await send(false, target, req, timeoutMs);
      }
      summary.requests++;
      summary.byCorpus[req.corpus] = (summary.byCorpus[req.corpus] ?? 0) + 1;
      if (res.error !== undefined && !res.timeout && isOversized(req)) {
        // workerd's refusal of an oversized request line, unreadable to the client (see isOversized).
        summary.rejected++;
        const key = "request line over workerd's limit, connection closed before the 431 could be read";
        summary.runtimeAnswers[key] = (summary.runtimeAnswers[key] ?? 0) + 1;
        pending.push({ index, req, status: "none" });
        continue;
      }
      if (res.unsendable !== undefined) {
        summary.unsendable++;
        continue;
      }
      if (res.error !== undefined) {
        if (res.timeout) summary.timeouts++;
        else summary.dropped++;
        violation({
          kind: res.timeout ? "timeout" : "dropped connection",
          index,
          problems: [res.error],
          request: describeRequest(req),
          replay: { seed: opts.seed, index },
        });
        pending.push({ index, req, status: "none" });
        continue;
      }
      summary.byStatus[res.status] = (summary.byStatus[res.status] ?? 0) + 1;
      const runtime = isRuntimeAnswer(res);
      if (runtime) {
        const key = `${res.status} ${res.body.toString("utf8").trim()}`;
        summary.runtimeAnswers[key] = (summary.runtimeAnswers[key] ?? 0) + 1;
      } else if (res.status >= 500) {
        if (res.status === 501) summary.unimplemented++;
        else summary.fiveXX++;
      }
      const problems = runtime ? [] : checkResponse(req, res);
      if (problems.length > 0) {
        violation({
          kind: "bad answer",
          index,
          problems,
          request: describeRequest(req),
          response: describeResponse(res),
          replay: { seed: opts.seed, index },
        });
      }
      const ok = res.status >= 200 && res.status < 300;
      if (ok) {
        summary.accepted++;
        if (req.method !== "HEAD") txs.push(...transactionsIn(json(res.body)));
      } else summary.rejected++;
      for (const tx of txs) await rollback(database, tx);

      if (ok && writeLike) {
        baseline = await snapshot(database);
        pending = [];
      } else {
        pending.push({ index, req, status: res.status });
        if ((!ok && writeLike) || pending.length >= verifyEvery) await verify();
      }
      if (summary.requests >= nextProgress) {
        nextProgress += 5000;
        log(
          `… ${summary.requests} requests, ${summary.violationCount} violations, ${Math.round((performance.now() - started) / 1000)} s`,
        );
      }
    }
    if (pending.length > 0) await verify();
  }

  let nextProgress = 5000;
  const started = performance.now();
  await Promise.all(Array.from({ length: lanes }, (_, l) => lane(l)));
  summary.elapsedMs = Math.round(performance.now() - started);
  agent.destroy();
  return summary;
}

/**
 * Sends request `index` of run `seed` once, on a fresh connection, to a freshly seeded database
 * of its lane (as the run does, minus what the lane's earlier requests changed), and returns the
 * request, the answer and the problems the checker sees in it.
 * @param {{ url: string, seed: number, index: number, lanes?: number }} opts
 */
export async function replayRequest(opts) {
  const target = checkLocalUrl(opts.url);
  const lanes = opts.lanes ?? 8;
  const project = `replay-${opts.seed}-${opts.index}`;
  const database = `fuzz${opts.index % lanes}`;
  const base = `/v1/projects/${project}/databases/${database}/documents`;
  const post = (path, body) => ({
    method: "POST",
    path,
    headers: { "content-type": "application/json" },
    body: Buffer.from(JSON.stringify(body)),
  });
  await send(false, target, post(`${base}:commit`, seedBody(project, database)), 30_000);
  const req = buildRequest(opts.seed, opts.index, project, database);
  if (req.body?.toString("latin1").includes("$TX") || req.path.includes("%24TX")) {
    const begun = await send(false, target, post(`${base}:beginTransaction`, {}), 30_000);
    const tx = begun.status === 200 ? json(begun.body)?.transaction : undefined;
    if (tx !== undefined) {
      if (req.body) req.body = Buffer.from(req.body.toString("latin1").replaceAll("$TX", tx), "latin1");
      req.path = req.path.replaceAll("%24TX", encodeURIComponent(tx));
    }
  }
  const res = await send(false, target, req, 30_000);
  const problems = res.status === undefined ? [res.error] : isRuntimeAnswer(res) ? [] : checkResponse(req, res);
  return { request: describeRequest(req), response: describeResponse(res), problems };
}
