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

/** Firestore's limits on ids (limits.md): ≤ 1,500 bytes, no `/`, not `.`/`..`, not `__.*__`. */
const MAX_ID_BYTES = 1500;
/** Document name limit: 6 KiB. */
export const MAX_NAME_BYTES = 6 * 1024;
/** Subcollection depth limit: 100 (so 200 path segments). */
const MAX_SEGMENTS = 200;

const NUMERIC_ID = /^__id(-?\d+)__$/;
const RESERVED_ID = /^__.*__$/;

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

/** Validates one collection or document id as a client may write it. */
export function validateId(id: string, kind: "document" | "collection", where: string): void {
  if (id === "") throw invalidArgument(`${where}: ${kind} id must not be empty.`);
  if (id === "." || id === "..") throw invalidArgument(`${where}: ${kind} id "${id}" is not allowed.`);
  if (id.includes("/")) throw invalidArgument(`${where}: ${kind} id "${id}" must not contain "/".`);
  if (RESERVED_ID.test(id) && !(kind === "document" && isNumericId(id))) {
    throw invalidArgument(`${where}: ${kind} id "${id}" is reserved (ids matching __.*__ are not allowed).`);
  }
  if (encoder.encode(id).length > MAX_ID_BYTES) {
    throw invalidArgument(`${where}: ${kind} id is longer than ${MAX_ID_BYTES} bytes.`);
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
        `${where}: "${name}" belongs to database projects/${m[1]}/databases/${m[2]}, but the request is for ${databaseName(db)}.`,
      );
    }
    throw invalidArgument(`${where}: "${name}" is not a valid resource name under ${prefix}.`);
  }
  const rest = name.slice(prefix.length + 1);
  return rest.split("/");
}

/** Checks path segments (all ids); `kind` of the last segment decides even/odd length. */
function checkSegments(segments: string[], name: string, where: string, strictIds: boolean): void {
  if (segments.length > MAX_SEGMENTS) throw invalidArgument(`${where}: "${name}" is nested too deeply.`);
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as string;
    const kind = i % 2 === 0 ? "collection" : "document";
    if (strictIds) validateId(seg, kind, where);
    else if (seg === "") throw invalidArgument(`${where}: "${name}" has an empty path segment.`);
  }
  if (encoder.encode(name).length > MAX_NAME_BYTES) {
    throw invalidArgument(`${where}: document name is longer than ${MAX_NAME_BYTES} bytes.`);
  }
}

/**
 * Parses a full document resource name into a path relative to the database.
 * `strictIds` applies the id rules for writes (reserved `__x__` ids rejected); reads and
 * references only need a well-formed name.
 */
export function parseDocumentName(name: unknown, db: DatabaseRef, where: string, strictIds = false): string {
  if (typeof name !== "string") throw invalidArgument(`${where}: expected a document name string.`);
  const segments = splitAfterDatabase(name, db, where);
  if (segments.length === 0 || segments.length % 2 !== 0) {
    throw invalidArgument(
      `${where}: "${name}" is not a document name (a document path has an even number of segments, like "collection/document").`,
    );
  }
  checkSegments(segments, name, where, strictIds);
  return segments.join("/");
}

/** Parses a parent resource name: the documents root or a document. Returns "" for the root. */
export function parseParentName(name: string, db: DatabaseRef, where: string): string {
  const segments = splitAfterDatabase(name, db, where);
  if (segments.length % 2 !== 0) {
    throw invalidArgument(`${where}: "${name}" is not a valid parent (it must be the documents root or a document).`);
  }
  checkSegments(segments, name, where, false);
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
