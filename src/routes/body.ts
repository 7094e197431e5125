/** Reading a request body as JSON; malformed JSON is INVALID_ARGUMENT, an empty body is `{}`. */
import type { Context } from "hono";
import { invalidArgument } from "../errors/index.js";
import type { AppEnv } from "./context.js";

export async function readJson(c: Context<AppEnv>): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`Invalid JSON payload received. ${(e as Error).message}`);
  }
}
