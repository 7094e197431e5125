/**
 * The contract between the browser page (`page.ts`, bundled by esbuild) and `browser.test.ts`:
 * what the page exposes on `window` and the plain-JSON results it hands back.
 */

export interface ScenarioOptions {
  /** The API server's port on 127.0.0.1 (a different origin than the page's). */
  port: number;
  projectId: string;
  /** Collection the scenario writes into (one per run, so runs never share documents). */
  collection: string;
  /** Passed to `connectFirestoreEmulator(..., { mockUserToken })`: the SDK then sends `Authorization: Bearer <jwt>`. */
  mockUser?: string;
}

/** Everything is plain JSON; timestamps are epoch milliseconds. */
export interface ScenarioResult {
  /** The SDK version the page ran (sanity: this really is the bundled web SDK). */
  sdkVersion: string;
  afterSet: { exists: boolean; data: unknown };
  afterUpdate: { n: unknown; nested: unknown; atMillis: number | null; atIsTimestamp: boolean };
  afterBatch: { a: unknown; b: unknown; cExists: boolean };
  transaction: { returned: unknown; a: unknown; b: unknown };
  afterDelete: { bExists: boolean; aExists: boolean };
  /** The rejection of `updateDoc` on a missing document. */
  missingUpdate: { name: string | null; code: string | null; message: string };
}

export interface RawFetchResult {
  status: number;
  ok: boolean;
  /** Response headers the page's script can read (CORS-filtered: safelisted + exposed only). */
  visibleHeaders: Record<string, string>;
  body: unknown;
}

export interface FlarestorePageApi {
  runScenario(options: ScenarioOptions): Promise<ScenarioResult>;
  /** `fetch(url, { credentials: "include", headers: { Authorization } })`, reading status, headers and JSON body. */
  rawFetch(url: string, init: { method?: string; authorization: string; body?: string }): Promise<RawFetchResult>;
}

/** What a realtime listener in the page saw, once per snapshot (plain JSON). */
export interface SnapshotEvent {
  exists?: boolean;
  docs?: { id: string; data: Record<string, unknown> }[];
  /** `docChanges()` as "added x" / "modified x" / "removed x". */
  changes?: string[];
  fromCache?: boolean;
  hasPendingWrites?: boolean;
  /** The listener's error, "code: message". */
  error?: string;
}

/** `window.realtime`: the full web SDK (WebChannel) in the page, driven by `realtime.test.ts`. */
export interface RealtimePageApi {
  /** `mockUser`: signed in as that user id (an unsigned emulator token, `mockUserToken`). */
  init(opts: { port: number; projectId: string; longPolling?: boolean; mockUser?: string }): Promise<void>;
  listenDoc(id: string, path: string): void;
  listenQuery(
    id: string,
    spec: {
      collection: string;
      where?: [string, "==" | "<" | ">" | ">=" | "<=", unknown];
      orderBy?: string;
      limit?: number;
    },
  ): void;
  unlisten(id: string): void;
  events(id: string): SnapshotEvent[];
  set(path: string, data: Record<string, unknown>): Promise<void>;
  /** updateDoc; `bump: true` also increments `bump`. Returns "ok" or the error code. */
  update(path: string, data: Record<string, unknown>): Promise<string>;
  remove(path: string): Promise<void>;
  batch(sets: Record<string, Record<string, unknown>>): Promise<void>;
  get(path: string): Promise<Record<string, unknown> | null>;
  getAll(collectionId: string): Promise<string[]>;
  close(): Promise<void>;
}
