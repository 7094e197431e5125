/** The Firestore emulator's maintenance endpoints, so existing test workflows work unchanged. */
import type { Context } from "hono";
import { FirestoreError } from "../errors/index.js";
import type { AppEnv } from "./context.js";

/** DELETE /emulator/v1/projects/{p}/databases/{d}/documents: empties the database. */
export async function resetDatabase(c: Context<AppEnv>): Promise<Response> {
  const project = decodeURIComponent(c.req.param("project") ?? "");
  const database = decodeURIComponent(c.req.param("database") ?? "");
  const ns = c.env.DATABASE;
  const result = await ns.get(ns.idFromName(`${project}/${database}`)).reset();
  if ("error" in result) throw FirestoreError.fromData(result.error);
  return c.json({});
}
