/**
 * The load a crash interrupts: several concurrent clients, each recording exactly what it sent and
 * what was acknowledged (a 200 whose body arrived), so the checks after the restart can tell
 * "must be there" from "may be there" from "must not be there".
 *
 * - commit writers (raw REST): one commit per unit creating k fresh `own/{token}-{i}` documents
 *   (exists:false) and overwriting two shared `pool/p{n}` documents, all carrying the unit's token;
 * - a batchWrite writer (raw REST): the same shape through `:batchWrite`;
 * - list appenders (raw REST): read-write transactions that read `lists/{epoch}-L{n}` and commit
 *   `items + [x]` (beginTransaction or newTransaction, sometimes a rollback instead of a commit);
 * - an @google-cloud/firestore client (REST): runTransaction list appends and WriteBatch units;
 * - a reader: plain batchGets whose readTime and result are re-read at that readTime afterwards;
 * - two idle transactions: each locks one document (`holders/r{round}`, `survivors/r{round}`) and
 *   goes silent; after the restart the survivor commits at once, the holder only after a plain
 *   write took its lock.
 */
import { Firestore, type Timestamp } from "@google-cloud/firestore";
import { OAuth2Client } from "google-auth-library";
import { canonicalTime, type GetEntry, HttpError, int, type Rest, readStrArray, sleep, str, strArray } from "./rest.js";

export const POOL_SIZE = 16;
export const LISTS_PER_EPOCH = 3;

export type UnitKind = "commit" | "batchWrite" | "sdkBatch";

/** One atomic write request (commit) or one batchWrite request, all of whose documents carry `token`. */
export interface Unit {
  token: string;
  kind: UnitKind;
  round: number;
  own: string[];
  pool: string[];
  /** The 200 answer: the update time of each write, own documents first, then pool. */
  acked?: { updateTimes: string[] };
  /** The server answered with an error: nothing of it may be applied (for atomic kinds). */
  rejected?: string;
}

export type AppendState =
  | "reading" // the transactional read is in flight (x not sent)
  | "read" // read answered, commit not sent yet
  | "rolledBack" // rolled back on purpose (x never sent)
  | "committing" // commit in flight
  | "acked" // commit answered 200
  | "failed" // the read or the commit was answered with an error (x must not be applied)
  | "unknown"; // commit sent, no answer (crash): x may or may not be applied

/** One attempt to append `x` to `list` in a read-write transaction. */
export interface Append {
  client: string;
  list: string;
  x: string;
  state: AppendState;
  /** What the transaction read (absent until the read answered). */
  read?: string[];
  /** performance.now() when the read was sent, and when the commit was acknowledged. */
  readSentAt: number;
  ackedAt?: number;
  updateTime?: string;
}

/** A plain (non-transactional) read whose result must be reproducible at its readTime. */
export interface ReadSample {
  paths: string[];
  readTime: string;
  entries: GetEntry[];
}

/** A read-write transaction that read (locked) `path` and then went silent. */
export interface IdleTx {
  path: string;
  tx?: string;
  /** performance.now() when its last request (the locking read) was answered. */
  lastActive?: number;
}

export interface RoundLoad {
  round: number;
  epoch: number;
  units: Unit[];
  appends: Append[];
  reads: ReadSample[];
  /** Idle transactions holding a lock through the crash. */
  holder: IdleTx;
  survivor: IdleTx;
  errors: string[];
}

export function listPaths(epoch: number): string[] {
  return Array.from({ length: LISTS_PER_EPOCH }, (_, i) => `lists/e${epoch}-L${i}`);
}

export function poolPaths(): string[] {
  return Array.from({ length: POOL_SIZE }, (_, i) => `pool/p${i}`);
}

const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;

function pickDistinct<T>(xs: readonly T[], n: number): T[] {
  const copy = [...xs];
  const out: T[] = [];
  while (out.length < n && copy.length > 0) out.push(copy.splice(Math.floor(Math.random() * copy.length), 1)[0] as T);
  return out;
}

function newUnit(load: RoundLoad, client: string, seq: number, kind: UnitKind): Unit {
  const token = `${client}.${load.round}.${seq}`;
  const k = 2 + Math.floor(Math.random() * 3);
  const unit: Unit = {
    token,
    kind,
    round: load.round,
    own: Array.from({ length: k }, (_, i) => `own/${token}-${i}`),
    pool: pickDistinct(poolPaths(), 2),
  };
  load.units.push(unit);
  return unit;
}

