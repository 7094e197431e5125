/**
 * Crash loop: run a mixed load against `npm start`, SIGKILL the whole server (node and workerd)
 * in the middle of it, restart it on the same data folder and check what survived (checks.ts).
 * Used by test/e2e/crash.test.ts (a few rounds) and scripts/crash-loop.mjs (many).
 *
 * The restarted server listens on a new port, so requests a client library still retries after
 * the crash can never reach it (they would blur "acknowledged before the crash").
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { shortenAdminBackoff } from "../helpers/admin-backoff.js";
import { freePort, type KillableServer, startKillableServer } from "../helpers/server.js";
import { checkLists, checkReadSamples, checkUnits, shuffle, Violations } from "./checks.js";
import { Rest, sleep } from "./rest.js";
import { commitIdle, type ProbeResult, probeLocks } from "./transactions.js";
import {
  batchWriter,
  commitWriter,
  idleTransactions,
  type LoadContext,
  listAppender,
  listPaths,
  type ReadSample,
  type RoundLoad,
  reader,
  sdkClient,
  sdkWorker,
  type Unit,
} from "./workload.js";

export interface CrashLoopOptions {
  rounds: number;
  /** The load runs a random time in [min, max] ms before the kill. */
  loadMs: [number, number];
  /** Random pause (0..thinkMs) between a client's operations. */
  thinkMs: number;
  /** Locked documents must be writable this long after the restart (the server aborts contended idle transactions after 15 s). */
  lockLimitMs: number;
  /** Hard limit of one lock probe (beyond the 60 s idle expiry). */
  probeTimeoutMs: number;
  /** Acknowledged units of earlier rounds re-checked after each crash (a random sample; Infinity: all). */
  recheckUnits: number;
  /** Plain reads re-read at their readTime per round, and how many of each round are re-read in every later round. */
  readSamples: number;
  carriedReads: number;
  /** Acknowledged appends read at their commit time per round. */
  appendSamples: number;
  /** Lists are replaced every this many rounds (keeps documents and their history small). */
  roundsPerEpoch: number;
  /** No round starts after this many ms (a round in progress still finishes, within its own limits). */
  budgetMs: number;
  dataDir?: string;
  keepData?: boolean;
  log?: (line: string) => void;
}

export const DEFAULTS: CrashLoopOptions = {
  rounds: 4,
  loadMs: [1000, 2500],
  thinkMs: 4,
  lockLimitMs: 20_000,
  probeTimeoutMs: 75_000,
  recheckUnits: Number.POSITIVE_INFINITY,
  readSamples: 40,
  carriedReads: 4,
  appendSamples: 40,
  roundsPerEpoch: 5,
  budgetMs: 30 * 60_000,
};

export interface RoundReport {
  round: number;
  loadMs: number;
  /** Units without an answer (the crash) turned out applied or not: both are allowed. */
  units: { sent: number; acked: number; rejected: number; unansweredApplied: number; unansweredLost: number };
  appends: { acked: number; unknown: number; unknownApplied: number; failed: number; inFlight: number };
  /** Acknowledged units and appends per client (c*: commit, b*: batchWrite, t*: raw transactions, sdk). */
  byClient: Record<string, number>;
  /** Acknowledged document writes and appends verified after the restart (this round's and re-checked ones). */
  ackedChecked: number;
  readSamplesChecked: number;
  killMs: number;
  /** Spawn until the server answered, then until the database answered its first read. */
  restartMs: number;
  dbReadyMs: number;
  locks: ProbeResult[];
  /** Longest wait until a locked document was writable, from the restarted server answering. */
  lockFreeMs: number;
  /** The same from the kill. */
  lockFreeSinceKillMs: number;
  /** From the holder transaction's last answered request until its document was writable (server: 15 s contended idle). */
  holderIdleMs: number | undefined;
  /** The idle transactions' commits after the restart: the survivor's at once, the holder's after its lock was taken. */
  survivor: string;
  holder: string;
  checkMs: number;
  violations: number;
}

