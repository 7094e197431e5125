/**
 * Reading proto3 JSON request messages the way Google's front end does: both lowerCamelCase and
 * original snake_case field names, enums as names or numbers, int64 as strings or numbers, and an
 * INVALID_ARGUMENT naming the exact location for anything else (unknown fields included), e.g.
 * `Invalid JSON payload received. Unknown name "wrtes": Cannot find field.`
 */
import { invalidArgument } from "../errors/index.js";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A proto field name as its JSON name (`collection_id` → `collectionId`). */
export function camel(key: string): string {
  return key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function at(where: string): string {
  return where === "" ? "" : ` at '${where}'`;
}

/** The JSON type name used in messages. */
function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "list";
  return typeof v === "object" ? "object" : typeof v;
}

function describe(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Reads a message object: checks it is an object, normalises field names to lowerCamelCase and
 * rejects unknown or duplicated fields. `null`/absent yields an empty object (proto3: default).
 */
export function message(json: unknown, where: string, fields: readonly string[]): Record<string, unknown> {
  if (json === undefined || json === null) return {};
  if (typeof json !== "object" || Array.isArray(json)) {
    throw invalidArgument(
      `Invalid JSON payload received. Expected an object${at(where)}, got ${typeOf(json)} ${describe(json)}.`,
    );
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    const name = camel(key);
    if (!fields.includes(name)) {
      throw invalidArgument(`Invalid JSON payload received. Unknown name "${key}"${at(where)}: Cannot find field.`);
    }
    if (name in out) {
      throw invalidArgument(`Invalid JSON payload received. Field "${name}"${at(where)} is given twice (as ${key}).`);
    }
    // proto3 JSON: null means "field not set".
    if (value !== null) out[name] = value;
  }
  return out;
}

/** Exactly one (or at most one, when `optional`) of a oneof's members may be set. */
export function oneof(
  msg: Record<string, unknown>,
  members: readonly string[],
  where: string,
  optional = false,
): string | undefined {
  const set = members.filter((m) => msg[m] !== undefined);
  if (set.length > 1) {
    throw invalidArgument(`Only one of ${set.join(", ")} may be set${at(where)}.`);
  }
  if (set.length === 0 && !optional) {
    throw invalidArgument(`One of ${members.join(", ")} must be set${at(where)}.`);
  }
  return set[0];
}

export function str(json: unknown, where: string): string {
  if (typeof json !== "string") {
    throw invalidArgument(`Invalid value${at(where)} (TYPE_STRING), ${describe(json)}: expected a string.`);
  }
  return json;
}

export function bool(json: unknown, where: string): boolean {
  if (typeof json === "boolean") return json;
  if (json === "true") return true;
  if (json === "false") return false;
  throw invalidArgument(`Invalid value${at(where)} (TYPE_BOOL), ${describe(json)}: expected true or false.`);
}

/** int32 fields: JSON numbers or numeric strings, integral and within range. */
export function int32(json: unknown, where: string): number {
  const n = typeof json === "string" && /^-?\d+$/.test(json.trim()) ? Number(json) : json;
  if (typeof n !== "number" || !Number.isInteger(n) || n < -(2 ** 31) || n >= 2 ** 31) {
    throw invalidArgument(`Invalid value${at(where)} (TYPE_INT32), ${describe(json)}: expected a 32-bit integer.`);
  }
  return n;
}

/** int64 fields that we only need as safe JS numbers (counts, sizes). */
export function int64Number(json: unknown, where: string): number {
  const n = typeof json === "string" && /^-?\d+$/.test(json.trim()) ? Number(json) : json;
  if (typeof n !== "number" || !Number.isSafeInteger(n)) {
    throw invalidArgument(`Invalid value${at(where)} (TYPE_INT64), ${describe(json)}: expected an integer.`);
  }
  return n;
}

export function list(json: unknown, where: string): unknown[] {
  if (json === undefined || json === null) return [];
  if (!Array.isArray(json)) {
    throw invalidArgument(`Invalid value${at(where)}, ${describe(json)}: expected a list.`);
  }
  return json;
}

/** Enum fields: the value's name or its number. Returns the name. */
export function enumValue(json: unknown, where: string, type: string, values: Record<string, number>): string {
  if (typeof json === "string" && json in values) return json;
  const n = typeof json === "string" && /^\d+$/.test(json) ? Number(json) : json;
  if (typeof n === "number") {
    for (const [name, num] of Object.entries(values)) if (num === n) return name;
  }
  throw invalidArgument(`Invalid value${at(where)} (TYPE_ENUM), ${describe(json)}: not a value of ${type}.`);
}

/** `bytes` fields (transaction ids): standard or URL-safe base64. Returns canonical base64. */
export function bytes(json: unknown, where: string): string {
  const text = str(json, where).replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  if (!/^[A-Za-z0-9+/]*$/.test(text) || text.length % 4 === 1) {
    throw invalidArgument(`Invalid value${at(where)} (TYPE_BYTES), ${describe(json)}: not valid base64.`);
  }
  return text + "=".repeat((4 - (text.length % 4)) % 4);
}