function unitWrites(rest: Rest, unit: Unit, preconditions: boolean): unknown[] {
  const k = unit.own.length;
  return [
    ...unit.own.map((p, i) => ({
      update: { name: rest.name(p), fields: { token: str(unit.token), i: int(i), k: int(k) } },
      ...(preconditions ? { currentDocument: { exists: false } } : {}),
    })),
    ...unit.pool.map((p) => ({
      update: { name: rest.name(p), fields: { token: str(unit.token), k: int(k), round: int(unit.round) } },
    })),
  ];
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/** What the load's clients share: where to write, and when to stop. */
export interface LoadContext {
  rest: Rest;
  load: RoundLoad;
  stopped: () => boolean;
  /** Pause between operations of one client (keeps list documents and history small). */
  thinkMs: number;
}

/** Nothing in this load may be refused (no precondition can fail): an error answer is reported. */
function rejected(ctx: LoadContext, unit: Unit, why: string): void {
  unit.rejected = why;
  ctx.load.errors.push(`${unit.kind} ${unit.token} refused: ${why}`);
}

/** A request without an answer ends the client: expected once the server is being killed. */
function lost(ctx: LoadContext, what: string, e: unknown): void {
  if (!ctx.stopped()) ctx.load.errors.push(`${what}: no answer before the crash: ${describe(e)}`);
}

async function think(ctx: LoadContext): Promise<void> {
  if (ctx.thinkMs > 0) await sleep(Math.random() * ctx.thinkMs);
}

export async function commitWriter(ctx: LoadContext, client: string): Promise<void> {
  for (let seq = 0; !ctx.stopped(); seq++) {
    const unit = newUnit(ctx.load, client, seq, "commit");
    try {
      const res = await ctx.rest.call<{ writeResults: { updateTime: string }[]; commitTime: string }>("commit", {
        writes: unitWrites(ctx.rest, unit, true),
      });
      unit.acked = { updateTimes: res.writeResults.map((w) => w.updateTime) };
      if (res.writeResults.some((w) => w.updateTime !== res.commitTime)) {
        ctx.load.errors.push(`${unit.token}: a write's updateTime differs from commitTime ${res.commitTime}`);
      }
    } catch (e) {
      if (!(e instanceof HttpError)) return lost(ctx, unit.token, e); // the connection died: the crash
      rejected(ctx, unit, e.message);
    }
    await think(ctx);
  }
}

export async function batchWriter(ctx: LoadContext, client: string): Promise<void> {
  for (let seq = 0; !ctx.stopped(); seq++) {
    const unit = newUnit(ctx.load, client, seq, "batchWrite");
    try {
      const res = await ctx.rest.call<{ writeResults: { updateTime?: string }[]; status: { code?: number }[] }>(
        "batchWrite",
        { writes: unitWrites(ctx.rest, unit, false) },
      );
      if (res.status.every((s) => (s.code ?? 0) === 0)) {
        unit.acked = { updateTimes: res.writeResults.map((w) => w.updateTime ?? "?") };
      } else rejected(ctx, unit, JSON.stringify(res.status));
    } catch (e) {
      if (!(e instanceof HttpError)) return lost(ctx, unit.token, e);
      rejected(ctx, unit, e.message);
    }
    await think(ctx);
  }
}

/** Raw read-write transactions appending to the epoch's lists. */
export async function listAppender(ctx: LoadContext, client: string): Promise<void> {
  const { rest, load } = ctx;
  let retryOf: string | undefined;
  for (let seq = 0; !ctx.stopped(); seq++) {
    const list = pick(listPaths(load.epoch));
    const a: Append = { client, list, x: `${client}.${load.round}.${seq}`, state: "reading", readSentAt: 0 };
    load.appends.push(a);
    let tx: string | undefined;
    try {
      const readWrite = retryOf === undefined ? {} : { retryTransaction: retryOf };
      retryOf = undefined;
      let entry: GetEntry | undefined;
      a.readSentAt = performance.now();
      if (seq % 2 === 0) {
        tx = (await rest.call<{ transaction: string }>("beginTransaction", { options: { readWrite } })).transaction;
        a.readSentAt = performance.now();
        entry = (await rest.batchGet([list], { transaction: tx }))[0];
      } else {
        entry = (await rest.batchGet([list], { newTransaction: { readWrite } }))[0];
        tx = entry?.transaction;
      }
      a.read = readStrArray(entry?.found, "items");
      a.state = "read";
      if (seq % 11 === 5) {
        await rest.call("rollback", { transaction: tx });
        a.state = "rolledBack";
      } else {
        a.state = "committing";
        const res = await rest.call<{ writeResults: { updateTime: string }[] }>("commit", {
          transaction: tx,
          writes: [{ update: { name: rest.name(list), fields: { items: strArray([...a.read, a.x]) } } }],
        });
        a.state = "acked";
        a.ackedAt = performance.now();
        a.updateTime = res.writeResults[0]?.updateTime;
      }
    } catch (e) {
      if (!(e instanceof HttpError)) {
        // No answer: the crash (or a timeout). A commit in flight may or may not be applied.
        if (a.state === "committing") a.state = "unknown";
        return lost(ctx, a.x, e);
      }
      // Answered with an error: x was not applied. ABORTED (409, a deadlock) is legitimate and
      // the retry names the aborted transaction so it keeps its age; anything else is reported.
      a.state = "failed";
      if (e.status !== 409) load.errors.push(`${a.x}: ${e.message}`);
      else if (tx !== undefined) retryOf = tx;
    }
    await think(ctx);
  }
}

/** Opens the round's idle transactions: each reads (locks) its document and says nothing more. */
export async function idleTransactions(ctx: LoadContext): Promise<void> {
  await Promise.all(
    [ctx.load.holder, ctx.load.survivor].map(async (t) => {
      try {
        const [entry] = await ctx.rest.batchGet([t.path], { newTransaction: { readWrite: {} } });
        t.tx = entry?.transaction;
        t.lastActive = performance.now();
      } catch (e) {
        ctx.load.errors.push(`idle transaction on ${t.path}: ${describe(e)}`);
      }
    }),
  );
}

/** Plain reads of pool and list documents; each answer is a sample to re-read at its readTime. */
export async function reader(ctx: LoadContext): Promise<void> {
  while (!ctx.stopped()) {
    const paths = [...pickDistinct(poolPaths(), 2), pick(listPaths(ctx.load.epoch))];
    try {
      const entries = await ctx.rest.batchGet(paths);
      const readTime = entries[0]?.readTime ?? "";
      ctx.load.reads.push({ paths, readTime, entries });
    } catch (e) {
      if (!(e instanceof HttpError)) return lost(ctx, "reader", e);
      ctx.load.errors.push(`reader: ${e.message}`);
    }
    await think(ctx);
  }
}

/** `@google-cloud/firestore` over REST, configured as test/e2e/clients.ts does (token "owner"). */
export function sdkClient(port: number, projectId: string): Firestore {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: "owner", expiry_date: Date.now() + 365 * 864e5 });
  return new Firestore({ projectId, host: `127.0.0.1:${port}`, ssl: false, preferRest: true, authClient });
}

