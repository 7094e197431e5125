/**
 * `POST /emulator/v1/projects/{p}/databases/{d}:importDocuments` (flarestore's own): a batch of
 * documents as `flarestore export` writes them, one per line there, each with its own times.
 */
import type { ImportedDocument } from "../../durable-objects/database/api.js";
import { invalidArgument } from "../errors/index.js";
import type { DatabaseRef } from "../model/path.js";
import { timestampToMicros } from "../model/timestamp.js";
import { bool, list, message } from "./proto-json.js";
import { documentInput } from "./writes.js";

/** The most documents one import request may carry (as a commit's writes). */
export const MAX_IMPORT_DOCUMENTS = 500;

/** An exported document: `name`, `fields`, `createTime` and `updateTime`, all four required but fields. */
export function importedDocument(json: unknown, db: DatabaseRef, where: string): ImportedDocument {
  const { path, fields } = documentInput(json, db, where);
  const msg = message(json, where, ["name", "fields", "createTime", "updateTime"]);
  const time = (field: "createTime" | "updateTime") => {
    if (msg[field] === undefined) throw invalidArgument(`'${where}.${field}' is required: an import keeps it.`);
    const us = timestampToMicros(msg[field], `${where}.${field}`);
    if (us <= 0) throw invalidArgument(`'${where}.${field}' must be after 1970-01-01T00:00:00Z.`);
    return us;
  };
  const createTime = time("createTime");
  const updateTime = time("updateTime");
  if (createTime > updateTime) {
    throw invalidArgument(`'${where}.createTime' is after its updateTime: a document is created before it is updated.`);
  }
  return { path, fields, createTime, updateTime };
}

/**
 * `{"documents": [...], "validateOnly"?}`: at most MAX_IMPORT_DOCUMENTS, each document once.
 * `validateOnly`: check them and write nothing (`flarestore import` checks a whole file first).
 */
export function importRequest(
  json: unknown,
  db: DatabaseRef,
): { documents: ImportedDocument[]; validateOnly: boolean } {
  const msg = message(json, "request", ["documents", "validateOnly"]);
  const validateOnly = msg.validateOnly === undefined ? false : bool(msg.validateOnly, "validateOnly");
  const items = list(msg.documents ?? [], "documents");
  if (items.length > MAX_IMPORT_DOCUMENTS) {
    throw invalidArgument(
      `An import request may carry at most ${MAX_IMPORT_DOCUMENTS} documents, not ${items.length}.`,
    );
  }
  const seen = new Set<string>();
  const documents = items.map((item, i) => {
    const doc = importedDocument(item, db, `documents[${i}]`);
    if (seen.has(doc.path)) throw invalidArgument(`'documents[${i}]' names ${doc.path} again: each document once.`);
    seen.add(doc.path);
    return doc;
  });
  return { documents, validateOnly };
}