export interface CrashLoopResult {
  rounds: RoundReport[];
  violations: Violations["list"];
  project: string;
  dataDir: string;
  ms: number;
}

export async function runCrashLoop(overrides: Partial<CrashLoopOptions> = {}): Promise<CrashLoopResult> {
  const opts: CrashLoopOptions = { ...DEFAULTS, ...overrides };
  const log = opts.log ?? (() => {});
  const started = performance.now();
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "flarestore-crash-"));
  const project = `crash-${Math.random().toString(36).slice(2, 10)}`;
  const allUnits = new Map<string, Unit>();
  const ackedUnits: Unit[] = [];
  const maxAckedPool = new Map<string, string>();
  let lists = new Map<string, string[]>();
  let carried: ReadSample[] = [];
  const reports: RoundReport[] = [];
  const violations: Violations["list"] = [];
  // The SDK's REST backoff after a failure is up to 90 s; short, so its worker stops with the load.
  const restoreBackoff = shortenAdminBackoff(200);
  let server: KillableServer | undefined = await startKillableServer({ dataDir });
  log(`server up in ${Math.round(server.startMs)} ms (port ${server.port}, data ${dataDir}, project ${project})`);
  try {
    for (let round = 0; round < opts.rounds && performance.now() - started < opts.budgetMs; round++) {
      const epoch = Math.floor(round / opts.roundsPerEpoch);
      if (round % opts.roundsPerEpoch === 0) lists = new Map();
      const load: RoundLoad = {
        round,
        epoch,
        units: [],
        appends: [],
        reads: [],
        holder: { path: `holders/r${round}` },
        survivor: { path: `survivors/r${round}` },
        errors: [],
      };

      // -- load, then the kill ----------------------------------------------------------------
      let stopped = false;
      const ctx: LoadContext = {
        rest: new Rest(server.port, project),
        load,
        stopped: () => stopped,
        thinkMs: opts.thinkMs,
      };
      const db = sdkClient(server.port, project);
      const clients = [
        idleTransactions(ctx),
        commitWriter(ctx, "c1"),
        commitWriter(ctx, "c2"),
        batchWriter(ctx, "b1"),
        listAppender(ctx, "t1"),
        listAppender(ctx, "t2"),
        listAppender(ctx, "t3"),
        sdkWorker(ctx, db, "sdk"),
        reader(ctx),
      ];
      const loadMs = opts.loadMs[0] + Math.random() * (opts.loadMs[1] - opts.loadMs[0]);
      await sleep(loadMs);
      // What is in flight at this instant: transactions that may hold locks through the crash.
      const inFlight = load.appends.filter((a) => ["reading", "read", "committing"].includes(a.state));
      const lockTargets = [load.holder.path, ...inFlight.map((a) => a.list)];
      stopped = true;
      const oldPort = server.port;
      const killAt = performance.now();
      const kill = await server.kill();
      server = undefined;
      // Every request of the dead server fails at once; the SDK retries with short backoffs (see
      // shortenAdminBackoff), so its worker stops soon. Terminating it mid-request would make its
      // pending calls fail as unhandled rejections, so a client still busy is left to finish.
      const settled = await Promise.race([
        Promise.allSettled(clients).then(() => true),
        sleep(30_000).then(() => false),
      ]);
      if (settled) void Promise.race([db.terminate(), sleep(5_000)]).catch(() => {});

      // -- restart on the same folder ------------------------------------------------------------
      let port = await freePort();
      while (port === oldPort) port = await freePort();
      server = await startKillableServer({ dataDir, port });
      const readyAt = performance.now();
      const rest = new Rest(server.port, project);
      await rest.batchGet([]);
      const dbReadyMs = performance.now() - readyAt;

      // -- checks (the lock probes run meanwhile: they write only a `probe` field) ---------------
      const v = new Violations(round);
      for (const e of load.errors) v.add("load", e);
      for (const u of load.units) allUnits.set(u.token, u);
      const recheck =
        ackedUnits.length <= opts.recheckUnits ? ackedUnits : shuffle([...ackedUnits]).slice(0, opts.recheckUnits);
      const reads = pickReads(load.reads, opts.readSamples);
      const checkStart = performance.now();
      const lastAcked = [
        ...load.units.flatMap((u) => u.acked?.updateTimes ?? []),
        ...load.appends.flatMap((a) => a.updateTime ?? []),
      ].reduce((m, t) => (t > m ? t : m), "");
      const limits = { limitMs: opts.lockLimitMs, timeoutMs: opts.probeTimeoutMs };
      const [survivor, [locks, holder], unitResult, listResult, readResult] = await Promise.all([
        commitIdle(rest, load.survivor, "commit", v),
        probeLocks(rest, lockTargets, readyAt, lastAcked, limits, v).then(
          async (locks) => [locks, await commitIdle(rest, load.holder, "refuse", v)] as const,
        ),
        checkUnits(rest, load.units, recheck, allUnits, maxAckedPool, v),
        checkLists(rest, listPaths(epoch), load.appends, load.reads, lists, opts.appendSamples, v),
        checkReadSamples(rest, [...reads, ...carried], v),
      ]);
      const checkMs = performance.now() - checkStart;
      lists = listResult.finals;
      ackedUnits.push(...load.units.filter((u) => u.acked));
      const fresh = readResult.passed.filter((r) => reads.includes(r));
      const kept = carried.filter((r) => readResult.passed.includes(r));
      carried = [...kept, ...shuffle(fresh).slice(0, opts.carriedReads)].slice(-15 * opts.carriedReads);
      violations.push(...v.list);

      const byClient: Record<string, number> = {};
      for (const x of [...load.units.filter((u) => u.acked), ...load.appends.filter((a) => a.state === "acked")]) {
        const client = "token" in x ? (x.token.split(".")[0] as string) : x.client;
        byClient[client] = (byClient[client] ?? 0) + 1;
      }
      const lockFreeMs = Math.max(0, ...locks.map((l) => l.ms));
      const holderProbe = locks.find((l) => l.path === load.holder.path);
      const report: RoundReport = {
        round,
        loadMs,
        units: {
          sent: load.units.length,
          acked: load.units.filter((u) => u.acked).length,
          rejected: load.units.filter((u) => u.rejected !== undefined).length,
          unansweredApplied: unitResult.unansweredApplied,
          unansweredLost: unitResult.unansweredLost,
        },
        appends: {
          acked: load.appends.filter((a) => a.state === "acked").length,
          unknown: load.appends.filter((a) => a.state === "unknown").length,
          unknownApplied: listResult.unknownApplied,
          failed: load.appends.filter((a) => a.state === "failed").length,
          inFlight: inFlight.length,
        },
        byClient,
        ackedChecked: unitResult.checked + listResult.checked,
        readSamplesChecked: readResult.checked,
        killMs: kill.ms,
        restartMs: server.startMs,
        dbReadyMs,
        locks,
        lockFreeMs,
        lockFreeSinceKillMs: readyAt - killAt + lockFreeMs,
        holderIdleMs:
          holderProbe && load.holder.lastActive !== undefined
            ? readyAt + holderProbe.ms - load.holder.lastActive
            : undefined,
        survivor,
        holder,
        checkMs,
        violations: v.list.length,
      };
      reports.push(report);
      log(formatRound(report));
      for (const x of v.list.slice(0, 10)) log(`  VIOLATION [${x.check}] ${x.detail}`);
      if (v.list.length > 10) log(`  … ${v.list.length - 10} more violations this round`);
    }
  } finally {
    restoreBackoff();
    await server?.stop();
    if (!opts.keepData && opts.dataDir === undefined) rmSync(dataDir, { recursive: true, force: true });
  }
  return { rounds: reports, violations, project, dataDir, ms: performance.now() - started };
}

