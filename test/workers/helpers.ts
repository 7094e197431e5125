/** Helpers for workerd integration tests: a fresh database (project id) per test, REST calls. */
import { SELF } from "cloudflare:test";

export interface Api {
  project: string;
  /** `projects/{p}/databases/(default)`. */
  db: string;
  /** Full document name for a relative path. */
  name(path: string): string;
  /** Raw fetch against `/v1/projects/{p}/databases/(default)/documents{suffix}`. */
  fetch(suffix: string, init?: RequestInit): Promise<Response>;
  /** POST a JSON body to `…/documents{suffix}` and return status + parsed body. */
  post(suffix: string, body: unknown): Promise<{ status: number; body: any }>;
  get(suffix: string): Promise<{ status: number; body: any }>;
  commit(writes: unknown[], transaction?: string): Promise<{ status: number; body: any }>;
  /** Sets a document (full replace) and returns its updateTime. */
  set(path: string, fields: Record<string, unknown>): Promise<string>;
  /** Reads a document with batchGet: the `found` document or undefined. */
  read(path: string): Promise<any | undefined>;
}

export function newApi(database = "(default)"): Api {
  const project = `p-${crypto.randomUUID()}`;
  const db = `projects/${project}/databases/${database}`;
  const base = `http://flarestore.test/v1/${db}/documents`;
  const api: Api = {
    project,
    db,
    name: (path) => `${db}/documents/${path}`,
    fetch: (suffix, init) => SELF.fetch(`${base}${suffix}`, init),
    async post(suffix, body) {
      const res = await api.fetch(suffix, {
        method: "POST",
        body: typeof body === "string" ? body : JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    },
    async get(suffix) {
      const res = await api.fetch(suffix);
      return { status: res.status, body: await res.json() };
    },
    commit: (writes, transaction) =>
      api.post(":commit", transaction === undefined ? { writes } : { writes, transaction }),
    async set(path, fields) {
      const res = await api.commit([{ update: { name: api.name(path), fields } }]);
      if (res.status !== 200) throw new Error(`set failed: ${JSON.stringify(res.body)}`);
      return res.body.writeResults[0].updateTime;
    },
    async read(path) {
      const res = await api.post(":batchGet", { documents: [api.name(path)] });
      if (res.status !== 200) throw new Error(`read failed: ${JSON.stringify(res.body)}`);
      return res.body[0].found;
    },
  };
  return api;
}

export const int = (n: number | string) => ({ integerValue: String(n) });
export const str = (s: string) => ({ stringValue: s });

/** Asserts a google.rpc.Status error body and returns its message. */
export function expectError(res: { status: number; body: any }, httpStatus: number, status: string): string {
  if (res.status !== httpStatus || res.body?.error?.status !== status || res.body?.error?.code !== httpStatus) {
    throw new Error(`expected ${httpStatus} ${status}, got ${res.status} ${JSON.stringify(res.body)}`);
  }
  if (typeof res.body.error.message !== "string" || res.body.error.message.length === 0) {
    throw new Error("error without a message");
  }
  return res.body.error.message as string;
}
