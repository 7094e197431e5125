/**
 * Paged query results (`RunQueryRequest.page`): how many documents a page asks for, how a page is
 * cut to its byte budget, and where the next page starts. Each page is one call to the Durable
 * Object, so no call holds more than about one page of documents.
 */
import type { Fields, Micros, Value } from "../../src/model/types.js";
import { fieldValueOf } from "../../src/query/evaluate.js";
import type { NormalizedQuery } from "../../src/query/types.js";
import type { QueryPage, RunQueryResponse } from "./api.js";
import type { QueryResult } from "./query-engine.js";
import { scopeOf } from "./scan.js";
import type { DocumentStore } from "./store.js";

/** The most and fewest documents one page asks for. */
const MAX_PAGE_DOCS = 1000;
const MIN_PAGE_DOCS = 4;

/** One rendered page of query results. */
export interface RenderedPage {
  /** The fields of each kept document, as JSON. */
  json: string[];
  bytes: number;
  /** Whether documents were dropped to stay within the byte budget. */
  truncated: boolean;
  next?: RunQueryResponse["next"];
}

/**
 * How many documents a query's first page may ask for: what fits in `maxBytes` if its documents
 * are as large as the largest of a small sample of its scope (later pages use the sizes seen).
 */
export function firstPageDocs(store: DocumentStore, query: NormalizedQuery, maxBytes: number): number {
  const largest = store.sampleBodySize(scopeOf(query.parent, query.collectionId, query.allDescendants));
  return Math.max(MIN_PAGE_DOCS, Math.min(MAX_PAGE_DOCS, Math.floor(maxBytes / Math.max(1, largest))));
}

/** Renders a page's documents, keeping only as many as fit in `maxBytes` (at least one). */
export function renderPage(result: QueryResult, maxBytes: number): RenderedPage {
  const json: string[] = [];
  let bytes = 0;
  for (const d of result.docs) {
    if (json.length > 0 && bytes >= maxBytes) break;
    const text = JSON.stringify(d.fields);
    bytes += text.length + d.path.length;
    json.push(text);
  }
  const truncated = json.length < result.docs.length || result.truncated === true;
  result.docs.length = json.length;
  return { json, bytes, truncated };
}

/**
 * Where the next page starts, if more results may follow this one: `whole` is the query as the
 * client sent it (or as its previous page continued it), `asked` what this page ran.
 */
export function nextPage(
  store: DocumentStore,
  whole: NormalizedQuery,
  asked: NormalizedQuery,
  result: QueryResult,
  page: RenderedPage,
  paged: QueryPage,
  readTime: Micros | undefined,
): RunQueryResponse["next"] {
  const returned = result.docs.length;
  const last = result.docs[returned - 1];
  const remaining = whole.limit === undefined ? undefined : whole.limit - returned;
  if (!last || remaining === 0) return undefined;
  // More may follow when the byte budget cut the page, or when it filled a page limit smaller
  // than the query's own.
  if (!page.truncated && (returned < (asked.limit ?? 0) || asked.limit === whole.limit)) return undefined;
  const nextAsk = {
    maxBytes: paged.maxBytes,
    docs: Math.max(1, Math.min(MAX_PAGE_DOCS, Math.floor(paged.maxBytes / Math.max(1, page.bytes / returned)))),
  };
  // Nearest neighbours: the next page is further down the same ranking.
  if (whole.findNearest) return { offset: whole.offset + returned, limit: remaining, page: nextAsk };
  // The cursor needs the ordered fields, which a projection may have dropped.
  let fields = last.fields;
  if (whole.projection !== undefined) {
    const row = readTime === undefined ? store.getLatest(last.path) : store.getAt(last.path, readTime);
    if (!row) return undefined;
    fields = JSON.parse(row.fields) as Fields;
  }
  const values = whole.orderBy.map((o) => fieldValueOf({ ...last, fields }, o.field) as Value);
  return { startAt: { values, before: false }, limit: remaining, page: nextAsk };
}
