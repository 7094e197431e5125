/**
 * Response rendering. Documents are spliced as strings: the stored fields JSON is already
 * canonical proto3 JSON, so the hot read path never parses and re-serialises it.
 */
import { type DatabaseRef, documentName } from "../model/path.js";
import { microsToTimestamp } from "../model/timestamp.js";
import type { Micros, StoredDocument, WriteResult } from "../model/types.js";

export function renderDocument(db: DatabaseRef, doc: StoredDocument): string {
  const name = JSON.stringify(documentName(db, doc.path));
  const fields = doc.fields === "{}" ? "" : `"fields":${doc.fields},`;
  return `{"name":${name},${fields}"createTime":"${microsToTimestamp(doc.createTime)}","updateTime":"${microsToTimestamp(doc.updateTime)}"}`;
}

export function ts(t: Micros): string {
  return microsToTimestamp(t);
}

/** JSON response from an already-serialised body. */
export function jsonResponse(body: string, status = 200): Response {
  return new Response(body, { status, headers: { "content-type": "application/json; charset=utf-8" } });
}

/** A WriteResult as proto3 JSON text. */
export function renderWriteResult(r: WriteResult): string {
  const parts: string[] = [];
  if (r.updateTime !== undefined) parts.push(`"updateTime":"${ts(r.updateTime)}"`);
  if (r.transformResults !== undefined) parts.push(`"transformResults":${JSON.stringify(r.transformResults)}`);
  return `{${parts.join(",")}}`;
}
