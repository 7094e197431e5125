/** Reading a request body as JSON; malformed JSON is INVALID_ARGUMENT, an empty body is `{}`. */
import type { Context } from "hono";
import { invalidArgument } from "../errors/index.js";
import type { AppEnv } from "./context.js";

/**
 * Deepest nesting of objects and arrays a body may have. Google's front end parses JSON into
 * protobuf with a recursion limit of 100; no valid request comes near it (a value nested the
 * maximum 20 maps deep sits about 65 levels down), and every decoder after this point may then
 * recurse without exhausting the stack.
 */
export const MAX_JSON_DEPTH = 100;

/** The nesting depth of JSON text (objects and arrays), stopping early past `limit`. */
export function jsonDepth(text: string, limit = MAX_JSON_DEPTH): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) {
        max = depth;
        if (max > limit) return max;
      }
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

export async function readJson(c: Context<AppEnv>): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  // Only text with more than MAX_JSON_DEPTH brackets can be too deep.
  if (text.length > MAX_JSON_DEPTH * 2 && jsonDepth(text) > MAX_JSON_DEPTH) {
    throw invalidArgument(
      `Invalid JSON payload received. The request nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep.`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw invalidArgument(`Invalid JSON payload received. ${(e as Error).message}`);
  }
}
