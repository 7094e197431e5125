/**
 * The database-level methods: batchGet (streamed as a JSON array), commit, batchWrite,
 * beginTransaction, rollback and listCollectionIds.
 */

import type { Context } from "hono";
import { type BatchGetEntry, followingPages } from "../../durable-objects/database/api.js";
import { caller } from "../middleware/auth.js";
import { databaseName, documentName } from "../model/path.js";
import {
  batchGetRequest,
  batchWriteRequest,
  beginTransactionRequest,
  commitRequest,
  encodePageToken,
  listCollectionIdsRequest,
  rollbackRequest,
} from "../validation/requests.js";
import { readJson } from "./body.js";
import { call } from "./call.js";
import type { AppEnv } from "./context.js";
import { jsonResponse, renderDocument, renderWriteResult, ts } from "./render.js";
import { jsonArrayResponse, PAGE_BYTES } from "./stream.js";

type C = Context<AppEnv>;

/**
 * POST …/documents:batchGet → `[{found|missing, readTime[, transaction]}, …]`, streamed: the
 * Durable Object answers about `PAGE_BYTES` at a time, every page at the first one's snapshot.
 */
export async function batchGet(c: C): Promise<Response> {
  const { db } = c.var.target;
  const req = batchGetRequest(await readJson(c), db);
  const first = await call(c, (s) => s.batchGet({ ...req, caller: caller(c), maxBytes: PAGE_BYTES }));
  const readTime = `"readTime":"${ts(first.readTime)}"`;
  const render = (e: BatchGetEntry) =>
    "found" in e
      ? `{"found":${renderDocument(db, e.found)},${readTime}}`
      : `{"missing":${JSON.stringify(documentName(db, e.missing))},${readTime}}`;
  const items = first.entries.map(render);
  if (first.transaction !== undefined) {
    // The new transaction rides on the first element, even when no document was asked for.
    const tx = `"transaction":${JSON.stringify(first.transaction)}`;
    items[0] = items.length === 0 ? `{${tx},${readTime}}` : `{${tx},${(items[0] as string).slice(1)}`;
  }
  if (first.next === undefined) return jsonArrayResponse(items, null);
  const consistency = followingPages(req.consistency, first);
  async function* later() {
    for (let done = first.next as number; done < req.paths.length; ) {
      const paths = req.paths.slice(done);
      const page = await call(c, (s) =>
        s.batchGet({ ...req, caller: caller(c), paths, consistency, maxBytes: PAGE_BYTES }),
      );
      done += page.next ?? page.entries.length;
      yield page.entries.map(render);
    }
  }
  return jsonArrayResponse(items, later());
}

/** POST …/documents:commit → `{writeResults, commitTime}`. */
export async function commit(c: C): Promise<Response> {
  const { db } = c.var.target;
  const req = commitRequest(await readJson(c), db);
  const res = await call(c, (s) => s.commit(databaseName(db), { ...req, caller: caller(c) }));
  const results = res.writeResults.map(renderWriteResult).join(",");
  return jsonResponse(`{"writeResults":[${results}],"commitTime":"${ts(res.commitTime)}"}`);
}

/** POST …/documents:batchWrite → `{writeResults, status}` (non-atomic, one status per write). */
export async function batchWrite(c: C): Promise<Response> {
  const { db } = c.var.target;
  const req = batchWriteRequest(await readJson(c), db);
  const res = await call(c, (s) => s.batchWrite(databaseName(db), { ...req, caller: caller(c) }));
  const results = res.writeResults.map(renderWriteResult).join(",");
  // google.rpc.Status has no `status` name field: {code, message} only, code 0 spelled out.
  const status = res.status.map((s) => JSON.stringify(s.code === 0 ? { code: 0 } : s)).join(",");
  return jsonResponse(`{"writeResults":[${results}],"status":[${status}]}`);
}

/** POST …/documents:beginTransaction → `{transaction}`. */
export async function beginTransaction(c: C): Promise<Response> {
  const { db } = c.var.target;
  const options = beginTransactionRequest(await readJson(c), db);
  const res = await call(c, (s) => s.beginTransaction(options));
  return jsonResponse(JSON.stringify({ transaction: res.transaction }));
}

/** POST …/documents:rollback → `{}`. */
export async function rollback(c: C): Promise<Response> {
  const { db } = c.var.target;
  const transaction = rollbackRequest(await readJson(c), db);
  await call(c, (s) => s.rollback(transaction));
  return jsonResponse("{}");
}

/** POST …/documents[/{doc}]:listCollectionIds → `{collectionIds, nextPageToken?}`. */
export async function listCollectionIds(c: C): Promise<Response> {
  const { db, segments } = c.var.target;
  const req = listCollectionIdsRequest(await readJson(c), db, segments.join("/"));
  const res = await call(c, (s) => s.listCollectionIds({ ...req, caller: caller(c) }));
  const body: { collectionIds: string[]; nextPageToken?: string } = { collectionIds: res.collectionIds };
  if (res.next !== undefined) body.nextPageToken = encodePageToken(res.next);
  return jsonResponse(JSON.stringify(body));
}
