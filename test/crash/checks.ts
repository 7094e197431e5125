/**
 * What must hold after a crash and restart, checked against what the clients recorded:
 *
 * - durability: every acknowledged write is there with the updateTime it was acknowledged with
 *   (own documents as they are now, pool documents at their commit time);
 * - atomicity: a commit's documents all carry its token or none do, a rejected commit left nothing,
 *   and every pool document's current token belongs to a commit that was applied whole;
 * - history: each list is a serializable append history (see `checkLists`);
 * - readTime: a read captured before the crash reads back identically at its readTime;
 * - locks and transactions: see transactions.ts.
 */
import { type GetEntry, pool, type RawDoc, type Rest, readStrArray } from "./rest.js";
import { type Append, poolPaths, type ReadSample, type Unit } from "./workload.js";

export type CheckName =
  | "durability"
  | "atomicity"
  | "history"
  | "readTime"
  | "readTimeBoundary"
  | "locks"
  | "transactions"
  | "load";

export interface Violation {
  round: number;
  check: CheckName;
  detail: string;
}

export class Violations {
  readonly list: Violation[] = [];
  constructor(private readonly round: number) {}
  add(check: CheckName, detail: string): void {
    this.list.push({ round: this.round, check, detail });
  }
}

const token = (doc: RawDoc | undefined): string | undefined => doc?.fields?.token?.stringValue;

const ATOMIC = new Set(["commit", "sdkBatch"]);

/**
 * Durability and atomicity of write units. `current`: this round's units (acknowledged or not);
 * `recheck`: acknowledged units of earlier rounds, checked again after this crash. `allUnits`
 * knows every token ever issued; `maxAckedPool` the newest acknowledged write of each pool document.
 * Returns how many acknowledged document writes were checked, and how many units without an
 * answer turned out applied (the crash took the answer, not the write) or not.
 */
export async function checkUnits(
  rest: Rest,
  current: readonly Unit[],
  recheck: readonly Unit[],
  allUnits: ReadonlyMap<string, Unit>,
  maxAckedPool: Map<string, string>,
  v: Violations,
): Promise<{ checked: number; unansweredApplied: number; unansweredLost: number }> {
  const units = [...current, ...recheck];
  const own = await rest.getMany(units.flatMap((u) => u.own));
  let checked = 0;
  let unansweredApplied = 0;
  let unansweredLost = 0;
  // Pool documents are overwritten by later commits: each is read at the time its commit applied.
  const atTime: { unit: Unit; time: string; expected: string[] }[] = [];
  for (const u of units) {
    const docs = u.own.map((p) => own.get(p));
    const present = docs.filter((d) => d !== undefined);
    for (const d of present) {
      if (token(d) !== u.token) v.add("atomicity", `${d.name} carries token ${token(d)}, not ${u.token}`);
    }
    const times = new Set(present.map((d) => d.updateTime));
    if (!u.acked && u.rejected === undefined) {
      if (present.length > 0) unansweredApplied++;
      else unansweredLost++;
    }
    if (u.acked) {
      checked += u.own.length + u.pool.length;
      docs.forEach((d, i) => {
        const want = u.acked?.updateTimes[i];
        if (d === undefined) v.add("durability", `acknowledged ${u.kind} ${u.token}: ${u.own[i]} is missing`);
        else if (d.updateTime !== want) {
          v.add("durability", `acknowledged ${u.kind} ${u.token}: ${u.own[i]} updateTime ${d.updateTime} ≠ ${want}`);
        }
      });
      const poolTimes = u.acked.updateTimes.slice(u.own.length);
      const first = poolTimes[0];
      if (first !== undefined) atTime.push({ unit: u, time: first, expected: poolTimes });
    } else if (ATOMIC.has(u.kind)) {
      if (u.rejected !== undefined && present.length > 0) {
        v.add("atomicity", `${u.kind} ${u.token} was rejected (${u.rejected}) but ${present.length} documents exist`);
      }
      if (present.length === u.own.length && times.size === 1) {
        const t = [...times][0] as string;
        atTime.push({ unit: u, time: t, expected: u.pool.map(() => t) });
      }
    }
    if (ATOMIC.has(u.kind)) {
      if (present.length !== 0 && present.length !== u.own.length) {
        v.add("atomicity", `${u.kind} ${u.token}: ${present.length} of its ${u.own.length} documents exist`);
      }
      if (times.size > 1) v.add("atomicity", `${u.kind} ${u.token}: its documents have ${times.size} update times`);
    }
  }
  await pool(atTime, 8, async ({ unit, time, expected }) => {
    const docs = await rest.getMany(unit.pool, { readTime: time });
    unit.pool.forEach((p, j) => {
      const d = docs.get(p);
      if (token(d) !== unit.token || d?.updateTime !== expected[j]) {
        const what = unit.acked ? "acknowledged" : "applied";
        v.add(
          unit.acked ? "durability" : "atomicity",
          `${what} ${unit.kind} ${unit.token}: at ${time} ${p} has token ${token(d)} updated ${d?.updateTime}, expected updated ${expected[j]}`,
        );
      }
    });
  });
  for (const u of current) {
    if (!u.acked) continue;
    u.pool.forEach((p, j) => {
      const t = u.acked?.updateTimes[u.own.length + j] ?? "";
      if (t > (maxAckedPool.get(p) ?? "")) maxAckedPool.set(p, t);
    });
  }
  await checkPool(rest, allUnits, maxAckedPool, v);
  return { checked, unansweredApplied, unansweredLost };
}

