/**
 * Resource names and document paths.
 *
 * A *document path* is relative to a database's `documents` root: `"cities/SF/landmarks/L1"`.
 * The order-preserving *key encoding* turns a path into bytes whose memcmp order is Firestore's
 * document order (segment by segment; numeric ids `__id<n>__` first, numerically; then string ids
 * in UTF-8 byte order; a path sorts before its descendants). SQLite compares BLOBs with memcmp, so
 * `ORDER BY key` and key ranges give Firestore's `__name__` order and collection prefixes.
 */
import { invalidArgument } from "../errors/index.js";

const encoder = new TextEncoder();

/** Firestore's limits on ids (limits.md): valid UTF-8, ≤ 1,500 bytes, no `/`, not `.`/`..`, not `__.*__`. */
export const MAX_ID_BYTES = 1500;
/** Document name limit: 6 KiB. */
export const MAX_NAME_BYTES = 6 * 1024;
/** Subcollection depth limit: 100 (so 200 path segments). */
const MAX_SEGMENTS = 200;

const NUMERIC_ID = /^__id(-?\d+)__$/;
/**
 * Reserved ids: `__`, at least one character, `__`. Firestore accepts `____` (the two `__` of the
 * pattern may not overlap, and nothing between them is not "something reserved"), so `.+`, not `.*`.
 */
const RESERVED_ID = /^__.+__$/s;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A database within a project: `projects/{project}/databases/{database}`. */
export interface DatabaseRef {
  project: string;
  database: string;
}

export function databaseName(db: DatabaseRef): string {
  return `projects/${db.project}/databases/${db.database}`;
}

/** `projects/p/databases/d/documents` + `/` + path (path may be empty for the root). */
export function documentsRoot(db: DatabaseRef): string {
  return `${databaseName(db)}/documents`;
}

export function documentName(db: DatabaseRef, path: string): string {
  return path === "" ? documentsRoot(db) : `${documentsRoot(db)}/${path}`;
}

/**
 * `__id<n>__` with n a canonical int64 is a numeric document id (Datastore-mode keys; the server
 * SDKs write them, nodejs-firestore PR #2257). Other `__…__` ids stay reserved; non-canonical
 * spellings such as `__id07__` are rejected so each numeric id has one name (and one key).
 */
function isNumericId(id: string): boolean {
  const m = /^__id(-?(?:0|[1-9]\d*))__$/.exec(id);
  if (!m || m[1] === "-0") return false;
  const n = BigInt(m[1] as string);
  return n >= -(2n ** 63n) && n < 2n ** 63n;
}

/** Whether `id` is a reserved id (`__.+__`) that is not a canonical numeric document id. */
export function isReservedId(id: string, kind: "document" | "collection"): boolean {
  return RESERVED_ID.test(id) && !(kind === "document" && isNumericId(id));
}

/** A short, quoted form of an id or name for messages (the input may be megabytes long). */
function shown(text: string, max = 200): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}

/**
 * The one rule for collection and document ids, for reads and writes alike: non-empty, valid
 * UTF-8 (no lone UTF-16 surrogates), at most 1,500 bytes, no `/`, not `.` or `..`, and not
 * reserved (`__.+__`, except numeric document ids `__id<n>__`).
 */
export function validateId(id: string, kind: "document" | "collection", where: string): void {
  if (id === "") throw invalidArgument(`${where}: ${kind} id must not be empty.`);
  if (LONE_SURROGATE.test(id)) throw invalidArgument(`${where}: ${kind} id ${shown(id)} is not valid UTF-8.`);
  if (encoder.encode(id).length > MAX_ID_BYTES) {
    throw invalidArgument(`${where}: ${kind} id ${shown(id)} is longer than ${MAX_ID_BYTES} bytes.`);
  }
  if (id === "." || id === "..") throw invalidArgument(`${where}: ${kind} id "${id}" is not allowed.`);
  if (id.includes("/")) throw invalidArgument(`${where}: ${kind} id ${shown(id)} must not contain "/".`);
  if (isReservedId(id, kind)) {
    throw invalidArgument(
      `${where}: ${kind} id ${shown(id)} is invalid because it is reserved (ids matching __.*__ are not allowed).`,
    );
  }
}

/**
 * Splits the part of a resource name after the database into segments, checking that it starts
 * with `documents`. Returns the segments after `documents` (possibly none).
 */
