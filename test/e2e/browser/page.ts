/**
 * The browser side of `browser.test.ts`: bundled by esbuild (platform "browser", so the web
 * builds of `firebase/app` and `firebase/firestore/lite` are used) and loaded into a page served
 * from another origin than the API, so every SDK call is a cross-origin fetch with a preflight.
 *
 * It only exposes `window.flarestore`; the test drives it with `page.evaluate`.
 */
/// <reference lib="dom" />
import { deleteApp, initializeApp, SDK_VERSION } from "firebase/app";
import {
  connectFirestoreEmulator,
  deleteDoc,
  doc,
  getDoc,
  getFirestore,
  increment,
  runTransaction,
  serverTimestamp,
  setDoc,
  setLogLevel,
  Timestamp,
  terminate,
  updateDoc,
  writeBatch,
} from "firebase/firestore/lite";
import type { FlarestorePageApi, RawFetchResult, ScenarioOptions, ScenarioResult } from "./types.js";

// Keep the SDK's own console output to real errors: the expected `not-found` failure is logged
// at warning level, and the test fails on any console error.
setLogLevel("error");

let appCounter = 0;

async function runScenario(opts: ScenarioOptions): Promise<ScenarioResult> {
  const app = initializeApp(
    { projectId: opts.projectId, apiKey: "browser-test-api-key", appId: "1:1234567890:web:browsertest" },
    `browser-${++appCounter}`,
  );
  const db = getFirestore(app);
  connectFirestoreEmulator(
    db,
    "127.0.0.1",
    opts.port,
    opts.mockUser === undefined ? {} : { mockUserToken: { user_id: opts.mockUser } },
  );
  try {
    const a = doc(db, opts.collection, "a");
    const b = doc(db, opts.collection, "b");
    const c = doc(db, opts.collection, "c");

    await setDoc(a, { name: "Ada", n: 1, tags: ["x", "y"], nested: { ok: true } });
    const s1 = await getDoc(a);
    const afterSet = { exists: s1.exists(), data: s1.data() ?? null };

    await updateDoc(a, { n: increment(2), at: serverTimestamp(), "nested.more": "yes" });
    const s2 = await getDoc(a);
    const at: unknown = s2.get("at");
    const afterUpdate = {
      n: s2.get("n"),
      nested: s2.get("nested"),
      atIsTimestamp: at instanceof Timestamp,
      atMillis: at instanceof Timestamp ? at.toMillis() : null,
    };

    const batch = writeBatch(db);
    batch.set(b, { v: 5 });
    batch.update(a, { n: increment(10) });
    batch.set(c, { temp: true });
    batch.delete(c);
    await batch.commit();
    const [ba, bb, bc] = await Promise.all([getDoc(a), getDoc(b), getDoc(c)]);
    const afterBatch = { a: ba.get("n"), b: bb.data() ?? null, cExists: bc.exists() };

    const returned = await runTransaction(db, async (tx) => {
      const ta = await tx.get(a);
      const tb = await tx.get(b);
      const sum = (ta.get("n") as number) + (tb.get("v") as number);
      tx.update(a, { n: sum });
      tx.set(b, { v: tb.get("v") + 1, touched: true });
      return sum;
    });
    const [ta, tb] = await Promise.all([getDoc(a), getDoc(b)]);
    const transaction = { returned, a: ta.get("n"), b: tb.data() ?? null };

    await deleteDoc(b);
    const [da, db2] = await Promise.all([getDoc(a), getDoc(b)]);
    const afterDelete = { aExists: da.exists(), bExists: db2.exists() };

    let missingUpdate: ScenarioResult["missingUpdate"] = { name: null, code: null, message: "updateDoc did not fail" };
    try {
      await updateDoc(doc(db, opts.collection, "missing"), { n: 1 });
    } catch (e) {
      // Not `instanceof FirestoreError`: FirebaseError's constructor resets the prototype.
      const err = e as { name?: unknown; code?: unknown; message?: unknown };
      missingUpdate = {
        name: String(err.name),
        code: typeof err.code === "string" ? err.code : null,
        message: typeof err.message === "string" ? err.message : String(e),
      };
    }

    return { sdkVersion: SDK_VERSION, afterSet, afterUpdate, afterBatch, transaction, afterDelete, missingUpdate };
  } finally {
    await terminate(db);
    await deleteApp(app);
  }
}

async function rawFetch(
  url: string,
  init: { method?: string; authorization: string; body?: string },
): Promise<RawFetchResult> {
  const res = await fetch(url, {
    method: init.method ?? "GET",
    credentials: "include",
    headers: {
      Authorization: init.authorization,
      ...(init.body === undefined ? {} : { "Content-Type": "application/json" }),
    },
    body: init.body,
  });
  const visibleHeaders: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    visibleHeaders[name] = value;
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, ok: res.ok, visibleHeaders, body };
}

const api: FlarestorePageApi = { runScenario, rawFetch };

declare global {
  interface Window {
    flarestore?: FlarestorePageApi;
  }
}

window.flarestore = api;
