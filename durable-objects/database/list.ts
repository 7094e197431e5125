/**
 * `documents.list`: the documents of one collection (or of every collection directly under a
 * parent), ordered by name or by the request's `orderBy`, paged with an opaque cursor, optionally
 * including "missing" documents (no fields, but descendants exist).
 *
 * Name-ordered listings read exactly one page from the key index; field orderings of a collection
 * are queries for the query engine.
 */
import { invalidArgument } from "../../src/errors/index.js";
import { getField } from "../../src/model/field-path.js";
import { collectionOf, lastSegment } from "../../src/model/path.js";
import type { Value } from "../../src/model/types.js";
import { comparePaths } from "../../src/model/values.js";
import { normalizeOrderBy } from "../../src/query/normalize.js";
import type { Cursor, NormalizedQuery, QueryDoc } from "../../src/query/types.js";
import type { ListRequest, ListResponse, OrderSpec } from "./api.js";
import type { DatabaseDO } from "./index.js";
import { type Predicate, scopePredicate } from "./predicates.js";
import { projectRow } from "./project.js";
import type { QueryEngine } from "./query-engine.js";
import type { DocumentStore } from "./store.js";

type Entry = ListResponse["documents"][number];

/**
 * A page of a listing ends once it holds about this much (Firestore may return fewer documents
 * than `page_size`, with a next page token), so no page has to fit more in memory.
 */
const LIST_PAGE_BYTES = 4 * 1024 * 1024;
/** Documents read per step of a name-ordered listing, at most. */
const LIST_BATCH = 256;

const isName = (o: OrderSpec) => o.field.length === 1 && o.field[0] === "__name__";

export async function listDocuments(
  db: DatabaseDO,
  store: DocumentStore,
  engine: QueryEngine,
  database: string,
  req: ListRequest,
): Promise<ListResponse> {
  const snap = await db.snapshot(req.consistency, []);
  const readTime = snap.readTime;
  const fieldOrders = req.orderBy.filter((o) => !isName(o));
  // Like queries: `__name__` follows the last explicit direction unless given itself.
  const nameDescending =
    req.orderBy.find(isName)?.descending ?? fieldOrders[fieldOrders.length - 1]?.descending ?? false;
  const broad = listingPredicate(req);
  const { entries, next } = await db.readUnderPredicate(snap, broad, () => {
    const collections =
      req.collectionId !== ""
        ? [join(req.parent, req.collectionId)]
        : store.collectionIds(req.parent, { readTime }).map((id) => join(req.parent, id));
    const page =
      fieldOrders.length === 0
        ? byName(store, req, collections, readTime, nameDescending)
        : byFields(engine, database, req, readTime, fieldOrders);
    // A full page in name order of one collection read nothing past its last document.
    const last = page.entries[page.entries.length - 1];
    const bounded =
      page.next !== undefined && last && fieldOrders.length === 0 && !req.showMissing && req.collectionId !== "";
    const predicate: Predicate = bounded
      ? {
          ...broad,
          orderBy: [{ field: ["__name__"], descending: nameDescending }],
          endAt: { values: [{ referenceValue: `${database}/documents/${last.path}` }], before: false },
        }
      : broad;
    return { value: page, predicate: () => predicate };
  });
  return { documents: entries, next, readTime: snap.reportedReadTime, transaction: snap.newTransaction };
}

/**
 * What a listing reads, for predicate locks in read-write transactions: its collection, every
 * collection directly under the parent, or (showMissing: a missing document exists because of its
 * descendants) everything below the parent.
 */
function listingPredicate(req: ListRequest): Predicate {
  if (req.showMissing) return scopePredicate(req.parent, null, true);
  return scopePredicate(req.parent, req.collectionId === "" ? null : req.collectionId, false);
}

/**
 * Walks the collections in name order, reading just one page (+1 to know whether more exist), in
 * batches, and ending the page early once it holds LIST_PAGE_BYTES.
 */
