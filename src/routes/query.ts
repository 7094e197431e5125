/**
 * The query methods: runQuery and runAggregationQuery (streamed over REST as one JSON array) and
 * partitionQuery, under the documents root or any document (`…/documents/a/b:runQuery`).
 */

import type { Context } from "hono";
import { type ExplainMetrics, followingPages, type QueryPage } from "../../durable-objects/database/api.js";
import { invalidArgument } from "../errors/index.js";
import { caller } from "../middleware/auth.js";
import { databaseName, documentName } from "../model/path.js";
import type { StoredDocument } from "../model/types.js";
import { checkAggregatable, decodeAggregations } from "../query/aggregate.js";
import { decodeStructuredQuery } from "../query/normalize.js";
import { isKeyField, type NormalizedQuery } from "../query/types.js";
import { bool, int64Number, message, str } from "../validation/proto-json.js";
import { checkParent, consistency, decodePageToken, encodePageToken, pageSize } from "../validation/requests.js";
import { readJson } from "./body.js";
import { call } from "./call.js";
import type { AppEnv } from "./context.js";
import { jsonResponse, renderDocument, ts } from "./render.js";
import { jsonArrayResponse, PAGE_BYTES } from "./stream.js";

type C = Context<AppEnv>;

/** The first page of a query: as many documents as the Durable Object estimates fit. */
const FIRST_PAGE: QueryPage = { maxBytes: PAGE_BYTES, docs: 0 };

/** The parent from the URL, cross-checked with the body's `parent` when given. */
function parentOf(c: C, msg: Record<string, unknown>): string {
  const { db, segments } = c.var.target;
  const parent = segments.join("/");
  checkParent(msg.parent, db, parent);
  return parent;
}

function explainOptions(json: unknown): { analyze: boolean } | undefined {
  if (json === undefined) return undefined;
  const msg = message(json, "explain_options", ["analyze"]);
  return { analyze: msg.analyze === undefined ? false : bool(msg.analyze, "explain_options.analyze") };
}

/** `ExplainMetrics` as proto3 JSON (durations as "1.5s", int64 as strings). */
function explainJson(m: ExplainMetrics): Record<string, unknown> {
  const out: Record<string, unknown> = { planSummary: { indexesUsed: m.indexesUsed } };
  if (m.execution) {
    const e = m.execution;
    out.executionStats = {
      resultsReturned: String(e.resultsReturned),
      executionDuration: `${(e.durationMs / 1000).toFixed(6)}s`,
      readOperations: String(e.readOperations),
      debugStats: {
        index_entries_scanned: String(e.indexEntriesScanned),
        documents_scanned: String(e.documentsScanned),
        billing_details: {
          documents_billable: String(e.resultsReturned),
          index_entries_billable: "0",
          small_ops: "0",
          min_query_cost: e.resultsReturned === 0 ? "1" : "0",
        },
      },
    };
  }
  return out;
}

const RUN_QUERY_FIELDS = ["parent", "structuredQuery", "transaction", "newTransaction", "readTime", "explainOptions"];

/** POST …:runQuery → `[{document?, readTime, transaction?, skippedResults?, done?, explainMetrics?}, …]`. */
export async function runQuery(c: C): Promise<Response> {
  const { db } = c.var.target;
  const msg = message(await readJson(c), "", RUN_QUERY_FIELDS);
  const parent = parentOf(c, msg);
  if (msg.structuredQuery === undefined) throw invalidArgument("runQuery needs a 'structured_query'.");
  const query = decodeStructuredQuery(msg.structuredQuery, db, parent, "structured_query");
  const explain = explainOptions(msg.explainOptions);
  const database = databaseName(db);
  const base = { query, consistency: consistency(msg, ""), explain };
  const first = await call(c, (s) => s.runQuery(database, { ...base, caller: caller(c), page: FIRST_PAGE }));
  // A plan-only explain answers no snapshot: the admin SDK builds one whenever `readTime` is set.
  const planOnly = explain !== undefined && !explain.analyze;
  const readTime = planOnly ? "" : `"readTime":"${ts(first.readTime)}"`;
  const render = (docs: StoredDocument[]) => docs.map((d) => `{"document":${renderDocument(db, d)},${readTime}}`);
  const items = render(first.documents);
  if (items.length === 0) items.push(`{${readTime}}`);
  // The first element carries the new transaction and the skipped count; the last says done and
  // carries the explain metrics.
  const head: string[] = [];
  if (first.transaction !== undefined) head.push(`"transaction":${JSON.stringify(first.transaction)}`);
  if (first.skipped > 0) head.push(`"skippedResults":${first.skipped}`);
  const join = (a: string, b: string) => (a === "" || b === "" ? a + b : `${a},${b}`);
  if (head.length > 0) items[0] = `{${join(head.join(","), (items[0] as string).slice(1, -1))}}`;
  const tail = [`"done":true`];
  if (first.explain) tail.push(`"explainMetrics":${JSON.stringify(explainJson(first.explain))}`);
  const finish = (last: string) => `{${join(last.slice(1, -1), tail.join(","))}}`;
  if (first.next === undefined) return jsonArrayResponse(items, null, finish);
  // Later pages: the same query after the last document, at the first page's snapshot.
  const following = followingPages(base.consistency, first);
  async function* later() {
    for (let next = first.next; next !== undefined; ) {
      const { startAt, offset, limit, page } = next;
      const paged = startAt ? { ...query, startAt, offset: 0, limit } : { ...query, offset: offset ?? 0, limit };
      const res = await call(c, (s) =>
        s.runQuery(database, { caller: caller(c), query: paged, consistency: following, page }),
      );
      next = res.next;
      yield render(res.documents);
    }
  }
  return jsonArrayResponse(items, later(), finish);
}