function splitAfterDatabase(name: string, db: DatabaseRef, where: string): string[] {
  const prefix = documentsRoot(db);
  if (name === prefix) return [];
  if (!name.startsWith(`${prefix}/`)) {
    const m = /^projects\/([^/]+)\/databases\/([^/]+)(\/|$)/.exec(name);
    if (m && (m[1] !== db.project || m[2] !== db.database)) {
      throw invalidArgument(
        `${where}: ${shown(name)} belongs to database projects/${(m[1] as string).slice(0, 100)}/databases/${(m[2] as string).slice(0, 100)}, but the request is for ${databaseName(db)}.`,
      );
    }
    throw invalidArgument(`${where}: ${shown(name)} is not a valid resource name under ${prefix}.`);
  }
  const rest = name.slice(prefix.length + 1);
  return rest.split("/");
}

/**
 * Checks the segments of a path relative to the documents root: alternately collection and
 * document ids, each under `validateId`, at most 100 levels, and a full name within 6 KiB.
 */
export function validatePathSegments(segments: readonly string[], name: string, where: string): void {
  if (segments.length > MAX_SEGMENTS) throw invalidArgument(`${where}: ${shown(name)} is nested too deeply.`);
  for (let i = 0; i < segments.length; i++) {
    validateId(segments[i] as string, i % 2 === 0 ? "collection" : "document", where);
  }
  if (encoder.encode(name).length > MAX_NAME_BYTES) {
    throw invalidArgument(`${where}: document name is longer than ${MAX_NAME_BYTES} bytes.`);
  }
}

/** Parses a full document resource name into a path relative to the database (ids checked). */
export function parseDocumentName(name: unknown, db: DatabaseRef, where: string): string {
  if (typeof name !== "string") throw invalidArgument(`${where}: expected a document name string.`);
  const segments = splitAfterDatabase(name, db, where);
  if (segments.length === 0 || segments.length % 2 !== 0) {
    throw invalidArgument(
      `${where}: ${shown(name)} is not a document name (a document path has an even number of segments, like "collection/document").`,
    );
  }
  validatePathSegments(segments, name, where);
  return segments.join("/");
}

/** Parses a parent resource name: the documents root or a document. Returns "" for the root. */
export function parseParentName(name: string, db: DatabaseRef, where: string): string {
  const segments = splitAfterDatabase(name, db, where);
  if (segments.length % 2 !== 0) {
    throw invalidArgument(
      `${where}: ${shown(name)} is not a valid parent (it must be the documents root or a document).`,
    );
  }
  validatePathSegments(segments, name, where);
  return segments.join("/");
}

/** `"a/b/c/d"` → `"a/b/c"`; the collection containing a document. */
export function collectionOf(docPath: string): string {
  return docPath.slice(0, docPath.lastIndexOf("/"));
}

/** The last segment of a path. */
export function lastSegment(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** The collection id (last collection segment) of a document path. */
export function collectionIdOf(docPath: string): string {
  return lastSegment(collectionOf(docPath));
}

// ---------------------------------------------------------------------------------------------
// Key encoding

const TAG_NUMERIC = 0x01;
const TAG_STRING = 0x02;

/** Appends one segment's encoding: numeric ids as 0x01 + 8-byte sign-flipped big endian; strings as
 *  0x02 + UTF-8 with 0x00 escaped as 0x00 0xFF, terminated by 0x00 0x01. */
function encodeSegment(out: number[], segment: string): void {
  const numeric = NUMERIC_ID.exec(segment);
  if (numeric) {
    const n = BigInt(numeric[1] as string);
    if (n >= -(2n ** 63n) && n < 2n ** 63n) {
      const u = BigInt.asUintN(64, n) ^ (1n << 63n);
      out.push(TAG_NUMERIC);
      for (let shift = 56n; shift >= 0n; shift -= 8n) out.push(Number((u >> shift) & 0xffn));
      return;
    }
  }
  out.push(TAG_STRING);
  for (const byte of encoder.encode(segment)) {
    out.push(byte);
    if (byte === 0) out.push(0xff);
  }
  out.push(0x00, 0x01);
}

/** Order-preserving encoding of a path (document or collection). The root ("") encodes as empty. */
export function encodeKey(path: string): Uint8Array {
  const out: number[] = [];
  if (path !== "") for (const segment of path.split("/")) encodeSegment(out, segment);
  return Uint8Array.from(out);
}

/** The smallest key greater than every key that has `prefix` as a path prefix (exclusive bound). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  // Every segment encoding starts with a tag byte ≤ 0x02, so prefix + 0xFF bounds all descendants.
  const out = new Uint8Array(prefix.length + 1);
  out.set(prefix);
  out[prefix.length] = 0xff;
  return out;
}
