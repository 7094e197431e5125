/**
 * Authentication on every path in (REST, gRPC-Web, the WebSocket and WebChannel streams): the
 * caller's identity from its bearer token (src/auth), checked against the project the request is
 * for. What the caller may do is decided by the database (durable-objects/database/access.ts),
 * which receives it with each request: in the RPC's `caller`, or in CALLER_HEADER on streams.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { Caller } from "../../durable-objects/database/access.js";
import { authConfig } from "../auth/config.js";
import { type Identity, identify } from "../auth/identify.js";
import type { AppEnv } from "../routes/context.js";
import { branchOf } from "./branch.js";
import { openDatabase } from "./registry.js";

/**
 * The identity of the request's caller for `project`: its `Authorization` header, or the one given
 * (a WebChannel handshake carries it in its body; a browser's WebSocket in `access_token=`).
 */
export function callerOf(c: Context<AppEnv>, project: string, authorization?: string): Promise<Identity> {
  const header = authorization ?? c.req.header("authorization");
  return identify(header, project, authConfig(c.env));
}

/** The caller of a stream request for `db`, authenticated with `authorization` (or the request's header). */
export async function streamCaller(
  c: Context<AppEnv>,
  db: { project: string; database: string },
  authorization?: string,
): Promise<Caller> {
  const identity = await callerOf(c, db.project, authorization);
  return { identity, emulator: authConfig(c.env).emulator, database: db.database };
}

/** Whether the emulator's maintenance endpoints exist for this caller (emulator mode, or the admin). */
export async function emulatorEndpointsFor(c: Context<AppEnv>, project: string): Promise<boolean> {
  if (authConfig(c.env).emulator) return true;
  return (await callerOf(c, project)).kind === "admin";
}

/**
 * For the REST routes (after database resolution): authenticate, then bind the database's object
 * on the request's branch. What the caller may do is the database's to decide
 * (durable-objects/database/access.ts: the admin, the rules, or no rules).
 */
export const authenticateRest: MiddlewareHandler<AppEnv> = async (c, next) => {
  const identity = await callerOf(c, c.var.target.db.project);
  c.set("identity", identity);
  c.set("stub", openDatabase(c, c.var.target.db, branchOf(c, identity)));
  await next();
};

/** The request's caller as the database sees it. */
export function caller(c: Context<AppEnv>): Caller {
  return { identity: c.var.identity, emulator: authConfig(c.env).emulator, database: c.var.target.db.database };
}

/** The header that carries the caller to the database on stream requests (the Worker sets it, never a client). */
export const CALLER_HEADER = "x-flarestore-caller";
