/**
 * The Durable Object's RPC surface: plain, structured-clonable data in and out. The Worker parses
 * and validates requests into these shapes; the object never sees raw client JSON. Errors come back
 * as `{ error }` values (RPC keeps only an Error's message, and clients need the exact code).
 */

import type { StatusData } from "../../src/errors/index.js";
import type {
  FieldPathSegments,
  Fields,
  Micros,
  StoredDocument,
  Value,
  Write,
  WriteResult,
} from "../../src/model/types.js";
import type { Aggregation, Cursor, NormalizedQuery } from "../../src/query/types.js";
import type { Caller } from "./access.js";

export type Result<T> = { ok: T } | { error: StatusData };

export type TransactionOptions = { readOnly: true; readTime?: Micros } | { readOnly: false; retryTransaction?: string };

/** How a read picks its snapshot. */
export type Consistency =
  | { kind: "latest" }
  | { kind: "readTime"; readTime: Micros }
  | { kind: "transaction"; id: string }
  | { kind: "newTransaction"; options: TransactionOptions };

export interface BatchGetRequest {
  /** Who asks (access.ts decides what they may do). */
  caller: Caller;
  paths: string[];
  mask?: FieldPathSegments[];
  consistency: Consistency;
  /** Answer only as many documents as fit in about this many bytes (at least one); see `next`. */
  maxBytes?: number;
}

export type BatchGetEntry = { found: StoredDocument } | { missing: string };

export interface BatchGetResponse {
  /** Set when the request asked for `newTransaction`. */
  transaction?: string;
  readTime: Micros;
  entries: BatchGetEntry[];
  /** With `maxBytes`: set when not every path was answered (how many were). */
  next?: number;
}

/**
 * How the later pages of a paged read see the same snapshot as its first page: in the same
 * transaction (the one the first page began, if any), else at the first page's read time.
 */
export function followingPages(
  consistency: Consistency,
  first: { transaction?: string; readTime: Micros },
): Consistency {
  if (first.transaction !== undefined) return { kind: "transaction", id: first.transaction };
  if (consistency.kind === "transaction" || consistency.kind === "readTime") return consistency;
  return { kind: "readTime", readTime: first.readTime };
}

export interface CommitRequest {
  /** Who asks (access.ts decides what they may do). */
  caller: Caller;
  writes: Write[];
  transaction?: string;
  /** Also return the (single) written document as it is after the commit (REST create/patch). */
  readBack?: { mask?: FieldPathSegments[] };
}

export interface CommitResponse {
  commitTime: Micros;
  writeResults: WriteResult[];
  /** With `readBack`: the document after the commit, or null when it does not exist. */
  document?: StoredDocument | null;
}

export interface BatchWriteResponse {
  writeResults: WriteResult[];
  status: StatusData[];
  commitTime: Micros;
}

export interface OrderSpec {
  field: FieldPathSegments;
  descending: boolean;
}

export interface ListRequest {
  /** Who asks (access.ts decides what they may do). */
  caller: Caller;
  /** Parent document path ("" for the root). */
  parent: string;
  /** Empty: documents in every collection directly under the parent. */
  collectionId: string;
  pageSize: number;
  /** Continue after this position (decoded page token). */
  after?: ListCursor;
  orderBy: OrderSpec[];
  mask?: FieldPathSegments[];
  showMissing: boolean;
  consistency: Consistency;
}

/** Where a page ended: the last document's path and its order-by values. */
export interface ListCursor {
  path: string;
  /** Present when the listing is ordered by fields (JSON of the values, in order). */
  values?: string;
}

export interface ListResponse {
  /** Documents; a "missing" document has empty fields and zero times. */
  documents: (StoredDocument | { path: string; missing: true })[];
  next?: ListCursor;
  readTime: Micros;
  transaction?: string;
}

export interface ListCollectionIdsRequest {
  /** Who asks (access.ts decides what they may do). */
  caller: Caller;
  parent: string;
  pageSize: number;
  after?: string;
  consistency: Consistency;
}

export interface ListCollectionIdsResponse {
  collectionIds: string[];
  next?: string;
}

export interface RunQueryRequest {
  /** Who asks (access.ts decides what they may do). */
  caller: Caller;
  query: NormalizedQuery;
  consistency: Consistency;
  /** `explainOptions`: absent = no explain; analyze false = plan only (no documents). */
  explain?: { analyze: boolean };
  /**
   * Internal (never set from REST): "scan" ignores the indexes and evaluates every document of
   * the scope — the baseline benchmarks compare the planner against.
   */
  plan?: "scan";
  /**
   * Answer one page: at most `docs` documents and about `maxBytes` bytes (at least one document);
   * `next` says how to ask for the rest. Ignored for explain.
   */
  page?: QueryPage;
}

export interface QueryPage {
  maxBytes: number;
  /** 0: let the Durable Object estimate from the sizes of documents in the query's scope. */
  docs: number;
}

export interface ExplainMetrics {
  indexesUsed: { query_scope: string; properties: string }[];
  /** With `analyze`: execution statistics. */
  execution?: {
    resultsReturned: number;
    durationMs: number;
    readOperations: number;
    indexEntriesScanned: number;
    documentsScanned: number;
  };
}

export interface RunQueryResponse {
  documents: StoredDocument[];
  /** Documents skipped by the query's offset. */
  skipped: number;
  readTime: Micros;
  transaction?: string;
  explain?: ExplainMetrics;
  /**
   * With `page`, when more results may follow: the same query continues after the last document
   * (`startAt`, offset 0, the remaining `limit`), asking for `page` next — or, for a
   * nearest-neighbour query (ranked by distance, so no cursor can say where it stopped), from
   * `offset` in the same ranking at the same snapshot.
   */
  next?: { startAt?: Cursor; offset?: number; limit?: number; page: QueryPage };
}

export interface RunAggregationRequest extends RunQueryRequest {
  aggregations: Aggregation[];
}

export interface RunAggregationResponse {
  /** alias → result value. */
  result: Record<string, Value>;
  readTime: Micros;
  transaction?: string;
  explain?: ExplainMetrics;
}

export interface PartitionRequest {
  /** Who asks (access.ts decides what they may do). */
  caller: Caller;
  query: NormalizedQuery;
  partitionCount: number;
  pageSize: number;
  /** Index of the first split point to return (decoded page token). */
  start: number;
  readTime?: Micros;
}

export interface PartitionResponse {
  /** Split points: document paths, in order. */
  cursors: string[];
  next?: number;
}

/** A document as exported (`flarestore export`), to import with its own times. */
export interface ImportedDocument {
  path: string;
  fields: Fields;
  createTime: Micros;
  updateTime: Micros;
}

export interface ImportResponse {
  /** Documents written (absent, or different from what the database held). */
  written: number;
  /** Documents the database already held as they are (an import run again changes nothing). */
  unchanged: number;
}
