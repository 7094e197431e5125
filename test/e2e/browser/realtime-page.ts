/**
 * The browser side of `realtime.test.ts`: the full web SDK (`firebase/firestore`, whose browser
 * build speaks WebChannel for its Listen and Write streams), loaded from another origin than the
 * API. It exposes `window.realtime`; the test drives it with `page.evaluate` and reads back what
 * the SDK's listeners saw, as plain JSON.
 */
/// <reference lib="dom" />
import { initializeApp } from "firebase/app";
import {
  collection,
  connectFirestoreEmulator,
  deleteDoc,
  doc,
  type Firestore,
  getDoc,
  getDocs,
  increment,
  initializeFirestore,
  limit,
  onSnapshot,
  orderBy,
  query,
  setDoc,
  setLogLevel,
  terminate,
  updateDoc,
  where,
  writeBatch,
} from "firebase/firestore";
import type { RealtimePageApi, SnapshotEvent } from "./types.js";

setLogLevel((globalThis as { RT_DEBUG?: boolean }).RT_DEBUG ? "debug" : "error");

let db: Firestore | undefined;
let counter = 0;
const events = new Map<string, SnapshotEvent[]>();
const unsubscribers = new Map<string, () => void>();

function store(id: string, event: SnapshotEvent): void {
  const list = events.get(id) ?? [];
  list.push(event);
  events.set(id, list);
}

function database(): Firestore {
  if (!db) throw new Error("call init first");
  return db;
}

const api: RealtimePageApi = {
  async init(opts) {
    const app = initializeApp(
      { projectId: opts.projectId, apiKey: "realtime-key", appId: "1:1:web:rt" },
      `rt-${++counter}`,
    );
    db = initializeFirestore(app, opts.longPolling ? { experimentalForceLongPolling: true } : {});
    connectFirestoreEmulator(
      db,
      "127.0.0.1",
      opts.port,
      opts.mockUser ? { mockUserToken: { user_id: opts.mockUser } } : {},
    );
  },
  listenDoc(id, path) {
    const unsub = onSnapshot(
      doc(database(), path),
      { includeMetadataChanges: true },
      (snap) =>
        store(id, {
          exists: snap.exists(),
          docs: snap.exists() ? [{ id: snap.id, data: snap.data() }] : [],
          fromCache: snap.metadata.fromCache,
          hasPendingWrites: snap.metadata.hasPendingWrites,
        }),
      (e) => store(id, { error: `${e.code}: ${e.message}` }),
    );
    unsubscribers.set(id, unsub);
  },
  listenQuery(id, spec) {
    const constraints = [];
    if (spec.where) constraints.push(where(spec.where[0], spec.where[1], spec.where[2]));
    if (spec.orderBy) constraints.push(orderBy(spec.orderBy));
    if (spec.limit !== undefined) constraints.push(limit(spec.limit));
    const unsub = onSnapshot(
      query(collection(database(), spec.collection), ...constraints),
      { includeMetadataChanges: true },
      (snap) =>
        store(id, {
          docs: snap.docs.map((d) => ({ id: d.id, data: d.data() })),
          changes: snap.docChanges().map((c) => `${c.type} ${c.doc.id}`),
          fromCache: snap.metadata.fromCache,
          hasPendingWrites: snap.metadata.hasPendingWrites,
        }),
      (e) => store(id, { error: `${e.code}: ${e.message}` }),
    );
    unsubscribers.set(id, unsub);
  },
  unlisten(id) {
    unsubscribers.get(id)?.();
    unsubscribers.delete(id);
  },
  events(id) {
    return events.get(id) ?? [];
  },
  async set(path, data) {
    await setDoc(doc(database(), path), data);
  },
  async update(path, data) {
    try {
      await updateDoc(doc(database(), path), { ...data, ...(data.bump ? { bump: increment(1) } : {}) });
      return "ok";
    } catch (e) {
      return `${(e as { code?: string }).code}`;
    }
  },
  async remove(path) {
    await deleteDoc(doc(database(), path));
  },
  async batch(sets) {
    const b = writeBatch(database());
    for (const [path, data] of Object.entries(sets)) b.set(doc(database(), path), data);
    await b.commit();
  },
  async get(path) {
    const snap = await getDoc(doc(database(), path));
    return snap.exists() ? snap.data() : null;
  },
  async getAll(collectionId) {
    const snap = await getDocs(collection(database(), collectionId));
    return snap.docs.map((d) => d.id);
  },
  async close() {
    for (const u of unsubscribers.values()) u();
    unsubscribers.clear();
    if (db) await terminate(db);
    db = undefined;
  },
};

window.realtime = api;

declare global {
  interface Window {
    realtime?: RealtimePageApi;
  }
}
