/**
 * The realtime streams' endpoints, all handed to the database's Durable Object:
 * - WebSocket: `GET …/databases/{d}/documents:listen` and `…:write` with `Upgrade: websocket` (the
 *   protocols are in durable-objects/database/watch.ts and write-sockets.ts).
 * - WebChannel (the web SDK in browsers, client-wire-protocol.md §6):
 *   `/google.firestore.v1.Firestore/{Listen|Write}/channel?database=projects/{p}/databases/{d}&…`
 *   (durable-objects/database/channels.ts).
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Caller } from "../../durable-objects/database/access.js";
import {
  STREAM_CHANNEL_HEADER,
  STREAM_DATABASE_HEADER,
  STREAM_KIND_HEADER,
  STREAM_PROJECT_HEADER,
} from "../../durable-objects/database/watch.js";
import { FirestoreError, failedPrecondition, invalidArgument } from "../errors/index.js";
import { CALLER_HEADER, streamCaller } from "../middleware/auth.js";
import { branchOf } from "../middleware/branch.js";
import { decode } from "../middleware/database.js";
import { openDatabase } from "../middleware/registry.js";
import { headerValue, parseForwardBody } from "../webchannel/forward-body.js";
import type { AppEnv } from "./context.js";

const STREAM_PATH = /^\/(?:v1|v1beta1)\/projects\/([^/]+)\/databases\/([^/]+)\/documents:(listen|write)$/;

/** Routes stream upgrades to the Durable Object; any other request goes on. */
export const websocketStreams: MiddlewareHandler<AppEnv> = async (c, next) => {
  const m = STREAM_PATH.exec(new URL(c.req.url).pathname);
  if (!m || c.req.method !== "GET") return next();
  const [, project, database, kind] = m as unknown as [string, string, string, string];
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw failedPrecondition(`…/documents:${kind} is a WebSocket endpoint: connect with "Upgrade: websocket".`);
  }
  const db = { project: decode(project, "project id"), database: decode(database, "database id") };
  if (db.project === "" || db.database === "") throw invalidArgument("Project and database ids must not be empty.");
  return forward(c, db, await streamCaller(c, db, socketAuthorization(c)), undefined, kind);
};

/**
 * A WebSocket's credentials: its `Authorization` header, or (browsers cannot set headers on a
 * WebSocket) the `access_token` query parameter, as Google's APIs accept it.
 */
export function socketAuthorization(c: Context<AppEnv>): string | undefined {
  const header = c.req.header("authorization");
  if (header !== undefined) return header;
  const token = new URL(c.req.url).searchParams.get("access_token");
  return token === null ? undefined : `Bearer ${token}`;
}

const DATABASE_PARAM = /^projects\/([^/]+)\/databases\/([^/]+)$/;

/** `/google.firestore.v1.Firestore/{Listen|Write}/channel`: a WebChannel request of a session. */
export async function channel(c: Context<AppEnv>): Promise<Response> {
  const kind = c.req.param("rpc") === "Listen" ? "listen" : "write";
  const database = new URL(c.req.url).searchParams.get("database");
  const m = database === null ? null : DATABASE_PARAM.exec(database);
  if (!m) {
    throw invalidArgument(
      `A ${kind === "listen" ? "Listen" : "Write"} channel needs the database=projects/{project}/databases/{database} parameter.`,
    );
  }
  const db = { project: m[1] as string, database: m[2] as string };
  // A session's caller is who opened it: the handshake (no SID yet) carries the credentials, in its
  // body's header block (the web SDK's encodeInitMessageHeaders) or as a header.
  if (c.req.method === "POST" && !new URL(c.req.url).searchParams.has("SID")) {
    const text = await c.req.text();
    const parsed = parseForwardBody(text);
    const authorization = (parsed.ok ? headerValue(parsed.value.headers, "authorization") : undefined) ?? undefined;
    const res = await forward(c, db, await streamCaller(c, db, authorization), kind, undefined, text);
    return new Response(res.body, res);
  }
  // The session's later requests belong to whoever opened it (the database checks only the handshake).
  const res = await forward(c, db, await streamCaller(c, db), kind);
  // A copy whose headers the CORS middleware may still set (a fetched response's are immutable).
  return new Response(res.body, res);
}

/** Forwards the request to the database's Durable Object with the stream's database attached. */
export function forward(
  c: Context<AppEnv>,
  db: { project: string; database: string },
  caller: Caller,
  channel?: string,
  socket?: string,
  text?: string,
): Promise<Response> {
  const headers = streamHeaders(c, db, caller);
  if (channel !== undefined) headers.set(STREAM_CHANNEL_HEADER, channel);
  if (socket !== undefined) headers.set(STREAM_KIND_HEADER, socket);
  const method = c.req.method;
  const body = method !== "POST" ? null : text !== undefined ? text : c.req.raw.body;
  const stub = openDatabase(c, db, branchOf(c, caller.identity));
  return stub.fetch(new Request(c.req.raw.url, { method, headers, body }));
}

/** The request's headers with the stream's database and caller attached (the Worker's to set, never a client's). */
function streamHeaders(c: Context<AppEnv>, db: { project: string; database: string }, caller: Caller): Headers {
  const headers = new Headers(c.req.raw.headers);
  headers.set(STREAM_PROJECT_HEADER, db.project);
  headers.set(STREAM_DATABASE_HEADER, db.database);
  headers.set(CALLER_HEADER, JSON.stringify(caller));
  return headers;
}

/**
 * Opens the database's Listen or Write stream socket for a call that is not itself a WebSocket
 * upgrade (the gRPC bidirectional calls): the request's headers are passed on, its body is not.
 * Throws the Durable Object's error when it refuses.
 */
export async function openStreamSocket(
  c: Context<AppEnv>,
  db: { project: string; database: string },
  kind: "listen" | "write",
  caller: Caller,
): Promise<WebSocket> {
  const headers = streamHeaders(c, db, caller);
  for (const name of ["content-length", "content-type", "transfer-encoding"]) headers.delete(name);
  headers.set("upgrade", "websocket");
  headers.set(STREAM_KIND_HEADER, kind);
  const stub = openDatabase(c, db, branchOf(c, caller.identity));
  const res = await stub.fetch(new Request(c.req.raw.url, { method: "GET", headers }));
  if (res.webSocket) return res.webSocket;
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: the fallback message below
  }
  throw FirestoreError.fromJSON(body, `The ${kind} stream could not be opened (HTTP ${res.status}).`);
}
