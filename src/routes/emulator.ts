/** The Firestore emulator's maintenance endpoints, so existing test workflows work unchanged. */
import type { Context } from "hono";
import { ADMIN } from "../auth/identify.js";
import { FirestoreError, invalidArgument, notFound } from "../errors/index.js";
import { emulatorEndpointsFor } from "../middleware/auth.js";
import { branchOf } from "../middleware/branch.js";
import { decode } from "../middleware/database.js";
import { openDatabase } from "../middleware/registry.js";
import { databaseName } from "../model/path.js";
import { importRequest } from "../validation/import.js";
import { branches, isBranchPath } from "./branches.js";
import type { AppEnv } from "./context.js";

/**
 * DELETE /emulator/v1/projects/{p}/databases/{d}/documents: empties the database. It exists only in
 * emulator mode or for the admin: anyone else is told there is no such path.
 */
export async function resetDatabase(c: Context<AppEnv>): Promise<Response> {
  // Read from the raw path: Hono's params are decoded already, and a `%` would be decoded twice.
  const m = /^\/emulator\/v1\/projects\/([^/]+)\/databases\/([^/]+)\/documents$/.exec(new URL(c.req.url).pathname);
  const project = decode(m?.[1] ?? "", "project id");
  const database = decode(m?.[2] ?? "", "database id");
  if (project === "" || database === "" || project.includes("/") || database.includes("/")) {
    throw invalidArgument("Project and database ids must be non-empty and must not contain '/'.");
  }
  if (!(await emulatorEndpointsFor(c, project))) throw noSuchPath(c);
  const result = await openDatabase(c, { project, database }, branchOf(c, ADMIN)).reset();
  if ("error" in result) throw FirestoreError.fromData(result.error);
  return c.json({});
}

const RULES_PATH = /^\/emulator\/v1\/projects\/([^/:]+)(?:\/databases\/([^/:]+))?:securityRules$/;
const IMPORT_PATH = /^\/emulator\/v1\/projects\/([^/:]+)\/databases\/([^/:]+):importDocuments$/;

/** The `/emulator/v1/…` endpoints with a custom method: security rules, and imports. */
export async function emulatorMethods(c: Context<AppEnv>): Promise<Response> {
  const path = new URL(c.req.url).pathname;
  if (isBranchPath(path)) {
    const res = await branches(c);
    if (res === undefined) throw noSuchPath(c);
    return res;
  }
  if (c.req.method === "POST" && IMPORT_PATH.test(path)) return importDocuments(c);
  if (c.req.method !== "POST" && RULES_PATH.test(path)) return securityRules(c);
  throw noSuchPath(c);
}

/**
 * `POST /emulator/v1/projects/{p}/databases/{d}:importDocuments` with `{"documents": [{name,
 * fields, createTime, updateTime}, …]}` (at most 500, as `flarestore import` sends them): writes
 * them with their own times, in one commit. Answers `{"written", "unchanged"}`; with
 * `"validateOnly": true` only checks them. Only in emulator mode, or for the admin.
 */
async function importDocuments(c: Context<AppEnv>): Promise<Response> {
  const m = IMPORT_PATH.exec(new URL(c.req.url).pathname) as RegExpExecArray;
  const project = decode(m[1] as string, "project id");
  if (!(await emulatorEndpointsFor(c, project))) throw noSuchPath(c);
  const db = { project, database: decode(m[2] as string, "database id") };
  let body: unknown;
  try {
    body = await c.req.json();
  } catch (e) {
    throw invalidArgument(`Invalid JSON payload received. ${(e as Error).message}`);
  }
  const { documents, validateOnly } = importRequest(body, db);
  if (validateOnly) return c.json({ written: 0, unchanged: 0, valid: documents.length });
  const result = await openDatabase(c, db, branchOf(c, ADMIN)).importDocuments(databaseName(db), documents);
  if ("error" in result) throw FirestoreError.fromData(result.error);
  return c.json(result.ok);
}

/**
 * `PUT /emulator/v1/projects/{p}:securityRules` (what `@firebase/rules-unit-testing` and scripts
 * send the Firebase emulator): `{"rules": {"files": [{"name", "content"}]}}` becomes the security
 * rules of the project's `(default)` database; `…/projects/{p}/databases/{d}:securityRules` (ours)
 * those of a named one. `GET` answers the same shape: the rules in force, the database's own or
 * else the project's (`firestore.rules`); `DELETE` removes the database's own. Rules that do not
 * parse are refused (400, with line and column) and the old ones stay. Only in emulator mode, or
 * for the admin.
 */
async function securityRules(c: Context<AppEnv>): Promise<Response> {
  const m = RULES_PATH.exec(new URL(c.req.url).pathname);
  if (!m) throw noSuchPath(c);
  const project = decode(m[1] as string, "project id");
  if (!(await emulatorEndpointsFor(c, project))) throw noSuchPath(c);
  const database = m[2] === undefined ? "(default)" : decode(m[2], "database id");
  const stub = openDatabase(c, { project, database }, branchOf(c, ADMIN));
  if (c.req.method === "GET") {
    const result = await stub.getRules();
    if ("error" in result) throw FirestoreError.fromData(result.error);
    const files = result.ok.source === null ? [] : [{ name: "firestore.rules", content: result.ok.source }];
    return c.json({ rules: { files } });
  }
  if (c.req.method === "DELETE") {
    const result = await stub.setRules(null);
    if ("error" in result) throw FirestoreError.fromData(result.error);
    return c.json({});
  }
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw invalidArgument(
      'The body must be JSON: {"rules": {"files": [{"name": "firestore.rules", "content": "…"}]}}.',
    );
  }
  const files = (body as { rules?: { files?: unknown } } | null)?.rules?.files;
  if (!Array.isArray(files) || files.length !== 1 || typeof files[0]?.content !== "string") {
    throw invalidArgument(
      'Expected {"rules": {"files": [{"name": "firestore.rules", "content": "…"}]}} with one file.',
    );
  }
  const result = await stub.setRules(files[0].content as string);
  if ("error" in result) throw FirestoreError.fromData(result.error);
  return c.json({});
}

/** What anyone but those the emulator's endpoints exist for is told (as for any unknown path). */
function noSuchPath(c: Context<AppEnv>) {
  return notFound(`${c.req.method} ${c.req.path.slice(0, 200)} is not a Firestore API path.`);
}