/** Every pool document's state comes from one whole, applied commit no older than the last acknowledged one. */
async function checkPool(
  rest: Rest,
  allUnits: ReadonlyMap<string, Unit>,
  maxAckedPool: ReadonlyMap<string, string>,
  v: Violations,
): Promise<void> {
  const docs = await rest.getMany(poolPaths());
  const owners: { path: string; doc: RawDoc; unit: Unit }[] = [];
  for (const [path, doc] of docs) {
    const newest = maxAckedPool.get(path);
    if (doc === undefined) {
      if (newest !== undefined) v.add("durability", `${path} is missing; a write to it was acknowledged at ${newest}`);
      continue;
    }
    if (newest !== undefined && doc.updateTime < newest) {
      v.add("durability", `${path} went back in time: updated ${doc.updateTime}, acknowledged ${newest}`);
    }
    const unit = allUnits.get(token(doc) ?? "");
    if (!unit) v.add("atomicity", `${path} carries token ${token(doc)} that no client sent`);
    else if (ATOMIC.has(unit.kind)) owners.push({ path, doc, unit });
  }
  const own = await rest.getMany(owners.flatMap((o) => o.unit.own));
  for (const { path, doc, unit } of owners) {
    const bad = unit.own.filter((p) => own.get(p)?.updateTime !== doc.updateTime);
    if (bad.length > 0) {
      v.add("atomicity", `${path} carries ${unit.token} (updated ${doc.updateTime}) but its ${bad.join(", ")} do not`);
    }
  }
}

/**
 * List-append histories. Each list must (1) extend its state verified after the previous crash,
 * (2) hold no duplicates and only elements whose commit was sent and not rejected, (3) hold every
 * acknowledged element, (4) hold each applied element right after what its transaction read, (5)
 * have every read value (of any attempt) as a prefix, no shorter than the previous state, and (6)
 * be consistent with real time: a read sent after an append was acknowledged contains it. Plain
 * reads of a list (the reader's) must also have seen a prefix.
 * Acknowledged raw appends are also read at their commit time (up to `sampleAtTime`).
 * Returns the verified lists, how many acknowledged appends were checked and how many appends
 * whose commit had no answer were applied.
 */
