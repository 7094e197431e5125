/**
 * Predicate (precision) locks: what a query inside a read-write transaction read, as a predicate
 * over documents, so that a later write whose before- or after-image matches it waits for the
 * transaction like a write to a locked document does. This closes phantoms: a document cannot
 * enter, leave or change inside a range a transaction has read until that transaction ends.
 *
 * A predicate is the query's scope, filters, order and cursors, without its limit and offset.
 * When the query returned a full page (a limit was hit), the predicate is bounded at the last
 * returned document (an inclusive end cursor): documents beyond it could not change the result.
 * Pure: no I/O.
 */
import type { Fields, Value } from "../../src/model/types.js";
import { afterStart, beforeEnd, fieldValueOf, hasOrderFields, inScope, matches } from "../../src/query/evaluate.js";
import type { NormalizedQuery, QueryDoc } from "../../src/query/types.js";

/** The part of a query that decides which documents it can see (serializable: it is persisted). */
export type Predicate = Pick<
  NormalizedQuery,
  "parent" | "collectionId" | "allDescendants" | "filter" | "orderBy" | "startAt" | "endAt"
>;

/** One state of a written document: `fields` null when it does not exist in that state. */
export interface Image {
  path: string;
  /** Full resource name (`__name__` filters and orders compare it). */
  name: string;
  fields: Fields | null;
}

/**
 * The predicate a query read, given how many documents it returned (after offset and limit) and
 * the last of them with all of its fields (not projected). Null when it can have read nothing.
 */
export function predicateOf(query: NormalizedQuery, returned: number, last?: QueryDoc): Predicate | null {
  if (query.limit === 0) return null;
  const pred: Predicate = {
    parent: query.parent,
    collectionId: query.collectionId,
    allDescendants: query.allDescendants,
    orderBy: query.orderBy,
  };
  if (query.filter !== undefined) pred.filter = query.filter;
  if (query.startAt !== undefined) pred.startAt = query.startAt;
  if (query.endAt !== undefined) pred.endAt = query.endAt;
  // A full page: documents after the last one could not have changed the result. (Nearest-neighbour
  // results are not a prefix of the order, so they cannot be bounded.)
  if (query.limit !== undefined && returned >= query.limit && last && query.findNearest === undefined) {
    pred.endAt = { values: query.orderBy.map((o) => fieldValueOf(last, o.field) as Value), before: false };
  }
  return pred;
}

/** A predicate over every document of a scope (listings, collection ids, unbounded reads). */
export function scopePredicate(parent: string, collectionId: string | null, allDescendants: boolean): Predicate {
  return {
    parent,
    collectionId,
    allDescendants,
    orderBy: [{ field: ["__name__"], descending: false }],
  };
}

/** Whether a document state falls inside a predicate. */
export function imageMatches(pred: Predicate, image: Image): boolean {
  if (image.fields === null || !inScope(pred, image.path)) return false;
  const doc: QueryDoc = { path: image.path, name: image.name, fields: image.fields, createTime: 0, updateTime: 0 };
  return (
    (pred.filter === undefined || matches(doc, pred.filter)) &&
    hasOrderFields(doc, pred.orderBy) &&
    (pred.startAt === undefined || afterStart(doc, pred.startAt, pred.orderBy)) &&
    (pred.endAt === undefined || beforeEnd(doc, pred.endAt, pred.orderBy))
  );
}
