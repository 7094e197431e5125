/**
 * Who is calling. For now only the emulator convention is recognised: `Authorization: Bearer owner`
 * is the admin identity (the server SDKs send it against emulators). Firebase ID token
 * verification (jose, JWKS) and security rules come with their own issue; until then every caller
 * has full access, as with the Firestore emulator without rules.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../routes/context.js";

export const identify: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.set("isOwner", c.req.header("authorization")?.trim() === "Bearer owner");
  await next();
};
