/**
 * Dispatch of `/v1/…/documents…` requests to the handlers by HTTP method, path shape and custom
 * verb, following the google.firestore.v1 HTTP bindings.
 */
import type { Context } from "hono";
import { invalidArgument, notFound, unimplemented } from "../errors/index.js";
import { batchGet, batchWrite, beginTransaction, commit, listCollectionIds, rollback } from "./batch.js";
import type { AppEnv } from "./context.js";
import { createDocument, deleteDocument, getDocument, listDocuments, patchDocument } from "./documents.js";
import { partitionQuery, runAggregationQuery, runQuery } from "./query.js";

type Handler = (c: Context<AppEnv>) => Promise<Response>;

/** Custom methods on the database's documents root only. */
const ROOT_VERBS: Record<string, Handler> = { batchGet, commit, batchWrite, beginTransaction, rollback };
/** Custom methods on the root or on any document (the parent of a query or listing). */
const PARENT_VERBS: Record<string, Handler> = { listCollectionIds, runQuery, runAggregationQuery, partitionQuery };
/** Known methods not implemented yet: a clear UNIMPLEMENTED rather than a 404. */
const PENDING_VERBS = new Set(["executePipeline", "listen", "write"]);

export async function dispatch(c: Context<AppEnv>): Promise<Response> {
  const { segments, verb } = c.var.target;
  const method = c.req.method;
  const n = segments.length;
  const isDocument = n > 0 && n % 2 === 0;
  if (verb !== undefined) {
    const rootHandler = ROOT_VERBS[verb];
    if (rootHandler) {
      if (n !== 0)
        throw invalidArgument(`:${verb} is a method of the database (…/documents:${verb}), not of a document.`);
      return rootHandler(c);
    }
    const parentHandler = PARENT_VERBS[verb];
    if (parentHandler) {
      if (n !== 0 && !isDocument) throw invalidArgument(`:${verb} needs the documents root or a document as parent.`);
      return parentHandler(c);
    }
    if (PENDING_VERBS.has(verb)) throw unimplemented(`${verb} is not implemented by this server yet.`);
    throw notFound(`Unknown method ":${verb.slice(0, 200)}".`);
  }
  switch (method) {
    case "GET":
      return isDocument ? getDocument(c) : listDocuments(c);
    case "POST":
      if (n % 2 === 1) return createDocument(c);
      break;
    case "PATCH":
      if (isDocument) return patchDocument(c);
      break;
    case "DELETE":
      if (isDocument) return deleteDocument(c);
      break;
  }
  throw notFound(
    `${method} is not supported on ${isDocument ? "a document" : "this path"} (${c.req.path.slice(0, 200)}).`,
  );
}
