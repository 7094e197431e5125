/**
 * Request bodies and query strings of the documents API → the Durable Object's request shapes.
 * Every rejection is INVALID_ARGUMENT naming the offending field.
 */

import type {
  BatchGetRequest,
  CommitRequest,
  Consistency,
  ListCollectionIdsRequest,
  TransactionOptions,
} from "../../durable-objects/database/api.js";
import { invalidArgument } from "../errors/index.js";
import { binaryString } from "../model/bytes.js";
import { type DatabaseRef, databaseName, parseDocumentName, parseParentName, validateId } from "../model/path.js";
import { timestampToMicros } from "../model/timestamp.js";
import type { Write } from "../model/types.js";
import { bytes, int32, list, message, oneof, str } from "./proto-json.js";
import { documentMask, write } from "./writes.js";

/** Checks the optional `database` field of a body against the URL's database. */
function checkDatabase(value: unknown, db: DatabaseRef, where: string): void {
  if (value === undefined) return;
  if (str(value, where) !== databaseName(db)) {
    throw invalidArgument(`'${where}' is "${String(value)}", but the URL is for ${databaseName(db)}.`);
  }
}

export function transactionOptions(json: unknown, where: string): TransactionOptions {
  const msg = message(json, where, ["readOnly", "readWrite"]);
  const mode = oneof(msg, ["readOnly", "readWrite"], where, true);
  if (mode === "readOnly") {
    const ro = message(msg.readOnly, `${where}.read_only`, ["readTime"]);
    return ro.readTime === undefined
      ? { readOnly: true }
      : { readOnly: true, readTime: timestampToMicros(ro.readTime, `${where}.read_only.read_time`) };
  }
  const rw = message(msg.readWrite, `${where}.read_write`, ["retryTransaction"]);
  return rw.retryTransaction === undefined
    ? { readOnly: false }
    : { readOnly: false, retryTransaction: bytes(rw.retryTransaction, `${where}.read_write.retry_transaction`) };
}

/** The `consistency_selector` oneof shared by reads: transaction | newTransaction | readTime. */
export function consistency(msg: Record<string, unknown>, where: string, allowNew = true): Consistency {
  const members = allowNew ? ["transaction", "newTransaction", "readTime"] : ["transaction", "readTime"];
  const which = oneof(msg, members, where, true);
  const field = (name: string) => (where === "" ? name : `${where}.${name}`);
  switch (which) {
    case "transaction":
      return { kind: "transaction", id: bytes(msg.transaction, field("transaction")) };
    case "newTransaction":
      return { kind: "newTransaction", options: transactionOptions(msg.newTransaction, field("new_transaction")) };
    case "readTime":
      return { kind: "readTime", readTime: timestampToMicros(msg.readTime, field("read_time")) };
    default:
      return { kind: "latest" };
  }
}

export function batchGetRequest(json: unknown, db: DatabaseRef): Omit<BatchGetRequest, "caller"> {
  const msg = message(json, "", ["database", "documents", "mask", "transaction", "newTransaction", "readTime"]);
  checkDatabase(msg.database, db, "database");
  const paths = list(msg.documents, "documents").map((name, i) => parseDocumentName(name, db, `documents[${i}]`));
  return {
    paths,
    mask: msg.mask === undefined ? undefined : documentMask(msg.mask, "mask"),
    consistency: consistency(msg, ""),
  };
}

export function commitRequest(json: unknown, db: DatabaseRef): Omit<CommitRequest, "caller"> {
  const msg = message(json, "", ["database", "writes", "transaction"]);
  checkDatabase(msg.database, db, "database");
  const writes = list(msg.writes, "writes").map((w, i) => write(w, db, `writes[${i}]`));
  return msg.transaction === undefined ? { writes } : { writes, transaction: bytes(msg.transaction, "transaction") };
}

export function batchWriteRequest(json: unknown, db: DatabaseRef): { writes: Write[] } {
  const msg = message(json, "", ["database", "writes", "labels"]);
  checkDatabase(msg.database, db, "database");
  const writes = list(msg.writes, "writes").map((w, i) => write(w, db, `writes[${i}]`));
  const seen = new Map<string, number>();
  writes.forEach((w, i) => {
    const first = seen.get(w.path);
    if (first !== undefined) {
      throw invalidArgument(
        `writes[${i}] and writes[${first}] both write to ${databaseName(db)}/documents/${w.path}; batchWrite allows one write per document.`,
      );
    }
    seen.set(w.path, i);
  });
  return { writes };
}

export function beginTransactionRequest(json: unknown, db: DatabaseRef): TransactionOptions {
  const msg = message(json, "", ["database", "options"]);
  checkDatabase(msg.database, db, "database");
  return msg.options === undefined ? { readOnly: false } : transactionOptions(msg.options, "options");
}

export function rollbackRequest(json: unknown, db: DatabaseRef): string {
  const msg = message(json, "", ["database", "transaction"]);
  checkDatabase(msg.database, db, "database");
  if (msg.transaction === undefined) throw invalidArgument("'transaction' is required.");
  return bytes(msg.transaction, "transaction");
}

/** The largest page any listing returns, whatever `page_size` asks for. */
const MAX_PAGE = 10_000;

/** `page_size`: absent or 0 means `fallback`; negative is rejected; larger than MAX_PAGE is capped. */
export function pageSize(json: unknown, fallback: number): number {
  const n = json === undefined ? 0 : int32(json, "page_size");
  if (n < 0) throw invalidArgument("page_size must not be negative.");
  return n === 0 ? fallback : Math.min(n, MAX_PAGE);
}

/** Checks a body's optional `parent` against the parent path taken from the URL. */
export function checkParent(value: unknown, db: DatabaseRef, parent: string): void {
  if (value !== undefined && parseParentName(str(value, "parent"), db, "parent") !== parent) {
    throw invalidArgument(`'parent' is "${String(value)}", which does not match the URL.`);
  }
}

export function listCollectionIdsRequest(
  json: unknown,
  db: DatabaseRef,
  parent: string,
): Omit<ListCollectionIdsRequest, "caller"> {
  const msg = message(json, "", ["parent", "pageSize", "pageToken", "readTime"]);
  checkParent(msg.parent, db, parent);
  const after =
    msg.pageToken === undefined || msg.pageToken === "" ? undefined : decodePageToken(str(msg.pageToken, "page_token"));
  // The token is the last collection id of the previous page: a forged one is checked as an id.
  if (after !== undefined) {
    const forged = () => invalidArgument("page_token is not a token this server issued.");
    if (typeof after !== "string") throw forged();
    try {
      validateId(after, "collection", "page_token");
    } catch {
      throw forged();
    }
  }
  return {
    parent,
    pageSize: pageSize(msg.pageSize, MAX_PAGE),
    after,
    consistency: consistency(msg, "", false),
  };
}

/** Page tokens are opaque to clients: base64url of a small JSON value. */
export function encodePageToken(value: unknown): string {
  return btoa(binaryString(new TextEncoder().encode(JSON.stringify(value))))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

export function decodePageToken(token: string): unknown {
  try {
    const bin = atob(token.replace(/-/g, "+").replace(/_/g, "/"));
    return JSON.parse(new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0))));
  } catch {
    throw invalidArgument(`page_token "${token.slice(0, 40)}" is not a token this server issued.`);
  }
}
