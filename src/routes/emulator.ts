/** The Firestore emulator's maintenance endpoints, so existing test workflows work unchanged. */
import type { Context } from "hono";
import { FirestoreError, invalidArgument, notFound } from "../errors/index.js";
import { emulatorEndpointsFor } from "../middleware/auth.js";
import { decode } from "../middleware/database.js";
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
  if (!(await emulatorEndpointsFor(c, project))) {
    throw notFound(`${c.req.method} ${c.req.path.slice(0, 200)} is not a Firestore API path.`);
  }
  const ns = c.env.DATABASE;
  const result = await ns.get(ns.idFromName(`${project}/${database}`)).reset();
  if ("error" in result) throw FirestoreError.fromData(result.error);
  return c.json({});
}
