/**
 * `documents.list`: the documents of one collection (or of every collection directly under a
 * parent), ordered by name or by the request's `orderBy`, paged with an opaque cursor, optionally
 * including "missing" documents (no fields, but descendants exist).
 *
 * Name-ordered listings read exactly one page from the key index. Field orderings sort in memory
 * for now; the query engine (next issue) serves them from indexes.
 */
import { invalidArgument } from "../../src/errors/index.js";
import { getField } from "../../src/model/field-path.js";
import type { Value } from "../../src/model/types.js";
import { compareValues } from "../../src/model/values.js";
import type { ListRequest, ListResponse, OrderSpec } from "./api.js";
import type { DatabaseDO } from "./index.js";
import { projectRow } from "./project.js";
import type { DocRow, DocumentStore } from "./store.js";

type Entry = ListResponse["documents"][number];

export async function listDocuments(db: DatabaseDO, store: DocumentStore, req: ListRequest): Promise<ListResponse> {
  const snap = await db.snapshot(req.consistency, []);
  const readTime = snap.readTime;
  const collections =
    req.collectionId !== ""
      ? [join(req.parent, req.collectionId)]
      : store.collectionIds(req.parent, { readTime }).map((id) => join(req.parent, id));
  const nameOnly = req.orderBy.every((o) => o.field.length === 1 && o.field[0] === "__name__");
  let page: Entry[];
  let hasMore: boolean;
  let next: ListResponse["next"];

  if (req.showMissing) {
    const out: Entry[] = [];
    for (const coll of collections) {
      if (req.after && !isAtOrAfterCollection(req.after.path, coll)) continue;
      const afterId = req.after && collectionOfPath(req.after.path) === coll ? lastOf(req.after.path) : undefined;
      for (const { path, doc } of store.listIdsWithMissing(coll, {
        readTime,
        afterId,
        limit: req.pageSize + 1 - out.length,
      })) {
        out.push(doc ? projectRow(doc, req.mask) : { path, missing: true });
      }
      if (out.length > req.pageSize) break;
    }
    hasMore = out.length > req.pageSize;
    page = out.slice(0, req.pageSize);
  } else if (nameOnly) {
    const descending = req.orderBy[0]?.descending === true;
    const ordered = descending ? [...collections].reverse() : collections;
    const out: Entry[] = [];
    for (const coll of ordered) {
      if (req.after && !isAtOrAfterCollection(req.after.path, coll, descending)) continue;
      const afterPath = req.after && collectionOfPath(req.after.path) === coll ? req.after.path : undefined;
      const rows = store.listCollection(coll, {
        readTime,
        afterPath,
        limit: req.pageSize + 1 - out.length,
        descending,
      });
      for (const row of rows) out.push(projectRow(row, req.mask));
      if (out.length > req.pageSize) break;
    }
    hasMore = out.length > req.pageSize;
    page = out.slice(0, req.pageSize);
  } else {
    const rows: DocRow[] = [];
    for (const coll of collections) rows.push(...store.listCollection(coll, { readTime }));
    const sorted = sortByFields(rows, req.orderBy);
    let start = 0;
    if (req.after) {
      const cursor = req.after;
      start = sorted.findIndex((s) => s.row.path === cursor.path) + 1;
      if (start === 0) start = sorted.findIndex((s) => compareToCursor(s, cursor, req.orderBy) > 0);
      if (start < 0) start = sorted.length;
    }
    const slice = sorted.slice(start, start + req.pageSize + 1);
    hasMore = slice.length > req.pageSize;
    page = slice.slice(0, req.pageSize).map((s) => projectRow(s.row, req.mask));
    const last = slice[req.pageSize - 1];
    if (hasMore && last) next = { path: last.row.path, values: JSON.stringify(last.values) };
  }
  if (hasMore && next === undefined) {
    const last = page[page.length - 1];
    if (last) next = { path: last.path };
  }
  return { documents: page, next, readTime: snap.reportedReadTime, transaction: snap.newTransaction };
}

interface Sorted {
  row: DocRow;
  values: Value[];
}

function sortByFields(rows: DocRow[], orderBy: OrderSpec[]): Sorted[] {
  const fieldOrders = orderBy.filter((o) => !(o.field.length === 1 && o.field[0] === "__name__"));
  const out: Sorted[] = [];
  for (const row of rows) {
    const fields = JSON.parse(row.fields);
    const values: Value[] = [];
    let complete = true;
    for (const o of fieldOrders) {
      const v = getField(fields, o.field);
      if (v === undefined) {
        complete = false; // Ordering by a field excludes documents without it (as queries do).
        break;
      }
      values.push(v);
    }
    if (complete) out.push({ row, values });
  }
  const nameDesc =
    orderBy.find((o) => o.field.length === 1 && o.field[0] === "__name__")?.descending ??
    fieldOrders[fieldOrders.length - 1]?.descending ??
    false;
  out.sort((a, b) => compareSorted(a.values, a.row.path, b.values, b.row.path, fieldOrders, nameDesc));
  return out;
}

function compareSorted(
  av: Value[],
  ap: string,
  bv: Value[],
  bp: string,
  orders: OrderSpec[],
  nameDesc: boolean,
): number {
  for (let i = 0; i < orders.length; i++) {
    const c = compareValues(av[i] as Value, bv[i] as Value);
    if (c !== 0) return orders[i]?.descending ? -c : c;
  }
  const c = compareValues({ referenceValue: ap }, { referenceValue: bp });
  return nameDesc ? -c : c;
}

function compareToCursor(s: Sorted, cursor: { path: string; values?: string }, orderBy: OrderSpec[]): number {
  if (cursor.values === undefined) throw invalidArgument("page_token does not match the request's order_by.");
  const fieldOrders = orderBy.filter((o) => !(o.field.length === 1 && o.field[0] === "__name__"));
  const nameDesc =
    orderBy.find((o) => o.field.length === 1 && o.field[0] === "__name__")?.descending ??
    fieldOrders[fieldOrders.length - 1]?.descending ??
    false;
  return compareSorted(s.values, s.row.path, JSON.parse(cursor.values) as Value[], cursor.path, fieldOrders, nameDesc);
}

function join(parent: string, id: string): string {
  return parent === "" ? id : `${parent}/${id}`;
}

function collectionOfPath(docPath: string): string {
  return docPath.slice(0, docPath.lastIndexOf("/"));
}

function lastOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/** Whether the cursor's collection is `coll` or comes before it (in listing direction). */
function isAtOrAfterCollection(cursorPath: string, coll: string, descending = false): boolean {
  const cursorColl = collectionOfPath(cursorPath);
  if (cursorColl === coll) return true;
  const c = compareValues({ referenceValue: cursorColl }, { referenceValue: coll });
  return descending ? c > 0 : c < 0;
}
