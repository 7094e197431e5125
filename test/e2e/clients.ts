/**
 * Client factories for the e2e suite: the unmodified official SDKs pointed at the real server.
 *
 * - `liteClient`: `firebase/firestore/lite` (REST over fetch), one app per call with a unique name.
 * - `adminClient`: `@google-cloud/firestore` with `preferRest: true` (REST via gaxios), with a dummy
 *   OAuth2 client so no Application Default Credentials are needed (wire doc §3.1).
 * - `rest`: plain fetch against the REST API, for asserting exact wire shapes and reporting bugs.
 *
 * Every test file uses its own project id (`uniqueProject`) so files never see each other's data.
 */
import { Firestore as AdminFirestore, type Settings as AdminSettings } from "@google-cloud/firestore";
import { deleteApp, type FirebaseApp, initializeApp } from "firebase/app";
import {
  connectFirestoreEmulator,
  getFirestore,
  type Firestore as LiteFirestore,
  setLogLevel,
  terminate,
} from "firebase/firestore/lite";
import { OAuth2Client } from "google-auth-library";
import { inject } from "vitest";
import { codeName, httpStatusOf } from "../../src/errors/index.js";

// Lite logs every failed RPC at error level; the failure paths tested here are expected.
// Set FLARESTORE_E2E_DEBUG=1 to see them (and the SDK's debug output).
setLogLevel(process.env.FLARESTORE_E2E_DEBUG ? "debug" : "silent");

export function serverPort(): number {
  return inject("serverPort");
}

export function serverUrl(): string {
  return inject("serverUrl");
}

/** A project id no other test file (or run) uses: `e2e-<name>-<random>`. */
export function uniqueProject(name: string): string {
  return `e2e-${name}-${Math.random().toString(36).slice(2, 10)}`;
}

export interface LiteClient {
  app: FirebaseApp;
  db: LiteFirestore;
  projectId: string;
  /** Another database of the same app (e.g. "otherdb"), connected to the same server. */
  database(databaseId: string): LiteFirestore;
  close(): Promise<void>;
}

let appCounter = 0;

export interface LiteOptions {
  port?: number;
  databaseId?: string;
  /** Leave out the app's apiKey/appId (then no `?key=` and no x-firebase-gmpid are sent). */
  bare?: boolean;
  /** Sent as an unsigned emulator JWT (`Authorization: Bearer …`), as connectFirestoreEmulator does. */
  mockUserToken?: { user_id: string; [claim: string]: unknown };
}

export function liteClient(projectId: string, opts: LiteOptions = {}): LiteClient {
  const port = opts.port ?? serverPort();
  const config = opts.bare ? { projectId } : { projectId, apiKey: "fake-api-key", appId: "1:123:web:abc" };
  const app = initializeApp(config, `${projectId}-${++appCounter}`);
  const dbs: LiteFirestore[] = [];
  const connect = (databaseId?: string): LiteFirestore => {
    const db = databaseId === undefined ? getFirestore(app) : getFirestore(app, databaseId);
    if (!dbs.includes(db)) {
      connectFirestoreEmulator(db, "127.0.0.1", port, opts.mockUserToken ? { mockUserToken: opts.mockUserToken } : {});
      dbs.push(db);
    }
    return db;
  };
  const db = connect(opts.databaseId);
  return {
    app,
    db,
    projectId,
    database: (id) => connect(id),
    close: async () => {
      for (const d of dbs) await terminate(d);
      await deleteApp(app);
    },
  };
}

/**
 * The server SDK's transport in this run: REST (project e2e), or its default native gRPC (project
 * e2e-grpc, which runs the suites that use the server SDK again with E2E_GRPC=1).
 */
export const ADMIN_TRANSPORT: "rest" | "grpc" = process.env.E2E_GRPC === "1" ? "grpc" : "rest";

/**
 * A server SDK error, read the same whatever the transport: over REST its `code` is the HTTP status
 * and its message the google.rpc.Status JSON; over gRPC its `code` is the gRPC code and its message
 * "N STATUS: message" (the message alone in `details`).
 */
export function adminError(e: { code?: unknown; message: string; details?: unknown }): {
  http: number;
  status: string;
  message: string;
} {
  if (ADMIN_TRANSPORT === "grpc") {
    const code = Number(e.code);
    const status = codeName(code);
    const message = typeof e.details === "string" ? e.details : e.message.replace(/^\d+ [A-Z_]+: /, "");
    return { http: httpStatusOf(code), status, message };
  }
  const body = JSON.parse(e.message) as { error: { code: number; status: string; message: string } };
  if (body.error.code !== e.code) throw new Error(`HTTP ${String(e.code)} with a body for ${body.error.code}`);
  return { http: body.error.code, status: body.error.status, message: body.error.message };
}