function byName(
  store: DocumentStore,
  req: ListRequest,
  collections: string[],
  readTime: number | undefined,
  descending: boolean,
): { entries: Entry[]; next?: ListResponse["next"] } {
  const out: Entry[] = [];
  let bytes = 0;
  const cursor = req.after?.path;
  walk: for (const coll of descending ? [...collections].reverse() : collections) {
    let after: string | undefined;
    if (cursor !== undefined) {
      const c = comparePaths(collectionOf(cursor), coll);
      if (c === 0) after = cursor;
      else if (descending ? c < 0 : c > 0) continue; // this collection was fully listed already
    }
    for (;;) {
      const want = req.pageSize + 1 - out.length;
      if (want <= 0 || bytes >= LIST_PAGE_BYTES) break walk;
      const limit = Math.min(want, LIST_BATCH);
      // The store reads no more bodies than the page's remaining budget holds (at least one).
      const maxChars = LIST_PAGE_BYTES - bytes;
      let read = 0;
      if (req.showMissing) {
        const ids = store.listIdsWithMissing(coll, {
          readTime,
          afterId: after && lastSegment(after),
          limit,
          maxChars,
        });
        for (const { path, doc } of ids) {
          out.push(doc ? projectRow(doc, req.mask) : { path, missing: true });
          bytes += path.length + (doc?.fields.length ?? 0);
          after = path;
          read++;
        }
      } else {
        for (const row of store.listCollection(coll, { readTime, afterPath: after, limit, descending, maxChars })) {
          out.push(projectRow(row, req.mask));
          bytes += row.path.length + row.fields.length;
          after = row.path;
          read++;
        }
      }
      // Fewer rows than asked may only mean the budget cut them (the loop head checks it); none
      // means this collection is done.
      if (read === 0) break;
    }
  }
  const entries = out.slice(0, req.pageSize);
  const last = entries[entries.length - 1];
  const more = out.length > req.pageSize || bytes >= LIST_PAGE_BYTES;
  return { entries, next: more && last ? { path: last.path } : undefined };
}

/**
 * Field orderings of one collection run through the query engine (an ordered index scan that
 * stops after the page). Listings of every collection of a parent are kindless queries, which
 * Firestore orders by name only.
 */
function byFields(
  engine: QueryEngine,
  database: string,
  req: ListRequest,
  readTime: number | undefined,
  fieldOrders: OrderSpec[],
): { entries: Entry[]; next?: ListResponse["next"] } {
  const orderBy = normalizeOrderBy(
    req.orderBy.map((o) => ({ field: [...o.field], descending: o.descending })),
    undefined,
  );
  const nameOf = (path: string) => `${database}/documents/${path}`;
  let startAt: Cursor | undefined;
  if (req.after) {
    // The route checked the token: one canonical value per field order.
    if (req.after.values === undefined) throw invalidArgument("page_token does not match the request's order_by.");
    const values = JSON.parse(req.after.values) as Value[];
    startAt = { values: [...values, { referenceValue: nameOf(req.after.path) }], before: false };
  }
  // Field orders need a collection id: the route refuses them for kindless listings (checkKindless).
  const query: NormalizedQuery = {
    parent: req.parent,
    collectionId: req.collectionId,
    allDescendants: false,
    orderBy,
    startAt,
    offset: 0,
    limit: req.pageSize + 1,
  };
  const result = engine.run(query, database, readTime, { maxBytes: LIST_PAGE_BYTES });
  const docs = result.docs;
  const page = docs.slice(0, req.pageSize);
  const last = page[page.length - 1];
  const values = (d: QueryDoc) => fieldOrders.map((o) => getField(d.fields, o.field) as Value);
  return {
    entries: page.map((d) =>
      projectRow(
        { path: d.path, fields: JSON.stringify(d.fields), createTime: d.createTime, updateTime: d.updateTime },
        req.mask,
      ),
    ),
    next:
      (docs.length > req.pageSize || result.truncated) && last
        ? { path: last.path, values: JSON.stringify(values(last)) }
        : undefined,
  };
}

function join(parent: string, id: string): string {
  return parent === "" ? id : `${parent}/${id}`;
}
