/**
 * Raw REST calls for the crash harness: exact wire values, no client retries, a hard timeout on
 * every request (a crash test must never hang).
 */

/** A document as the REST API renders it (proto3 JSON). */
export interface RawDoc {
  name: string;
  fields?: Record<string, RawValue>;
  createTime: string;
  updateTime: string;
}

export type RawValue = {
  stringValue?: string;
  integerValue?: string;
  arrayValue?: { values?: RawValue[] };
};

/** One element of a batchGet response. */
export interface GetEntry {
  found?: RawDoc;
  missing?: string;
  readTime: string;
  transaction?: string;
}

export interface RestResult<T> {
  status: number;
  json: T;
}

/** An HTTP error answer (the server did answer: this is not a lost response). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}: ${JSON.stringify(body).slice(0, 300)}`);
  }
}

export const DEFAULT_TIMEOUT_MS = 30_000;

export class Rest {
  readonly db: string;

  constructor(
    readonly port: number,
    readonly project: string,
  ) {
    this.db = `projects/${project}/databases/(default)`;
  }

  name(path: string): string {
    return `${this.db}/documents/${path}`;
  }

  /** POSTs `…/documents:{verb}`; resolves with the parsed body of a 200, rejects with HttpError otherwise. */
  async call<T>(verb: string, body: unknown, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.port}/v1/${this.db}/documents:${verb}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer owner" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    // The body is read completely before anything counts as acknowledged.
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = text;
    }
    if (res.status !== 200) throw new HttpError(res.status, json);
    return json as T;
  }

  batchGet(
    paths: readonly string[],
    opts: { readTime?: string; transaction?: string; newTransaction?: unknown } = {},
    timeoutMs?: number,
  ): Promise<GetEntry[]> {
    return this.call<GetEntry[]>("batchGet", { documents: paths.map((p) => this.name(p)), ...opts }, timeoutMs);
  }

  /** batchGet in chunks, keyed by path. */
  async getMany(paths: readonly string[], opts: { readTime?: string } = {}): Promise<Map<string, RawDoc | undefined>> {
    const out = new Map<string, RawDoc | undefined>();
    const prefix = `${this.db}/documents/`;
    for (let i = 0; i < paths.length; i += 200) {
      for (const e of await this.batchGet(paths.slice(i, i + 200), opts)) {
        if (e.found) out.set(e.found.name.slice(prefix.length), e.found);
        else if (e.missing) out.set(e.missing.slice(prefix.length), undefined);
      }
    }
    return out;
  }
}

export function str(s: string): RawValue {
  return { stringValue: s };
}

export function int(n: number): RawValue {
  return { integerValue: String(n) };
}

export function strArray(xs: readonly string[]): RawValue {
  return { arrayValue: { values: xs.map(str) } };
}

/** The strings of an array field (absent document or field: empty). */
export function readStrArray(doc: RawDoc | undefined, field: string): string[] {
  return (doc?.fields?.[field]?.arrayValue?.values ?? []).map((v) => v.stringValue ?? "?");
}

/** Canonical text of a time as the server renders it: UTC, exactly 6 fractional digits. */
export function canonicalTime(seconds: number, nanoseconds: number): string {
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  return `${base}.${String(Math.floor(nanoseconds / 1000)).padStart(6, "0")}Z`;
}

/** Runs `tasks` with at most `limit` in flight. */
export async function pool<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
