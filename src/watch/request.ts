/**
 * Decoding `ListenRequest` (google/firestore/v1/firestore.proto) into the watch engine's typed
 * model: one `add` (a `Target`) or one `remove` per request. Every rejection is a FirestoreError
 * naming the bad field, like the REST decoders.
 */
import { invalidArgument } from "../errors/index.js";
import { type DatabaseRef, databaseName, parseDocumentName, parseParentName } from "../model/path.js";
import { timestampToMicros } from "../model/timestamp.js";
import type { Micros } from "../model/types.js";
import { decodeStructuredQuery } from "../query/normalize.js";
import type { NormalizedQuery } from "../query/types.js";
import { bool, bytes, int32, list, message, oneof, str } from "../validation/proto-json.js";
import { decodeResumeToken } from "./tokens.js";

/** What a target watches: named documents, or a query's result. */
export type TargetSpec = { kind: "documents"; paths: string[] } | { kind: "query"; query: NormalizedQuery };

/** `ListenRequest.add_target`, decoded. */
export interface AddTarget {
  /** The client's id; 0 asks the server to assign one. */
  targetId: number;
  spec: TargetSpec;
  /** Resume after this read time (from `resume_token` or `read_time`): send only what changed. */
  resumeAfter?: Micros;
  /** Remove the target once it is current and consistent. */
  once: boolean;
  /** How many documents the client had for it (asks for an existence filter). */
  expectedCount?: number;
}

export type ListenAction = { kind: "add"; target: AddTarget } | { kind: "remove"; targetId: number };

/** The most documents one `documents` target may name (Firestore's batchGet bound). */
export const MAX_TARGET_DOCUMENTS = 1000;

function decodeTarget(json: unknown, db: DatabaseRef): AddTarget {
  const where = "add_target";
  const msg = message(json, where, [
    "query",
    "documents",
    "resumeToken",
    "readTime",
    "targetId",
    "once",
    "expectedCount",
  ]);
  const which = oneof(msg, ["query", "documents"], where);
  let spec: TargetSpec;
  if (which === "documents") {
    const docs = message(msg.documents, `${where}.documents`, ["documents"]);
    const names = list(docs.documents ?? [], `${where}.documents.documents`);
    if (names.length === 0) throw invalidArgument(`${where}.documents: a documents target needs at least one name.`);
    if (names.length > MAX_TARGET_DOCUMENTS) {
      throw invalidArgument(`${where}.documents: at most ${MAX_TARGET_DOCUMENTS} documents per target.`);
    }
    const paths = names.map((n, i) => parseDocumentName(n, db, `${where}.documents.documents[${i}]`));
    spec = { kind: "documents", paths: [...new Set(paths)] };
  } else {
    const q = message(msg.query, `${where}.query`, ["parent", "structuredQuery"]);
    const parentName = str(q.parent ?? `${databaseName(db)}/documents`, `${where}.query.parent`);
    const parent = parseParentName(parentName, db, `${where}.query.parent`);
    if (q.structuredQuery === undefined) throw invalidArgument(`${where}.query needs a structured_query.`);
    const query = decodeStructuredQuery(q.structuredQuery, db, parent, `${where}.query.structured_query`);
    if (query.findNearest)
      throw invalidArgument(`${where}.query: vector (find_nearest) queries cannot be listened to.`);
    if (query.projection !== undefined) {
      throw invalidArgument(`${where}.query: a listened query returns whole documents; select is not supported.`);
    }
    spec = { kind: "query", query };
  }
  const targetId = msg.targetId === undefined ? 0 : int32(msg.targetId, `${where}.target_id`);
  if (targetId < 0) throw invalidArgument(`${where}.target_id must not be negative, got ${targetId}.`);
  const out: AddTarget = { targetId, spec, once: msg.once === undefined ? false : bool(msg.once, `${where}.once`) };
  const resume = oneof(msg, ["resumeToken", "readTime"], where, true);
  if (resume === "resumeToken") {
    const token = bytes(msg.resumeToken, `${where}.resume_token`);
    if (token !== "") out.resumeAfter = decodeResumeToken(token, `${where}.resume_token`);
  } else if (resume === "readTime") {
    out.resumeAfter = timestampToMicros(msg.readTime, `${where}.read_time`);
  }
  if (msg.expectedCount !== undefined) {
    // google.protobuf.Int32Value: a number, or `{value}` from gRPC-style JSON.
    const raw = msg.expectedCount;
    const value =
      typeof raw === "object" && raw !== null ? message(raw, `${where}.expected_count`, ["value"]).value : raw;
    out.expectedCount = int32(value ?? 0, `${where}.expected_count`);
  }
  return out;
}

/** Decodes one ListenRequest of the stream of database `db`. */
export function decodeListenRequest(json: unknown, db: DatabaseRef): ListenAction {
  const msg = message(json, "", ["database", "addTarget", "removeTarget", "labels"]);
  if (msg.database !== undefined && msg.database !== databaseName(db)) {
    throw invalidArgument(
      `database ${JSON.stringify(msg.database)} does not match this stream's database "${databaseName(db)}".`,
    );
  }
  const which = oneof(msg, ["addTarget", "removeTarget"], "");
  if (which === "removeTarget") return { kind: "remove", targetId: int32(msg.removeTarget, "remove_target") };
  return { kind: "add", target: decodeTarget(msg.addTarget, db) };
}
