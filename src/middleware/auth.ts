/**
 * Authentication on every path in (REST, gRPC-Web, the WebSocket and WebChannel streams): the
 * caller's identity from its bearer token (src/auth), checked against the project the request is
 * for. Authorization is, for now, all or nothing: emulator mode and the admin may do everything;
 * in production anyone else is PERMISSION_DENIED until security rules are evaluated (the deny-all
 * a deployment without rules has).
 */
import type { Context, MiddlewareHandler } from "hono";
import { authConfig } from "../auth/config.js";
import { type Identity, identify } from "../auth/identify.js";
import { permissionDenied } from "../errors/index.js";
import type { AppEnv } from "../routes/context.js";

/** Firestore's message for a request its rules deny. */
export const DENIED = "Missing or insufficient permissions.";

/**
 * The identity of the request's caller for `project`: its `Authorization` header, or the one given
 * (a WebChannel handshake carries it in its body; a browser's WebSocket in `access_token=`).
 */
export function callerOf(c: Context<AppEnv>, project: string, authorization?: string): Promise<Identity> {
  const header = authorization ?? c.req.header("authorization");
  return identify(header, project, authConfig(c.env));
}

/** Throws PERMISSION_DENIED unless `identity` may use the database (see the file comment). */
export function requireAccess(c: Context<AppEnv>, identity: Identity): void {
  if (identity.kind === "admin" || authConfig(c.env).emulator) return;
  throw permissionDenied(DENIED);
}

/** Whether the emulator's maintenance endpoints exist for this caller (emulator mode, or the admin). */
export async function emulatorEndpointsFor(c: Context<AppEnv>, project: string): Promise<boolean> {
  if (authConfig(c.env).emulator) return true;
  return (await callerOf(c, project)).kind === "admin";
}

/** For the REST routes (after database resolution): authenticate, then check access. */
export const authorizeRest: MiddlewareHandler<AppEnv> = async (c, next) => {
  const identity = await callerOf(c, c.var.target.db.project);
  requireAccess(c, identity);
  c.set("identity", identity);
  await next();
};
