/**
 * The WebSocket endpoints of the realtime streams: `GET …/databases/{d}/documents:listen` with
 * `Upgrade: websocket` is handed to the database's Durable Object, which holds the socket (see
 * durable-objects/database/watch.ts for the protocol). `:write` is not served yet.
 */
import type { MiddlewareHandler } from "hono";
import { STREAM_DATABASE_HEADER, STREAM_PROJECT_HEADER } from "../../durable-objects/database/watch.js";
import { failedPrecondition, invalidArgument, unimplemented } from "../errors/index.js";
import type { AppEnv } from "./context.js";

const STREAM_PATH = /^\/(?:v1|v1beta1)\/projects\/([^/]+)\/databases\/([^/]+)\/documents:(listen|write)$/;

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw invalidArgument(`The id "${segment}" in the URL is not valid percent-encoding.`);
  }
}

/** Routes stream upgrades to the Durable Object; any other request goes on. */
export const streams: MiddlewareHandler<AppEnv> = async (c, next) => {
  const m = STREAM_PATH.exec(new URL(c.req.url).pathname);
  if (!m || c.req.method !== "GET") return next();
  const [, project, database, kind] = m as unknown as [string, string, string, string];
  if (kind === "write") throw unimplemented("The Write stream is not served over WebSocket yet; use :commit.");
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw failedPrecondition(`…/documents:${kind} is a WebSocket endpoint: connect with "Upgrade: websocket".`);
  }
  const db = { project: decode(project), database: decode(database) };
  if (db.project === "" || db.database === "") throw invalidArgument("Project and database ids must not be empty.");
  const headers = new Headers(c.req.raw.headers);
  headers.set(STREAM_PROJECT_HEADER, db.project);
  headers.set(STREAM_DATABASE_HEADER, db.database);
  const ns = c.env.DATABASE;
  const stub = ns.get(ns.idFromName(`${db.project}/${db.database}`));
  return stub.fetch(new Request(c.req.raw.url, { method: "GET", headers }));
};
