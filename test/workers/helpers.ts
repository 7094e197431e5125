/** Helpers for workerd integration tests: a fresh database (project id) per test, REST calls. */
import { SELF } from "cloudflare:test";
import { expect } from "vitest";

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

/** A Listen socket whose messages can be awaited, each wait with a time limit. */
export class Listener {
  private readonly queue: any[] = [];
  private waiter?: () => void;
  closed = false;

  private constructor(readonly ws: WebSocket) {
    ws.addEventListener("message", (e) => {
      this.queue.push(JSON.parse(e.data as string));
      this.waiter?.();
    });
    ws.addEventListener("close", () => {
      this.closed = true;
      this.waiter?.();
    });
  }

  /** Opens a Listen socket, with `headers` besides the upgrade (credentials). */
  static async open(api: Api, headers: Record<string, string> = {}): Promise<Listener> {
    const res = await api.fetch(":listen", { headers: { Upgrade: "websocket", ...headers } });
    expect(res.status).toBe(101);
    const ws = res.webSocket as WebSocket;
    ws.accept();
    return new Listener(ws);
  }

  pending(): string[] {
    return this.queue.map((m) => JSON.stringify(m).slice(0, 100));
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === "string" ? msg : JSON.stringify(msg));
  }

  /** The next `n` messages (fails after 5 s). */
  async next(n = 1): Promise<any[]> {
    const deadline = Date.now() + 5000;
    while (this.queue.length < n) {
      if (this.closed) throw new Error(`socket closed with ${this.queue.length} of ${n} messages`);
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`timed out with ${this.queue.length} of ${n} messages: ${JSON.stringify(this.queue)}`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, left);
      });
    }
    return this.queue.splice(0, n);
  }

  /** Messages up to and including the next global snapshot (targetChange with no ids). */
  async untilSnapshot(): Promise<any[]> {
    const out: any[] = [];
    for (;;) {
      const [m] = await this.next();
      out.push(m);
      if (m.targetChange && m.targetChange.targetIds.length === 0) return out;
    }
  }

  /** Nothing arrives within `ms`. */
  async quiet(ms = 300): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
    expect(this.queue).toEqual([]);
  }
}

/** A Write socket (opened with `headers` besides the upgrade): its responses and its close, awaited with a time limit. */
export async function openWrite(api: Api, headers: Record<string, string> = {}) {
  const res = await api.fetch(":write", { headers: { Upgrade: "websocket", ...headers } });
  expect(res.status).toBe(101);
  const ws = res.webSocket as WebSocket;
  ws.accept();
  const queue: any[] = [];
  let closed: { code: number; reason: string } | undefined;
  let wake: (() => void) | undefined;
  ws.addEventListener("message", (e) => {
    queue.push(JSON.parse(e.data as string));
    wake?.();
  });
  ws.addEventListener("close", (e) => {
    closed = { code: e.code, reason: e.reason };
    wake?.();
  });
  return {
    send: (m: unknown) => ws.send(typeof m === "string" ? m : JSON.stringify(m)),
    async next(): Promise<any> {
      const deadline = Date.now() + 5000;
      while (queue.length === 0) {
        if (closed) throw new Error(`closed: ${JSON.stringify(closed)}`);
        if (Date.now() > deadline) throw new Error("timed out waiting for a response");
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 100);
        });
      }
      return queue.shift();
    },
    async closedWith(): Promise<{ code: number; reason: string }> {
      const deadline = Date.now() + 5000;
      while (!closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      if (!closed) throw new Error("socket not closed");
      return closed;
    },
    ws,
  };
}
