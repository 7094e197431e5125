/**
 * `Write`, `DocumentTransform`, `Precondition` and `DocumentMask` from proto3 JSON into the
 * validated model of `src/model/types.ts`.
 */
import { invalidArgument } from "../errors/index.js";
import { parseFieldPath } from "../model/field-path.js";
import { type DatabaseRef, parseDocumentName } from "../model/path.js";
import { timestampToMicros } from "../model/timestamp.js";
import { requireNumericOperand } from "../model/transforms.js";
import type { FieldPathSegments, FieldTransform, Precondition, Value, Write } from "../model/types.js";
import { bool, enumValue, list, message, oneof, str } from "./proto-json.js";
import { decodeFields, decodeValue, MAX_VALUE_DEPTH, validateFieldName } from "./values.js";

/** Firestore: at most 500 field transforms per document per commit. */
const MAX_TRANSFORMS = 500;

const WRITE_FIELDS = ["update", "delete", "transform", "verify", "updateMask", "updateTransforms", "currentDocument"];
const DOCUMENT_FIELDS = ["name", "fields", "createTime", "updateTime"];
const TRANSFORM_FIELDS = [
  "fieldPath",
  "setToServerValue",
  "increment",
  "maximum",
  "minimum",
  "appendMissingElements",
  "removeAllFromArray",
];
const TRANSFORM_KINDS = TRANSFORM_FIELDS.slice(1);

/**
 * Parses a field path a write refers to, rejecting reserved names (`__x__`) in any segment and
 * paths deeper than the nesting limit (a path of n segments puts its value inside n-1 maps).
 */
export function writeFieldPath(text: unknown, where: string): FieldPathSegments {
  const segments = parseFieldPath(str(text, where), where);
  for (const seg of segments) validateFieldName(seg, where);
  if (segments.length > MAX_VALUE_DEPTH + 1) {
    throw invalidArgument(`Field path at '${where}' is nested more than ${MAX_VALUE_DEPTH} levels deep.`);
  }
  return segments;
}

/** `DocumentMask` → field paths (read masks: any well-formed path, including `__name__`). */
export function documentMask(json: unknown, where: string): FieldPathSegments[] {
  const msg = message(json, where, ["fieldPaths"]);
  return list(msg.fieldPaths, `${where}.field_paths`).map((p, i) =>
    parseFieldPath(str(p, `${where}.field_paths[${i}]`), `${where}.field_paths[${i}]`),
  );
}

export function precondition(json: unknown, where: string): Precondition | undefined {
  const msg = message(json, where, ["exists", "updateTime"]);
  const which = oneof(msg, ["exists", "updateTime"], where, true);
  if (which === "exists") return { exists: bool(msg.exists, `${where}.exists`) };
  if (which === "updateTime") return { updateTime: timestampToMicros(msg.updateTime, `${where}.update_time`) };
  return undefined;
}

function fieldTransform(json: unknown, where: string): FieldTransform {
  const msg = message(json, where, TRANSFORM_FIELDS);
  if (msg.fieldPath === undefined) throw invalidArgument(`A field transform needs a field_path at '${where}'.`);
  const field = writeFieldPath(msg.fieldPath, `${where}.field_path`);
  const kind = oneof(msg, TRANSFORM_KINDS, where) as string;
  const w = `${where}.${kind}`;
  switch (kind) {
    case "setToServerValue": {
      const v = enumValue(msg.setToServerValue, w, "ServerValue", { SERVER_VALUE_UNSPECIFIED: 0, REQUEST_TIME: 1 });
      if (v !== "REQUEST_TIME") throw invalidArgument(`set_to_server_value must be REQUEST_TIME at '${w}'.`);
      return { field, kind: "serverTimestamp" };
    }
    case "increment":
    case "maximum":
    case "minimum": {
      const operand = decodeValue(msg[kind], w, field.length - 1);
      requireNumericOperand(operand, w);
      return { field, kind, operand };
    }
    default: {
      // Decoded as one array value placed at the field: this applies the no-nested-arrays rule and
      // counts the field path's depth towards the nesting limit.
      const value = decodeValue({ arrayValue: msg[kind] }, w, field.length - 1);
      const elements = "arrayValue" in value ? value.arrayValue.values : [];
      return { field, kind: kind as "appendMissingElements" | "removeAllFromArray", elements };
    }
  }
}