/** The last reads before the crash (the likeliest to be lost) and a random sample of the others. */
function pickReads(reads: readonly ReadSample[], n: number): ReadSample[] {
  const last = reads.slice(-Math.ceil(n / 4));
  const rest = shuffle(reads.slice(0, -Math.ceil(n / 4) || undefined)).slice(0, n - last.length);
  return [...rest, ...last];
}

const s = (ms: number) => (ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`);

export function formatRound(r: RoundReport): string {
  const clients = Object.entries(r.byClient)
    .map(([c, n]) => `${c} ${n}`)
    .join(" ");
  return (
    `round ${String(r.round).padStart(3)}: load ${s(r.loadMs)}; units ${r.units.acked}/${r.units.sent} acked,` +
    ` ${r.units.rejected} rejected, unanswered ${r.units.unansweredApplied} applied ${r.units.unansweredLost} not;` +
    ` appends ${r.appends.acked} acked, ${r.appends.failed} rejected, ${r.appends.unknown} unanswered (${r.appends.unknownApplied} applied);` +
    ` [${clients}]; ${r.appends.inFlight} tx in flight; kill ${Math.round(r.killMs)}ms, restart ${s(r.restartMs)};` +
    ` ${r.locks.length} locked docs writable after ${s(r.lockFreeMs)} (holder idle ${r.holderIdleMs === undefined ? "?" : s(r.holderIdleMs)});` +
    ` survivor tx ${r.survivor}, holder tx ${r.holder};` +
    ` ${r.ackedChecked} acked writes + ${r.readSamplesChecked} readTime reads checked in ${s(r.checkMs)}; ${r.violations} violations`
  );
}

function stats(xs: number[]): string {
  if (xs.length === 0) return "n/a";
  const sorted = [...xs].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
  return `min ${s(q(0))} median ${s(q(0.5))} max ${s(sorted[sorted.length - 1] as number)}`;
}

function tally(xs: string[]): string {
  const counts = new Map<string, number>();
  for (const x of xs) counts.set(x, (counts.get(x) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${k} ×${n}`).join(", ");
}

