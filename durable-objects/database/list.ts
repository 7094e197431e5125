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
import { collectionOf, lastSegment } from "../../src/model/path.js";
import type { Fields, Value } from "../../src/model/types.js";
import { comparePaths, compareValues } from "../../src/model/values.js";
import type { ListRequest, ListResponse, OrderSpec } from "./api.js";
import type { DatabaseDO } from "./index.js";
import { projectRow } from "./project.js";
import type { DocRow, DocumentStore } from "./store.js";

type Entry = ListResponse["documents"][number];

const isName = (o: OrderSpec) => o.field.length === 1 && o.field[0] === "__name__";

export async function listDocuments(db: DatabaseDO, store: DocumentStore, req: ListRequest): Promise<ListResponse> {
  const snap = await db.snapshot(req.consistency, []);
  const readTime = snap.readTime;
  const collections =
    req.collectionId !== ""
      ? [join(req.parent, req.collectionId)]
      : store.collectionIds(req.parent, { readTime }).map((id) => join(req.parent, id));
  const fieldOrders = req.orderBy.filter((o) => !isName(o));
  // Like queries: `__name__` follows the last explicit direction unless given itself.
  const nameDescending =
    req.orderBy.find(isName)?.descending ?? fieldOrders[fieldOrders.length - 1]?.descending ?? false;
  const { entries, next } =
    fieldOrders.length === 0
      ? byName(store, req, collections, readTime, nameDescending)
      : byFields(store, req, collections, readTime, fieldOrders, nameDescending);
  return { documents: entries, next, readTime: snap.reportedReadTime, transaction: snap.newTransaction };
}

/** Walks the collections in name order, reading just one page (+1 to know whether more exist). */
function byName(
  store: DocumentStore,
  req: ListRequest,
  collections: string[],
  readTime: number | undefined,
  descending: boolean,
): { entries: Entry[]; next?: ListResponse["next"] } {
  const out: Entry[] = [];
  const cursor = req.after?.path;
  for (const coll of descending ? [...collections].reverse() : collections) {
    const want = req.pageSize + 1 - out.length;
    if (want <= 0) break;
    let after: string | undefined;
    if (cursor !== undefined) {
      const c = comparePaths(collectionOf(cursor), coll);
      if (c === 0) after = cursor;
      else if (descending ? c < 0 : c > 0) continue; // this collection was fully listed already
    }
    if (req.showMissing) {
      const ids = store.listIdsWithMissing(coll, { readTime, afterId: after && lastSegment(after), limit: want });
      for (const { path, doc } of ids) out.push(doc ? projectRow(doc, req.mask) : { path, missing: true });
    } else {
      const rows = store.listCollection(coll, { readTime, afterPath: after, limit: want, descending });
      for (const row of rows) out.push(projectRow(row, req.mask));
    }
  }
  const entries = out.slice(0, req.pageSize);
  const last = entries[entries.length - 1];
  return { entries, next: out.length > req.pageSize && last ? { path: last.path } : undefined };
}

interface Sorted {
  row: DocRow;
  values: Value[];
}

/** Sorts every document of the collections by the field orders (documents lacking one are excluded). */
function byFields(
  store: DocumentStore,
  req: ListRequest,
  collections: string[],
  readTime: number | undefined,
  orders: OrderSpec[],
  nameDescending: boolean,
): { entries: Entry[]; next?: ListResponse["next"] } {
  const sorted: Sorted[] = [];
  for (const coll of collections) {
    for (const row of store.listCollection(coll, { readTime })) {
      const fields = JSON.parse(row.fields) as Fields;
      const values = orders.map((o) => getField(fields, o.field));
      if (values.every((v) => v !== undefined)) sorted.push({ row, values: values as Value[] });
    }
  }
  const compare = (av: Value[], ap: string, bv: Value[], bp: string): number => {
    for (let i = 0; i < orders.length; i++) {
      const c = compareValues(av[i] as Value, bv[i] as Value);
      if (c !== 0) return orders[i]?.descending ? -c : c;
    }
    const c = comparePaths(ap, bp);
    return nameDescending ? -c : c;
  };
  sorted.sort((a, b) => compare(a.values, a.row.path, b.values, b.row.path));
  let start = 0;
  if (req.after) {
    const { path, values } = req.after;
    if (values === undefined) throw invalidArgument("page_token does not match the request's order_by.");
    const cursorValues = JSON.parse(values) as Value[];
    start = sorted.findIndex((s) => compare(s.values, s.row.path, cursorValues, path) > 0);
    if (start < 0) start = sorted.length;
  }
  const page = sorted.slice(start, start + req.pageSize);
  const last = page[page.length - 1];
  const more = sorted.length > start + req.pageSize;
  return {
    entries: page.map((s) => projectRow(s.row, req.mask)),
    next: more && last ? { path: last.row.path, values: JSON.stringify(last.values) } : undefined,
  };
}

function join(parent: string, id: string): string {
  return parent === "" ? id : `${parent}/${id}`;
}