/** POST …:runAggregationQuery → `[{result: {aggregateFields}, readTime, transaction?, explainMetrics?}]`. */
export async function runAggregationQuery(c: C): Promise<Response> {
  const { db } = c.var.target;
  const msg = message(await readJson(c), "", [
    "parent",
    "structuredAggregationQuery",
    "transaction",
    "newTransaction",
    "readTime",
    "explainOptions",
  ]);
  const parent = parentOf(c, msg);
  const saq = message(msg.structuredAggregationQuery, "structured_aggregation_query", [
    "structuredQuery",
    "aggregations",
  ]);
  if (saq.structuredQuery === undefined) {
    throw invalidArgument("runAggregationQuery needs 'structured_aggregation_query.structured_query'.");
  }
  const query = decodeStructuredQuery(saq.structuredQuery, db, parent, "structured_aggregation_query.structured_query");
  checkAggregatable(query);
  const aggregations = decodeAggregations(saq.aggregations, "structured_aggregation_query.aggregations");
  const explain = explainOptions(msg.explainOptions);
  const res = await call(c, (s) =>
    s.runAggregationQuery(databaseName(db), {
      caller: caller(c),
      query,
      aggregations,
      consistency: consistency(msg, ""),
      explain,
    }),
  );
  const item: Record<string, unknown> = {};
  if (res.transaction !== undefined) item.transaction = res.transaction;
  if (!explain || explain.analyze) {
    item.result = { aggregateFields: res.result };
    item.readTime = ts(res.readTime);
  }
  if (res.explain) item.explainMetrics = explainJson(res.explain);
  return jsonResponse(`[${JSON.stringify(item)}]`);
}

/** Partition queries: a collection group ordered by `__name__` only (Firestore's requirement). */
function checkPartitionable(query: NormalizedQuery): void {
  const orderedByName =
    query.orderBy.length === 1 && isKeyField(query.orderBy[0]?.field ?? []) && !query.orderBy[0]?.descending;
  if (!query.allDescendants || query.collectionId === null) {
    throw invalidArgument(
      "partitionQuery needs a collection group query (from: [{collectionId, allDescendants: true}]).",
    );
  }
  if (query.filter || !orderedByName || query.startAt || query.endAt || query.limit !== undefined || query.offset) {
    throw invalidArgument(
      "partitionQuery supports only a collection group query ordered by __name__ ascending, without filters, cursors, offset or limit.",
    );
  }
}

const MAX_PARTITION_PAGE = 10_000;

/** POST …:partitionQuery → `{partitions: [{values: [referenceValue]}], nextPageToken?}`. */
export async function partitionQuery(c: C): Promise<Response> {
  const { db } = c.var.target;
  const msg = message(await readJson(c), "", [
    "parent",
    "structuredQuery",
    "partitionCount",
    "pageToken",
    "pageSize",
    "readTime",
  ]);
  const parent = parentOf(c, msg);
  if (msg.structuredQuery === undefined) throw invalidArgument("partitionQuery needs a 'structured_query'.");
  const query = decodeStructuredQuery(msg.structuredQuery, db, parent, "structured_query");
  checkPartitionable(query);
  const partitionCount = msg.partitionCount === undefined ? 0 : int64Number(msg.partitionCount, "partition_count");
  if (partitionCount <= 0) throw invalidArgument("partition_count must be greater than 0.");
  const token =
    msg.pageToken === undefined || msg.pageToken === "" ? 0 : decodePageToken(str(msg.pageToken, "page_token"));
  if (typeof token !== "number" || !Number.isSafeInteger(token) || token < 0) {
    throw invalidArgument("page_token is not a token this server issued.");
  }
  const cons = consistency(msg, "", false);
  const res = await call(c, (s) =>
    s.partitionQuery({
      caller: caller(c),
      query,
      partitionCount: Math.min(partitionCount, 100_000),
      pageSize: pageSize(msg.pageSize, MAX_PARTITION_PAGE),
      start: token,
      readTime: cons.kind === "readTime" ? cons.readTime : undefined,
    }),
  );
  const body: { partitions: { values: { referenceValue: string }[] }[]; nextPageToken?: string } = {
    partitions: res.cursors.map((path) => ({ values: [{ referenceValue: documentName(db, path) }] })),
  };
  if (res.next !== undefined) body.nextPageToken = encodePageToken(res.next);
  return jsonResponse(JSON.stringify(body));
}
