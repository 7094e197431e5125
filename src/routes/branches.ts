/**
 * Branches and their databases (src/middleware/branch.ts), for the admin (or anyone in emulator
 * mode), under `/emulator/v1/branches`:
 *
 * - `GET /emulator/v1/branches[?branch=b]`: the registry, `{"databases": [{branch, project,
 *   database, created, forkedFrom?}]}`;
 * - `POST /emulator/v1/branches/{b}/projects/{p}/databases/{d}:fork` with `{"source": {"branch",
 *   "project"?, "database"?}, "readTime"?}`: starts copying the source (any branch; the same
 *   project and database unless named) as of `readTime` (default: now) into this empty database;
 *   answers the fork's status, which `GET` on the same path answers again as it goes;
 * - `DELETE /emulator/v1/branches/{b}`: deletes every database of the branch, freeing their
 *   storage (not `main`'s).
 */
import type { Context } from "hono";
import type { ForkStatus } from "../../durable-objects/database/fork.js";
import { authConfig } from "../auth/config.js";
import { Code, FirestoreError, failedPrecondition, invalidArgument, notFound } from "../errors/index.js";
import { callerOf } from "../middleware/auth.js";
import { checkBranch, MAIN_BRANCH } from "../middleware/branch.js";
import { databaseStub, decode } from "../middleware/database.js";
import { forgetRecorded, registryStub } from "../middleware/registry.js";
import { microsToTimestamp, timestampToMicros } from "../model/timestamp.js";
import { message, str } from "../validation/proto-json.js";
import type { AppEnv } from "./context.js";

const LIST_PATH = /^\/emulator\/v1\/branches$/;
const BRANCH_PATH = /^\/emulator\/v1\/branches\/([^/:]+)$/;
const FORK_PATH = /^\/emulator\/v1\/branches\/([^/:]+)\/projects\/([^/:]+)\/databases\/([^/:]+):fork$/;

/** Whether `path` is one of these endpoints. */
export function isBranchPath(path: string): boolean {
  return LIST_PATH.test(path) || BRANCH_PATH.test(path) || FORK_PATH.test(path);
}

/**
 * Emulator mode, or the admin: anyone else is told there is no such path (a user's token, which
 * names a project these paths do not have, included).
 */
async function allowed(c: Context<AppEnv>): Promise<boolean> {
  if (authConfig(c.env).emulator) return true;
  try {
    return (await callerOf(c, "")).kind === "admin";
  } catch (e) {
    if (e instanceof FirestoreError && e.code === Code.UNAUTHENTICATED) return false;
    throw e;
  }
}

export async function branches(c: Context<AppEnv>): Promise<Response | undefined> {
  const url = new URL(c.req.url);
  const path = url.pathname;
  if (!(await allowed(c))) return undefined;
  const method = c.req.method;
  if (LIST_PATH.test(path) && method === "GET") {
    const branch = url.searchParams.get("branch");
    const databases = await registryStub(c.env).list(branch === null ? undefined : checkBranch(branch, "branch"));
    return c.json({ databases: databases.map((d) => ({ ...d, created: new Date(d.created).toISOString() })) });
  }
  const b = BRANCH_PATH.exec(path);
  if (b && method === "DELETE") {
    const branch = checkBranch(decode(b[1] as string, "branch"), "branch");
    if (branch === MAIN_BRANCH)
      throw failedPrecondition("The main branch is not deleted: clear its databases instead.");
    const registry = registryStub(c.env);
    const deleted: string[] = [];
    for (const d of await registry.list(branch)) {
      const result = await databaseStub(c.env, d, branch).destroy();
      if ("error" in result) throw FirestoreError.fromData(result.error);
      await registry.forget(branch, d.project, d.database);
      deleted.push(`projects/${d.project}/databases/${d.database}`);
    }
    forgetRecorded(branch);
    return c.json({ branch, deleted });
  }
  const f = FORK_PATH.exec(path);
  if (f && (method === "POST" || method === "GET")) {
    const target = {
      branch: checkBranch(decode(f[1] as string, "branch"), "branch"),
      project: decode(f[2] as string, "project id"),
      database: decode(f[3] as string, "database id"),
    };
    const stub = databaseStub(c.env, target, target.branch);
    if (method === "GET") {
      const result = await stub.forkStatus();
      if ("error" in result) throw FirestoreError.fromData(result.error);
      if (result.ok === null) throw notFound("This database was never forked.");
      return c.json(statusJson(result.ok));
    }
    let body: unknown;
    try {
      body = await c.req.json();
    } catch (e) {
      throw invalidArgument(`Invalid JSON payload received. ${(e as Error).message}`);
    }
    const msg = message(body, "request", ["source", "readTime"]);
    const src = message(msg.source ?? {}, "source", ["branch", "project", "database"]);
    if (src.branch === undefined) throw invalidArgument("'source.branch' is required: the branch to fork from.");
    const source = {
      branch: checkBranch(str(src.branch, "source.branch"), "source.branch"),
      project: src.project === undefined ? target.project : str(src.project, "source.project"),
      database: src.database === undefined ? target.database : str(src.database, "source.database"),
    };
    const readTime = msg.readTime === undefined ? undefined : timestampToMicros(msg.readTime, "readTime");
    await registryStub(c.env).record(target.branch, target.project, target.database);
    const result = await stub.fork(target, source, readTime);
    if ("error" in result) throw FirestoreError.fromData(result.error);
    return c.json(statusJson(result.ok));
  }
  return undefined;
}

function statusJson(s: ForkStatus): Record<string, unknown> {
  const name = (d: { project: string; database: string }) => `projects/${d.project}/databases/${d.database}`;
  return {
    state: s.state,
    source: { branch: s.source.branch, database: name(s.source) },
    target: { branch: s.target.branch, database: name(s.target) },
    readTime: microsToTimestamp(s.readTime),
    copied: s.copied,
    ...(s.error ? { error: s.error } : {}),
  };
}
