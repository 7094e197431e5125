/**
 * Resolves the database a request is for from its URL (`/v1/projects/{p}/databases/{d}/documents…`,
 * also `/v1beta1/…`): the path is the authority; headers such as `google-cloud-resource-prefix` are
 * only hints. Sets `c.var.target` (database, decoded path segments, custom verb).
 */
import type { MiddlewareHandler } from "hono";
import type { DatabaseDO } from "../../durable-objects/database/index.js";
import { invalidArgument, notFound } from "../errors/index.js";
import { type DatabaseRef, documentName, validatePathSegments } from "../model/path.js";
import type { AppEnv, Env, Target } from "../routes/context.js";
import { databaseObjectName } from "./branch.js";

const PREFIX = /^\/(v1|v1beta1)\/projects\/([^/]+)\/databases\/([^/]+)\/(.*)$/;

/** A URL path segment, percent-decoded; INVALID_ARGUMENT naming `what` when the encoding is broken. */
export function decode(segment: string, what: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw invalidArgument(`The ${what} "${segment}" in the URL is not valid percent-encoding.`);
  }
}

/** Parses the request path; throws NOT_FOUND for paths outside the documents API. */
export function parseTarget(pathname: string, method: string): Target {
  const m = PREFIX.exec(pathname);
  if (!m) throw notFound(`${method} ${pathname.slice(0, 200)} is not a Firestore API path.`);
  const project = decode(m[2] as string, "project id");
  const database = decode(m[3] as string, "database id");
  if (project === "" || database === "") throw invalidArgument("Project and database ids must not be empty.");
  const rawSegments = (m[4] as string).split("/");
  let verb: string | undefined;
  const last = rawSegments[rawSegments.length - 1] as string;
  const colon = last.lastIndexOf(":");
  // Only POST has custom methods (`:commit`, `:runQuery`, …); GET/PATCH/DELETE names may contain ':'.
  if (method === "POST" && colon >= 0) {
    verb = last.slice(colon + 1);
    rawSegments[rawSegments.length - 1] = last.slice(0, colon);
  }
  if (rawSegments[0] !== "documents") {
    throw notFound(
      `${method} ${pathname.slice(0, 200)}: only the documents API (…/databases/{database}/documents) is served here.`,
    );
  }
  const segments = rawSegments.slice(1).map((s) => decode(s, "path segment"));
  if (segments.some((s) => s === ""))
    throw invalidArgument(`The URL path ${pathname.slice(0, 200)} has an empty segment.`);
  const db = { project, database };
  // Every id in the URL obeys the same rule as the ids of a write, whatever the method: a read
  // of `__x__`, `..` or a 1,501-byte id is INVALID_ARGUMENT, not NOT_FOUND.
  const isDocument = segments.length > 0 && segments.length % 2 === 0;
  validatePathSegments(
    segments,
    documentName(db, segments.join("/")),
    isDocument && verb === undefined ? "name" : "parent",
  );
  return { db, segments, verb };
}

/** The Durable Object of a database: one per branch, project and database. */
export function databaseStub(env: Env, db: DatabaseRef, branch: string): DurableObjectStub<DatabaseDO> {
  return env.DATABASE.get(env.DATABASE.idFromName(databaseObjectName(branch, db)));
}

/** Sets `c.var.target` from the URL (the database's object is bound once the caller is known). */
export const resolveDatabase: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("target", parseTarget(new URL(c.req.url).pathname, c.req.method));
  await next();
};