export async function checkLists(
  rest: Rest,
  lists: readonly string[],
  appends: readonly Append[],
  plainReads: readonly ReadSample[],
  previous: ReadonlyMap<string, readonly string[]>,
  sampleAtTime: number,
  v: Violations,
): Promise<{ finals: Map<string, string[]>; checked: number; unknownApplied: number }> {
  const docs = await rest.getMany(lists);
  const finals = new Map<string, string[]>();
  let checked = 0;
  let unknownApplied = 0;
  for (const list of lists) {
    const final = readStrArray(docs.get(list), "items");
    finals.set(list, final);
    const prev = previous.get(list) ?? [];
    const mine = appends.filter((a) => a.list === list);
    const byX = new Map(mine.map((a) => [a.x, a]));
    const index = new Map<string, number>();
    final.forEach((x, i) => {
      if (index.has(x)) v.add("history", `${list}: ${x} appears twice (at ${index.get(x)} and ${i})`);
      else index.set(x, i);
    });
    if (!isPrefix(prev, final)) {
      v.add("history", `${list}: the state verified before (${prev.length} items) is not a prefix of ${fmt(final)}`);
    }
    for (const x of final.slice(prev.length)) {
      const a = byX.get(x);
      if (!a) v.add("history", `${list}: ${x} was never sent in a commit to this list`);
      else if (a.state !== "acked" && a.state !== "unknown") {
        v.add("history", `${list}: ${x} is present but its transaction ended ${a.state}`);
      }
    }
    for (const a of mine) {
      const at = index.get(a.x);
      if (a.state === "unknown" && at !== undefined) unknownApplied++;
      if (a.state === "acked") {
        checked++;
        if (at === undefined) v.add("durability", `${list}: acknowledged append ${a.x} is missing`);
      }
      if (a.read !== undefined) {
        if (!isPrefix(a.read, final))
          v.add("history", `${list}: ${a.x} read ${fmt(a.read)}, not a prefix of ${fmt(final)}`);
        else if (a.read.length < prev.length) {
          v.add(
            "history",
            `${list}: ${a.x} read ${a.read.length} items, fewer than the ${prev.length} verified before`,
          );
        }
        if (at !== undefined && at !== a.read.length) {
          v.add("history", `${list}: ${a.x} read ${a.read.length} items but was applied at index ${at}`);
        }
      }
    }
    // Plain (non-transactional) reads of the list saw committed states too: prefixes of the final one.
    for (const r of plainReads) {
      for (const e of r.entries) {
        if (e.found?.name !== rest.name(list)) continue;
        const seen = readStrArray(e.found, "items");
        if (!isPrefix(seen, final))
          v.add("history", `${list}: a plain read at ${r.readTime} saw ${fmt(seen)}, not a prefix of ${fmt(final)}`);
      }
    }
    // Real time: every append acknowledged before a read was sent is in what that read returned.
    const acked = mine
      .filter((a) => a.state === "acked" && a.ackedAt !== undefined && index.has(a.x))
      .sort((p, q) => (p.ackedAt as number) - (q.ackedAt as number));
    for (const r of mine) {
      if (r.read === undefined) continue;
      const missed = acked.find(
        (a) => (a.ackedAt as number) < r.readSentAt && (index.get(a.x) as number) >= r.read!.length,
      );
      if (missed) v.add("history", `${list}: ${r.x}'s read was sent after ${missed.x} was acknowledged but misses it`);
    }
  }
  // Each sampled acknowledged append, read at its commit time, shows exactly read + [x].
  const timed = appends.filter((a) => a.state === "acked" && a.updateTime !== undefined && a.read !== undefined);
  const sample = timed.length <= sampleAtTime ? timed : shuffle([...timed]).slice(0, sampleAtTime);
  await pool(sample, 8, async (a) => {
    const doc = (await rest.getMany([a.list], { readTime: a.updateTime })).get(a.list);
    const got = readStrArray(doc, "items");
    const want = [...(a.read as string[]), a.x];
    if (doc?.updateTime !== a.updateTime || got.join("\n") !== want.join("\n")) {
      v.add(
        "readTime",
        `${a.list} at ${a.updateTime} (after ${a.x}): ${fmt(got)} updated ${doc?.updateTime}, expected ${fmt(want)}`,
      );
    }
  });
  return { finals, checked, unknownApplied };
}

/**
 * Re-reads each sample at its readTime: the same documents, the same versions. A difference that is
 * a commit stamped exactly at the read's readTime (committed after the read answered) is reported as
 * `readTimeBoundary`, a bug of its own that needs no crash (see test/e2e/read-time.test.ts).
 * Returns the samples that read back identically (worth re-reading after later crashes).
 */
export async function checkReadSamples(
  rest: Rest,
  samples: readonly ReadSample[],
  v: Violations,
): Promise<{ checked: number; passed: ReadSample[] }> {
  const passed: ReadSample[] = [];
  await pool(samples, 8, async (s) => {
    let ok = true;
    const again = await rest.batchGet(s.paths, { readTime: s.readTime });
    const before = new Map(s.entries.map((e) => [entryName(e), e]));
    for (const e of again) {
      const was = before.get(entryName(e));
      if (e.readTime !== s.readTime) {
        ok = false;
        v.add("readTime", `read at ${s.readTime} answered readTime ${e.readTime}`);
      }
      if (!was || stable(was.found) !== stable(e.found)) {
        ok = false;
        const boundary = e.found?.updateTime === s.readTime && (was?.found?.updateTime ?? "") < s.readTime;
        v.add(
          boundary ? "readTimeBoundary" : "readTime",
          `${entryName(e).replace(/^.*\/documents\//, "")} at ${s.readTime}: read ${brief(was?.found)} before the crash, ${brief(e.found)} after`,
        );
      }
    }
    if (ok) passed.push(s);
  });
  return { checked: samples.length, passed };
}

/** A document in a few words: its token or list length, and its updateTime. */
function brief(doc: RawDoc | undefined): string {
  if (!doc) return "(missing)";
  const items = doc.fields?.items?.arrayValue;
  const what = token(doc) ?? (items ? `${items.values?.length ?? 0} items` : "?");
  return `${what} updated ${doc.updateTime}`;
}

function entryName(e: GetEntry): string {
  return e.found?.name ?? e.missing ?? "?";
}

/** JSON with sorted keys, for comparing documents regardless of key order. */
function stable(x: unknown): string {
  if (x === undefined) return "(missing)";
  return JSON.stringify(x, (_k, val) =>
    val && typeof val === "object" && !Array.isArray(val)
      ? Object.fromEntries(Object.entries(val as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : val,
  );
}

function isPrefix(p: readonly string[], of: readonly string[]): boolean {
  return p.length <= of.length && p.every((x, i) => of[i] === x);
}

function fmt(xs: readonly string[]): string {
  return xs.length <= 6
    ? `[${xs.join(", ")}]`
    : `[${xs.slice(0, 2).join(", ")}, … ${xs.length - 4} more …, ${xs.slice(-2).join(", ")}]`;
}

export function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}