export function adminClient(
  projectId: string,
  opts: { port?: number; databaseId?: string; settings?: AdminSettings } = {},
): AdminFirestore {
  const port = opts.port ?? serverPort();
  if (ADMIN_TRANSPORT === "grpc") {
    // As FIRESTORE_EMULATOR_HOST configures it: native gRPC without TLS, the emulator's owner token.
    return new AdminFirestore({
      projectId,
      ...(opts.databaseId === undefined ? {} : { databaseId: opts.databaseId }),
      host: "127.0.0.1",
      port,
      ssl: false,
      customHeaders: { Authorization: "Bearer owner" },
      ...opts.settings,
      preferRest: false,
    });
  }
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: "owner", expiry_date: Date.now() + 365 * 864e5 });
  return new AdminFirestore({
    projectId,
    ...(opts.databaseId === undefined ? {} : { databaseId: opts.databaseId }),
    host: `127.0.0.1:${port}`,
    ssl: false,
    preferRest: true,
    authClient,
    ...opts.settings,
  });
}

/** Minimal REST caller: returns status and parsed JSON, for wire-level assertions. */
export async function rest(
  method: string,
  path: string,
  body?: unknown,
  opts: { port?: number; headers?: Record<string, string> } = {},
): Promise<{ status: number; json: unknown; text: string }> {
  const port = opts.port ?? serverPort();
  const res = await fetch(`http://127.0.0.1:${port}/v1/${path}`, {
    method,
    headers: { "content-type": "application/json", authorization: "Bearer owner", ...opts.headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

/** Runs `fn` and returns the error it rejects with (fails if it resolves). */
export async function rejection(
  fn: () => Promise<unknown>,
): Promise<{ code?: unknown; message: string } & Record<string, unknown>> {
  try {
    await fn();
  } catch (e) {
    return e as { code?: unknown; message: string } & Record<string, unknown>;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

/** Parses an RFC 3339 timestamp into [seconds, nanos] (for exact comparisons). */
export function parseTs(s: string): { seconds: number; nanos: number } {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z$/.exec(s);
  if (!m) throw new Error(`not an RFC 3339 UTC timestamp: ${s}`);
  return { seconds: Date.parse(`${m[1]}Z`) / 1000, nanos: Number((m[2] ?? "").padEnd(9, "0")) };
}

export interface RawDocument {
  name: string;
  fields?: Record<string, Record<string, unknown>>;
  createTime: string;
  updateTime: string;
}

/** Reads one document over REST (`:batchGet`), returning its raw proto3 JSON or undefined. */
export async function rawGet(
  projectId: string,
  path: string,
  opts: { databaseId?: string; port?: number } = {},
): Promise<RawDocument | undefined> {
  const db = `projects/${projectId}/databases/${opts.databaseId ?? "(default)"}`;
  const res = await rest("POST", `${db}/documents:batchGet`, { documents: [`${db}/documents/${path}`] }, opts);
  if (res.status !== 200) throw new Error(`batchGet ${path}: HTTP ${res.status} ${res.text}`);
  const entry = (res.json as [{ found?: RawDocument }])[0];
  return entry?.found;
}

/** Posts a commit over REST and returns the raw response (for exact wire assertions). */
export async function rawCommit(
  projectId: string,
  writes: unknown[],
  opts: { databaseId?: string; port?: number } = {},
): Promise<{ status: number; json: unknown; text: string }> {
  const db = `projects/${projectId}/databases/${opts.databaseId ?? "(default)"}`;
  return rest("POST", `${db}/documents:commit`, { writes }, opts);
}

export function docName(projectId: string, path: string, databaseId = "(default)"): string {
  return `projects/${projectId}/databases/${databaseId}/documents/${path}`;
}

export { shortenAdminBackoff } from "../helpers/admin-backoff.js";

/** One gRPC (or gRPC-Web) frame: a flag byte (1: compressed, 0x80: trailers), the length, the payload. */
export function grpcFrame(payload: Uint8Array, flag = 0): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  out[0] = flag;
  new DataView(out.buffer).setUint32(1, payload.length);
  out.set(payload, 5);
  return out;
}