function timeText(t: Timestamp): string {
  return canonicalTime(t.seconds, t.nanoseconds);
}

/** The official SDK: runTransaction list appends alternating with WriteBatch units. */
export async function sdkWorker(ctx: LoadContext, db: Firestore, client: string): Promise<void> {
  const { load } = ctx;
  let seq = 0;
  while (!ctx.stopped()) {
    if (seq % 2 === 0) {
      const list = pick(listPaths(load.epoch));
      const attempts: Append[] = [];
      try {
        await db.runTransaction(
          async (tx) => {
            // A new attempt: the previous one's commit, if sent, failed (or its answer was lost).
            const prev = attempts[attempts.length - 1];
            if (prev?.state === "committing") prev.state = "unknown";
            else if (prev?.state === "reading" || prev?.state === "read") prev.state = "failed";
            const a: Append = { client, list, x: `${client}.${load.round}.${seq++}`, state: "reading", readSentAt: 0 };
            attempts.push(a);
            load.appends.push(a);
            a.readSentAt = performance.now();
            const snap = await tx.get(db.doc(list));
            a.read = ((snap.get("items") as string[] | undefined) ?? []).slice();
            a.state = "read";
            tx.set(db.doc(list), { items: [...a.read, a.x] });
            a.state = "committing";
          },
          { maxAttempts: 3 },
        );
        const last = attempts[attempts.length - 1];
        if (last) {
          last.state = "acked";
          last.ackedAt = performance.now();
        }
      } catch (e) {
        const last = attempts[attempts.length - 1];
        if (last?.state === "committing") last.state = "unknown";
        if (ctx.stopped()) return;
        // Giving up after ABORTED answers (HTTP 409) is legitimate; anything else is not.
        if ((e as { code?: unknown }).code !== 409) load.errors.push(`sdk transaction: ${describe(e)}`);
      }
    } else {
      const unit = newUnit(load, client, seq++, "sdkBatch");
      const k = unit.own.length;
      const batch = db.batch();
      unit.own.forEach((p, i) => {
        batch.create(db.doc(p), { token: unit.token, i, k });
      });
      for (const p of unit.pool) batch.set(db.doc(p), { token: unit.token, k, round: load.round });
      try {
        const results = await batch.commit();
        unit.acked = { updateTimes: results.map((r) => timeText(r.writeTime)) };
      } catch (e) {
        if (ctx.stopped()) return;
        // Over REST the SDK reports an HTTP error answer with its status as a numeric `code`;
        // anything else (a timeout) leaves the outcome unknown.
        if (typeof (e as { code?: unknown }).code === "number") rejected(ctx, unit, describe(e));
        else load.errors.push(`${unit.token}: ${describe(e)}`);
      }
    }
    await think(ctx);
  }
}
