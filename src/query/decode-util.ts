/** Small proto3-JSON readers shared by the query decoders. */
import { invalidArgument } from "../errors/index.js";
import { parseFieldPath } from "../model/field-path.js";
import { int32, message, str } from "../validation/proto-json.js";

/** An INVALID_ARGUMENT naming the location and the problem. */
export function bad(where: string, detail: string): Error {
  return invalidArgument(`Invalid query at '${where}': ${detail}.`);
}

/** Decodes a `FieldReference` into segments (`__name__` stays `["__name__"]`). */
export function decodeFieldReference(json: unknown, where: string): string[] {
  const msg = message(json, where, ["fieldPath"]);
  if (msg.fieldPath === undefined || msg.fieldPath === "") throw bad(where, "a field reference needs a fieldPath");
  return parseFieldPath(str(msg.fieldPath, `${where}.fieldPath`), `${where}.fieldPath`);
}

/** Reads a `google.protobuf.Int32Value`: a bare number/string (proto3 JSON) or `{value}` (gRPC-style). */
export function int32Wrapper(json: unknown, where: string): number {
  if (typeof json === "object" && json !== null && !Array.isArray(json)) {
    const msg = message(json, where, ["value"]);
    return msg.value === undefined ? 0 : int32(msg.value, `${where}.value`);
  }
  return int32(json, where);
}
