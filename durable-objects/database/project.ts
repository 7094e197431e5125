/** Turning stored rows into response documents, applying a read mask (`DocumentMask`). */
import { projectFields } from "../../src/model/field-path.js";
import type { FieldPathSegments, Fields, StoredDocument } from "../../src/model/types.js";
import type { DocRow } from "./store.js";

/** A stored row as a response document; with a mask, only the masked fields are kept. */
export function projectRow(row: DocRow, mask: readonly FieldPathSegments[] | undefined): StoredDocument {
  if (mask === undefined) return row;
  const fields = projectFields(JSON.parse(row.fields) as Fields, mask as string[][]);
  return { ...row, fields: JSON.stringify(fields) };
}
