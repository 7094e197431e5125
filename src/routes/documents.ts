/**
 * The single-document REST methods: get, list, createDocument, patch, delete. Each turns into a
 * batchGet, list or commit on the database's Durable Object.
 */

import type { Context } from "hono";
import type { OrderSpec } from "../../durable-objects/database/api.js";
import { invalidArgument, notFound } from "../errors/index.js";
import { caller } from "../middleware/auth.js";
import { parseFieldPath } from "../model/field-path.js";
import { databaseName, documentName, parseDocumentName, validateId, validatePathSegments } from "../model/path.js";
import type { Fields, Write } from "../model/types.js";
import { checkKindless, normalizeOrderBy } from "../query/normalize.js";
import { bool, list, message, str } from "../validation/proto-json.js";
import { queryObject } from "../validation/query-params.js";
import { consistency, decodePageToken, encodePageToken, pageSize } from "../validation/requests.js";
import { decodeFields, decodeValue } from "../validation/values.js";
import { documentMask, precondition, writeFieldPath } from "../validation/writes.js";
import { readJson } from "./body.js";
import { call } from "./call.js";
import type { AppEnv } from "./context.js";
import { jsonResponse, renderDocument } from "./render.js";

type C = Context<AppEnv>;

const DEFAULT_PAGE_SIZE = 300;

function query(c: C, fields: string[]): Record<string, unknown> {
  return message(queryObject(new URL(c.req.url).searchParams), "", fields);
}

/** GET …/documents/{collection}/{id}: `mask`, `transaction`, `readTime`. */
export async function getDocument(c: C): Promise<Response> {
  const { db, segments } = c.var.target;
  const q = query(c, ["mask", "transaction", "readTime"]);
  const path = segments.join("/");
  const res = await call(c, (s) =>
    s.batchGet({
      caller: caller(c),
      paths: [path],
      mask: q.mask === undefined ? undefined : documentMask(q.mask, "mask"),
      consistency: consistency(q, "", false),
    }),
  );
  const entry = res.entries[0];
  if (!entry || !("found" in entry)) throw notFound(`Document "${documentName(db, path)}" not found.`);
  return jsonResponse(renderDocument(db, entry.found));
}

function parseOrderBy(text: string): OrderSpec[] {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "")
    .map((part) => {
      const m = /^(.+?)(?:\s+(asc|desc))?$/i.exec(part);
      if (!m) throw invalidArgument(`order_by "${text}" is not valid; use e.g. "priority desc, __name__".`);
      const field = parseFieldPath((m[1] as string).trim(), "order_by");
      return { field, descending: (m[2] ?? "asc").toLowerCase() === "desc" };
    });
}

/** GET …/documents[/{doc}]/{collection}: pageSize, pageToken, orderBy, mask, showMissing, readTime/transaction. */
export async function listDocuments(c: C): Promise<Response> {
  const { db, segments } = c.var.target;
  const q = query(c, ["pageSize", "pageToken", "orderBy", "mask", "transaction", "readTime", "showMissing"]);
  const collectionId = segments.length % 2 === 1 ? (segments[segments.length - 1] as string) : "";
  const parent = (collectionId === "" ? segments : segments.slice(0, -1)).join("/");
  const showMissing = q.showMissing === undefined ? false : bool(q.showMissing, "show_missing");
  const orderBy = q.orderBy === undefined ? [] : parseOrderBy(str(q.orderBy, "order_by"));
  if (showMissing && orderBy.length > 0) {
    throw invalidArgument("show_missing cannot be combined with order_by.");
  }
  // A listing without a collection id is a kindless query: name order, ascending, only.
  if (collectionId === "")
    checkKindless({
      collectionId: null,
      orderBy: normalizeOrderBy(
        orderBy.map((o) => ({ field: [...o.field], descending: o.descending })),
        undefined,
      ),
    });
  const token =
    q.pageToken === undefined || q.pageToken === "" ? undefined : decodePageToken(str(q.pageToken, "page_token"));
  const fieldOrders = orderBy.filter((o) => !(o.field.length === 1 && o.field[0] === "__name__")).length;
  const after = token === undefined ? undefined : pageCursor(token, fieldOrders);
  const res = await call(c, (s) =>
    s.list(databaseName(db), {
      caller: caller(c),
      parent,
      collectionId,
      pageSize: pageSize(q.pageSize, DEFAULT_PAGE_SIZE),
      after,
      orderBy,
      mask: q.mask === undefined ? undefined : documentMask(q.mask, "mask"),
      showMissing,
      consistency: consistency(q, "", false),
    }),
  );
  const docs = res.documents.map((d) =>
    "missing" in d ? `{"name":${JSON.stringify(documentName(db, d.path))}}` : renderDocument(db, d),
  );
  const next = res.next ? `,"nextPageToken":${JSON.stringify(encodePageToken(res.next))}` : "";
  return jsonResponse(`{"documents":[${docs.join(",")}]${next}}`);
}

/**
 * Checks a decoded `documents.list` page token. Tokens are opaque to clients but only base64 JSON,
 * so a forged one is checked like any input: a document path, and exactly one value per field
 * order (none when the listing is in name order).
 */