function fieldTransforms(json: unknown, where: string): FieldTransform[] {
  const transforms = list(json, where).map((t, i) => fieldTransform(t, `${where}[${i}]`));
  if (transforms.length > MAX_TRANSFORMS) {
    throw invalidArgument(
      `A write may have at most ${MAX_TRANSFORMS} field transforms ('${where}' has ${transforms.length}).`,
    );
  }
  // Two transforms on one field (or on a field and its parent) are ambiguous; Firestore rejects them.
  const keys = transforms.map((t) => t.field);
  for (let i = 0; i < keys.length; i++) {
    for (let j = i + 1; j < keys.length; j++) {
      if (
        isPrefix(keys[i] as FieldPathSegments, keys[j] as FieldPathSegments) ||
        isPrefix(keys[j] as FieldPathSegments, keys[i] as FieldPathSegments)
      ) {
        throw invalidArgument(
          `Field transforms at '${where}[${i}]' and '${where}[${j}]' both affect the field '${(keys[i] as FieldPathSegments).join(".")}'.`,
        );
      }
    }
  }
  return transforms;
}

function isPrefix(a: FieldPathSegments, b: FieldPathSegments): boolean {
  return a.length <= b.length && a.every((s, i) => s === b[i]);
}

/** Decodes a `Document` used as write input: name and fields. */
export function documentInput(
  json: unknown,
  db: DatabaseRef,
  where: string,
): { path: string; fields: Record<string, Value> } {
  const msg = message(json, where, DOCUMENT_FIELDS);
  if (msg.name === undefined) throw invalidArgument(`A document name is required at '${where}.name'.`);
  const path = parseDocumentName(msg.name, db, `${where}.name`);
  return { path, fields: decodeFields(msg.fields ?? {}, `${where}.fields`) };
}

/** Decodes one `Write`. */
export function write(json: unknown, db: DatabaseRef, where: string): Write {
  const msg = message(json, where, WRITE_FIELDS);
  const op = oneof(msg, ["update", "delete", "transform", "verify"], where);
  const pre =
    msg.currentDocument === undefined ? undefined : precondition(msg.currentDocument, `${where}.current_document`);
  if (op !== "update" && (msg.updateMask !== undefined || msg.updateTransforms !== undefined)) {
    throw invalidArgument(`update_mask and update_transforms can only be used with an update write at '${where}'.`);
  }
  switch (op) {
    case "update": {
      const { path, fields } = documentInput(msg.update, db, `${where}.update`);
      const mask =
        msg.updateMask === undefined
          ? undefined
          : list(
              message(msg.updateMask, `${where}.update_mask`, ["fieldPaths"]).fieldPaths,
              `${where}.update_mask.field_paths`,
            ).map((p, i) => writeFieldPath(p, `${where}.update_mask.field_paths[${i}]`));
      const transforms = fieldTransforms(msg.updateTransforms, `${where}.update_transforms`);
      return { kind: "update", path, fields, mask, transforms, precondition: pre };
    }
    case "transform": {
      const t = message(msg.transform, `${where}.transform`, ["document", "fieldTransforms"]);
      if (t.document === undefined)
        throw invalidArgument(`A document name is required at '${where}.transform.document'.`);
      const path = parseDocumentName(t.document, db, `${where}.transform.document`);
      const transforms = fieldTransforms(t.fieldTransforms, `${where}.transform.field_transforms`);
      return { kind: "update", path, fields: {}, mask: [], transforms, precondition: pre };
    }
    case "delete":
      return { kind: "delete", path: parseDocumentName(msg.delete, db, `${where}.delete`), precondition: pre };
    default:
      return { kind: "verify", path: parseDocumentName(msg.verify, db, `${where}.verify`), precondition: pre };
  }
}