/** A human summary of a run (what scripts/crash-loop.mjs prints). */
export function summarize(result: CrashLoopResult): string {
  const r = result.rounds;
  const sum = (f: (x: RoundReport) => number) => r.reduce((n, x) => n + f(x), 0);
  const byCheck = new Map<string, number>();
  for (const v of result.violations) byCheck.set(v.check, (byCheck.get(v.check) ?? 0) + 1);
  return [
    `rounds:                 ${r.length} in ${s(result.ms)}`,
    `units (commit/batch):   ${sum((x) => x.units.acked)} acknowledged of ${sum((x) => x.units.sent)} sent, ${sum((x) => x.units.rejected)} rejected;` +
      ` unanswered at the crash: ${sum((x) => x.units.unansweredApplied)} applied, ${sum((x) => x.units.unansweredLost)} not`,
    `list appends:           ${sum((x) => x.appends.acked)} acknowledged, ${sum((x) => x.appends.failed)} rejected;` +
      ` unanswered at the crash: ${sum((x) => x.appends.unknown)} (${sum((x) => x.appends.unknownApplied)} applied)`,
    `acked writes checked:   ${sum((x) => x.ackedChecked)} (document writes and appends, re-checks of earlier rounds included)`,
    `readTime reads checked: ${sum((x) => x.readSamplesChecked)}`,
    `kill (group gone, port free): ${stats(r.map((x) => x.killMs))}`,
    `restart (spawn → answering):  ${stats(r.map((x) => x.restartMs))}`,
    `first database read after:    ${stats(r.map((x) => x.dbReadyMs))}`,
    `locked docs writable after restart: ${stats(r.map((x) => x.lockFreeMs))} (${sum((x) => x.locks.length)} documents probed)`,
    `                  … after the kill: ${stats(r.map((x) => x.lockFreeSinceKillMs))}`,
    `  … after the holder's last request: ${stats(r.flatMap((x) => (x.holderIdleMs === undefined ? [] : [x.holderIdleMs])))}`,
    `open transactions after the restart: survivor ${tally(r.map((x) => x.survivor))}; holder (lock taken) ${tally(r.map((x) => x.holder))}`,
    `violations:             ${result.violations.length}${byCheck.size ? ` (${[...byCheck].map(([k, n]) => `${k} ${n}`).join(", ")})` : ""}`,
  ].join("\n");
}