function pageCursor(token: unknown, fieldOrders: number): { path: string; values?: string } {
  const forged = () => invalidArgument("page_token is not a token this server issued.");
  if (typeof token !== "object" || token === null || Array.isArray(token)) throw forged();
  const t = token as { path?: unknown; values?: unknown };
  if (typeof t.path !== "string") throw forged();
  const segments = t.path.split("/");
  try {
    if (segments.length % 2 !== 0) throw forged();
    validatePathSegments(segments, t.path, "page_token");
  } catch {
    throw forged();
  }
  if (fieldOrders === 0) {
    if (t.values !== undefined) throw invalidArgument("page_token does not match the request's order_by.");
    return { path: t.path };
  }
  if (typeof t.values !== "string") throw invalidArgument("page_token does not match the request's order_by.");
  let raw: unknown;
  try {
    raw = JSON.parse(t.values);
  } catch {
    throw forged();
  }
  if (!Array.isArray(raw) || raw.length !== fieldOrders) {
    throw invalidArgument("page_token does not match the request's order_by.");
  }
  const values = raw.map((v) => {
    try {
      return decodeValue(v, "page_token");
    } catch {
      throw forged();
    }
  });
  return { path: t.path, values: JSON.stringify(values) };
}

const ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A 20-character random id, as the SDKs generate for `add()`. */
function randomId(): string {
  let id = "";
  while (id.length < 20) {
    // 62 * 4 = 248: rejecting bytes ≥ 248 keeps every character equally likely.
    for (const b of crypto.getRandomValues(new Uint8Array(32)))
      if (b < 248 && id.length < 20) id += ID_ALPHABET[b % 62];
  }
  return id;
}

/** Runs one write through commit and answers with the written document (masked by `mask`). */
async function writeAndRead(c: C, w: Write, mask: unknown): Promise<Response> {
  const { db } = c.var.target;
  const readMask = mask === undefined ? undefined : documentMask(mask, "mask");
  const res = await call(c, (s) =>
    s.commit(databaseName(db), { caller: caller(c), writes: [w], readBack: { mask: readMask } }),
  );
  if (!res.document) throw notFound(`Document "${documentName(db, w.path)}" not found.`);
  return jsonResponse(renderDocument(db, res.document));
}

function documentBody(json: unknown): { fields: Fields; name?: string } {
  const msg = message(json, "document", ["name", "fields", "createTime", "updateTime"]);
  const fields = decodeFields(msg.fields ?? {}, "document.fields");
  return msg.name === undefined ? { fields } : { fields, name: str(msg.name, "document.name") };
}

/** POST …/documents[/{doc}]/{collection}?documentId=…: create, failing when the id is taken. */
export async function createDocument(c: C): Promise<Response> {
  const { db, segments } = c.var.target;
  const q = query(c, ["documentId", "mask"]);
  const body = documentBody(await readJson(c));
  let id: string;
  if (q.documentId === undefined || q.documentId === "") id = randomId();
  else {
    id = str(q.documentId, "document_id");
    validateId(id, "document", "document_id");
  }
  const path = parseDocumentName(documentName(db, [...segments, id].join("/")), db, "name");
  return writeAndRead(
    c,
    { kind: "update", path, fields: body.fields, transforms: [], precondition: { exists: false } },
    q.mask,
  );
}

/** PATCH …/documents/{doc}: updateMask, mask, currentDocument. Creates the document when absent. */
export async function patchDocument(c: C): Promise<Response> {
  const { db, segments } = c.var.target;
  const q = query(c, ["updateMask", "mask", "currentDocument"]);
  const path = parseDocumentName(documentName(db, segments.join("/")), db, "name");
  const body = documentBody(await readJson(c));
  if (body.name !== undefined && body.name !== documentName(db, path)) {
    throw invalidArgument(`document.name "${body.name}" does not match the URL (${documentName(db, path)}).`);
  }
  const mask =
    q.updateMask === undefined
      ? undefined
      : list(message(q.updateMask, "update_mask", ["fieldPaths"]).fieldPaths, "update_mask.field_paths").map((p, i) =>
          writeFieldPath(p, `update_mask.field_paths[${i}]`),
        );
  const pre = q.currentDocument === undefined ? undefined : precondition(q.currentDocument, "current_document");
  return writeAndRead(
    c,
    { kind: "update", path, fields: body.fields, mask, transforms: [], precondition: pre },
    q.mask,
  );
}

/** DELETE …/documents/{doc}: currentDocument. Answers `{}`. */
export async function deleteDocument(c: C): Promise<Response> {
  const { db, segments } = c.var.target;
  const q = query(c, ["currentDocument"]);
  const path = parseDocumentName(documentName(db, segments.join("/")), db, "name");
  const pre = q.currentDocument === undefined ? undefined : precondition(q.currentDocument, "current_document");
  await call(c, (s) =>
    s.commit(databaseName(db), { caller: caller(c), writes: [{ kind: "delete", path, precondition: pre }] }),
  );
  return jsonResponse("{}");
}
