/**
 * A gRPC request as the REST request Google's HTTP mapping makes of it (the `google.api.http`
 * option of each method in google/firestore/v1/firestore.proto, AIP-127): path variables filled
 * from the message's fields, the body from `body` ("*": every field not in the path), and any other
 * field as query parameters (dotted names for nested messages, repeated keys for lists). The REST
 * routes then apply every rule in one place. Pure: no I/O.
 */
import { type DescMethod, getOption, hasOption, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { invalidArgument, unimplemented } from "../errors/index.js";
import { parseDocumentName, parseParentName } from "../model/path.js";
import { camel } from "../validation/proto-json.js";
import { http } from "./gen/google/api/annotations_pb.js";

/**
 * Path fields whose REST paths differ only in their segment count (a document's GET and a
 * collection's listing): checked here, so that a collection name given as a document's reaches
 * no other method.
 */
const NAME_KINDS: Record<string, "document" | "parent"> = {
  "GetDocument.name": "document",
  "DeleteDocument.name": "document",
  "UpdateDocument.document.name": "document",
  "ListDocuments.parent": "parent",
  "CreateDocument.parent": "parent",
};
const DATABASE = /^projects\/([^/]+)\/databases\/([^/]+)(?:\/|$)/;

export interface RestRequest {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  /** Path and query, e.g. `/v1/projects/p/databases/(default)/documents/c/d?mask.fieldPaths=a`. */
  url: string;
  body?: string;
}

/** The REST request for `method` called with `message` (its proto3 JSON form). */
export function restRequest(method: DescMethod, message: JsonObject): RestRequest {
  if (!hasOption(method, http)) throw unimplemented(`${method.name} has no REST mapping.`);
  const rule = getOption(method, http);
  const { case: verb, value: template } = rule.pattern;
  if (verb !== "get" && verb !== "post" && verb !== "patch" && verb !== "delete") {
    throw unimplemented(`${method.name} has no REST mapping.`);
  }
  const rest: JsonObject = { ...message };
  const path = template.replace(/\{([a-z_.]+)(?:=[^}]*)?\}/g, (_, field: string) => {
    const value = takePathField(method, rest, field);
    if (value === undefined) throw invalidArgument(`${method.name}: ${field} is required.`);
    const kind = NAME_KINDS[`${method.name}.${field}`];
    if (kind !== undefined) checkName(value, kind, `${method.name}.${field}`);
    return value.split("/").map(encodeURIComponent).join("/");
  });
  let body: string | undefined;
  if (rule.body === "*") {
    body = JSON.stringify(rest);
    for (const k of Object.keys(rest)) delete rest[k];
  } else if (rule.body !== "") {
    const name = jsonName(method, rule.body);
    body = JSON.stringify(rest[name] ?? {});
    delete rest[name];
  }
  const query = new URLSearchParams();
  flatten(rest, "", query);
  const qs = query.toString();
  return { method: verb.toUpperCase() as RestRequest["method"], url: qs === "" ? path : `${path}?${qs}`, body };
}

/**
 * Takes a path field's value out of the message (a dotted path such as `document.name` stays in its
 * message, which is the body); undefined when absent or empty.
 */
function takePathField(method: DescMethod, message: JsonObject, field: string): string | undefined {
  const [first, ...more] = field.split(".");
  const name = jsonName(method, first as string);
  if (more.length === 0) {
    const value = message[name];
    delete message[name];
    return typeof value === "string" && value !== "" ? value : undefined;
  }
  let value: JsonValue | undefined = message[name];
  for (const part of more) {
    value = value !== null && typeof value === "object" && !Array.isArray(value) ? value[camel(part)] : undefined;
  }
  return typeof value === "string" && value !== "" ? value : undefined;
}

function checkName(value: string, kind: "document" | "parent", where: string): void {
  const m = DATABASE.exec(value);
  if (!m)
    throw invalidArgument(
      `${where}: "${value.slice(0, 200)}" is not a resource name under projects/{project}/databases/{database}.`,
    );
  const db = { project: m[1] as string, database: m[2] as string };
  if (kind === "document") parseDocumentName(value, db, where);
  else parseParentName(value, db, where);
}

/** A field's JSON name (`collection_id` → `collectionId`). */
function jsonName(method: DescMethod, protoName: string): string {
  return method.input.fields.find((f) => f.name === protoName)?.jsonName ?? protoName;
}

function flatten(value: JsonValue, prefix: string, out: URLSearchParams): void {
  if (value === null) return;
  if (Array.isArray(value)) {
    for (const v of value) flatten(v, prefix, out);
  } else if (typeof value === "object") {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix === "" ? k : `${prefix}.${k}`, out);
  } else {
    out.append(prefix, String(value));
  }
}
