/** Query helpers of the Durable Object: explain metrics and partition points. */
import type { ExplainMetrics, PartitionRequest, PartitionResponse } from "./api.js";
import type { QueryResult } from "./query-engine.js";
import { Scanner, scopeOf } from "./scan.js";

/**
 * `explainMetrics` content: the plan, and with `analyze` the execution statistics. An aggregation
 * returns one result, however many documents it read.
 */
export function explainMetrics(
  result: QueryResult,
  analyze: boolean,
  durationMs: number,
  aggregation = false,
): ExplainMetrics {
  const metrics: ExplainMetrics = { indexesUsed: result.stats.indexesUsed };
  if (analyze) {
    metrics.execution = {
      resultsReturned: aggregation ? 1 : result.docs.length,
      // workerd's clock only advances across I/O, so a query that did none measures 0; it did take
      // time, so report at least 1 µs.
      durationMs: Math.max(durationMs, 0.001),
      // Firestore bills one read per document returned, and at least one per query.
      readOperations: Math.max(1, result.docs.length),
      indexEntriesScanned: result.stats.indexEntriesScanned,
      documentsScanned: result.stats.documentsScanned,
    };
  }
  return metrics;
}

const BATCH = 512;

/**
 * Split points for `partitionQuery`: `partitionCount` documents (at most) that divide the query's
 * documents, in `__name__` order, into `partitionCount + 1` parts of about equal size: a count, then one
 * scan of the key index up to the last split point.
 */
export function partitionPoints(sql: SqlStorage, req: PartitionRequest): PartitionResponse {
  const { query } = req;
  const scope = scopeOf(query.parent, query.collectionId, query.allDescendants);
  const scanner = new Scanner(sql);
  const total = scanner.countDocuments(scope, {}, Number.MAX_SAFE_INTEGER);
  const parts = Math.min(req.partitionCount + 1, Math.max(1, total));
  const positions = new Set<number>();
  for (let i = 1; i < parts; i++) positions.add(Math.floor((i * total) / parts));
  const wanted = [...positions].sort((a, b) => a - b);
  const cursors: string[] = [];
  let index = 0;
  let after: ArrayBuffer | undefined;
  let w = 0;
  while (w < wanted.length) {
    const rows = scanner.documentScan(scope, {}, false, after, BATCH);
    for (const row of rows) {
      if (index === wanted[w]) {
        cursors.push(row.path as string);
        w++;
      }
      index++;
    }
    if (rows.length < BATCH) break;
    after = rows[rows.length - 1]?.key;
  }
  const page = cursors.slice(req.start, req.start + req.pageSize);
  return { cursors: page, next: req.start + req.pageSize < cursors.length ? req.start + req.pageSize : undefined };
}
