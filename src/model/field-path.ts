/**
 * Field paths (`DocumentMask.field_paths`, `FieldReference.field_path`, transform `field_path`):
 * dot-separated segments, each either a simple identifier `[a-zA-Z_][a-zA-Z_0-9]*` or a
 * back-quoted name in which `\\` and `` \` `` are the only escapes (``a.`x.y`.b``).
 *
 * Parsing is strict like the backend's: an unquoted segment that is not a simple identifier
 * (`0foo`, `Calling-Station-Name`) is rejected ("Invalid property path"), because every official
 * SDK quotes such names and a lenient parser would silently accept paths Firestore refuses.
 *
 * The Fields helpers below treat a `Fields` map as a tree addressed by segments. They use own-
 * property checks so a segment such as `__proto__` or `constructor` can never reach
 * `Object.prototype`.
 */
import { invalidArgument } from "../errors/index.js";
import type { Fields, Value } from "./types.js";
import { utf8Length } from "./values.js";

const SIMPLE = /^[a-zA-Z_][a-zA-Z_0-9]*$/;
/** Firestore's limit on one field name. */
const MAX_SEGMENT_BYTES = 1500;

function badPath(text: string, where: string, reason: string): Error {
  return invalidArgument(`Invalid property path "${text}" at '${where}': ${reason}.`);
}

/** Splits a textual field path into its segments, rejecting malformed paths. */
export function parseFieldPath(text: string, where: string): string[] {
  if (typeof text !== "string") throw invalidArgument(`Invalid property path at '${where}': expected a string.`);
  if (text === "") throw badPath(text, where, "field paths must not be empty");
  const segments: string[] = [];
  let i = 0;
  for (;;) {
    let segment = "";
    if (text[i] === "`") {
      i++;
      let closed = false;
      while (i < text.length) {
        const c = text[i] as string;
        if (c === "\\") {
          const next = text[i + 1];
          if (next !== "\\" && next !== "`") {
            throw badPath(
              text,
              where,
              next === undefined ? "trailing escape character" : `invalid escape sequence "\\${next}"`,
            );
          }
          segment += next;
          i += 2;
        } else if (c === "`") {
          closed = true;
          i++;
          break;
        } else {
          segment += c;
          i++;
        }
      }
      if (!closed) throw badPath(text, where, "unterminated back-quoted segment");
      if (segment === "") throw badPath(text, where, "field names must not be empty");
      if (i < text.length && text[i] !== ".")
        throw badPath(text, where, "a back-quoted segment must be followed by '.' or the end");
    } else {
      const start = i;
      while (i < text.length && text[i] !== ".") i++;
      segment = text.slice(start, i);
      if (segment === "")
        throw badPath(text, where, "field paths must not contain empty segments (leading, trailing or doubled '.')");
      if (!SIMPLE.test(segment)) {
        throw badPath(
          text,
          where,
          `segment "${segment}" must be back-quoted (unquoted segments are [a-zA-Z_][a-zA-Z_0-9]*)`,
        );
      }
    }
    if (utf8Length(segment) > MAX_SEGMENT_BYTES)
      throw badPath(text, where, `field names must be at most ${MAX_SEGMENT_BYTES} bytes`);
    segments.push(segment);
    if (i >= text.length) return segments;
    i++; // the '.'
    if (i >= text.length) throw badPath(text, where, "field paths must not end with '.'");
  }
}

/** Whether a segment can be written without back-quotes. */
export function isSimpleSegment(segment: string): boolean {
  return SIMPLE.test(segment);
}

/** One segment in path syntax: as is when simple, otherwise back-quoted with escapes. */
export function formatSegment(segment: string): string {
  if (isSimpleSegment(segment)) return segment;
  return `\`${segment.replace(/[\\`]/g, (c) => `\\${c}`)}\``;
}

/** Inverse of parseFieldPath: joins segments, quoting only those that need it. */
export function formatFieldPath(segments: readonly string[]): string {
  return segments.map(formatSegment).join(".");
}

/** A canonical string for a path, usable as a map key (distinct paths give distinct keys). */
export function fieldPathKey(segments: readonly string[]): string {
  return formatFieldPath(segments);
}

/** Whether `a` is a prefix of (or equal to) `b`. */
export function isPrefixPath(a: readonly string[], b: readonly string[]): boolean {
  if (a.length > b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function own(fields: Fields, key: string): Value | undefined {
  return Object.hasOwn(fields, key) ? fields[key] : undefined;
}

function assign(fields: Fields, key: string, value: Value): void {
  // Plain assignment of "__proto__" would replace the prototype instead of adding a field.
  if (key === "__proto__")
    Object.defineProperty(fields, key, { value, enumerable: true, writable: true, configurable: true });
  else fields[key] = value;
}

/** The value at a path, or undefined when absent (or when an intermediate is not a map). */
export function getField(fields: Fields, segs: readonly string[]): Value | undefined {
  if (segs.length === 0) return undefined;
  let current = fields;
  for (let i = 0; i < segs.length - 1; i++) {
    const v = own(current, segs[i] as string);
    if (v === undefined || !("mapValue" in v)) return undefined;
    current = v.mapValue.fields;
  }
  return own(current, segs[segs.length - 1] as string);
}

/**
 * Sets the value at a path, mutating `fields` (and the nested maps along the path, so clone
 * shared data first). Missing or non-map intermediates become maps.
 */
export function setField(fields: Fields, segs: readonly string[], value: Value): void {
  if (segs.length === 0) return;
  let current = fields;
  for (let i = 0; i < segs.length - 1; i++) {
    const key = segs[i] as string;
    const v = own(current, key);
    if (v !== undefined && "mapValue" in v) {
      current = v.mapValue.fields;
    } else {
      const next: Fields = {};
      assign(current, key, { mapValue: { fields: next } });
      current = next;
    }
  }
  assign(current, segs[segs.length - 1] as string, value);
}

/** Deletes the value at a path (mutating); a no-op when the path does not exist. */
export function deleteField(fields: Fields, segs: readonly string[]): void {
  if (segs.length === 0) return;
  let current = fields;
  for (let i = 0; i < segs.length - 1; i++) {
    const v = own(current, segs[i] as string);
    if (v === undefined || !("mapValue" in v)) return;
    current = v.mapValue.fields;
  }
  const last = segs[segs.length - 1] as string;
  if (Object.hasOwn(current, last)) delete current[last];
}

/**
 * Applies a read mask: a new Fields holding only the masked paths that exist, nested as in the
 * source. A mask that is a prefix of another covers it. Leaf values are shared with `fields`
 * (not copied); the maps built along the paths are new.
 */
export function projectFields(fields: Fields, masks: readonly (readonly string[])[]): Fields {
  // Shortest first, so a covering prefix is seen before the paths it covers; without this, a
  // later `a.b` would walk into the shared `a` map taken from the source.
  const sorted = [...masks].sort((x, y) => x.length - y.length);
  const taken: (readonly string[])[] = [];
  const out: Fields = {};
  for (const mask of sorted) {
    if (mask.length === 0) continue;
    if (taken.some((t) => isPrefixPath(t, mask))) continue;
    const v = getField(fields, mask);
    if (v === undefined) continue;
    taken.push(mask);
    setField(out, mask, v);
  }
  return out;
}
