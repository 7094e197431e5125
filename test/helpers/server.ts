/**
 * Starts the real server exactly as `npm start` does (`node scripts/serve.mjs`), on a free port
 * with its own persistence folder, and waits until it answers.
 *
 * `startKillableServer` does the same in a process group of its own, so a crash test can SIGKILL
 * the whole server: `node scripts/serve.mjs` *and* the workerd child Miniflare spawns (killing only
 * the node process orphans workerd, which keeps the port and the database open).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

/** The checkout: the nearest folder above this file holding scripts/serve.mjs (also when bundled elsewhere). */
export const ROOT = findRoot(import.meta.dirname);

function findRoot(from: string): string {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, "scripts", "serve.mjs"))) return dir;
    if (dirname(dir) === dir) return resolve(import.meta.dirname, "../..");
  }
}

export interface RunningServer {
  url: string;
  port: number;
  dataDir: string;
  /** What the server printed so far (stdout and stderr). */
  output(): string;
  stop(): Promise<void>;
}

/** A server in its own process group (see `startKillableServer`). */
export interface KillableServer extends RunningServer {
  /** Pid of `node scripts/serve.mjs`, which is also the process group id. */
  pid: number;
  /** Milliseconds from spawning the process until the server answered. */
  startMs: number;
  /** SIGKILLs the whole process group and waits until every member is gone and the port is free. */
  kill(): Promise<KillReport>;
}

export interface KillReport {
  /** Milliseconds from the signal until the group was gone and the port free. */
  ms: number;
  /** The group's members once the server answered (node and workerd). */
  pids: number[];
}

export interface ServerOptions {
  dataDir?: string;
  port?: number;
  /** More environment for `npm start` (e.g. FLARESTORE_HEAP_MB). */
  env?: Record<string, string>;
  /** Arguments for `npm start -- …` (e.g. `--import DIR`). */
  args?: string[];
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? res(addr.port) : rej(new Error("no port"))));
    });
  });
}

export async function startServer(opts: ServerOptions = {}): Promise<RunningServer> {
  const { child, url, port, dataDir, output } = await launch(opts, false);
  return {
    url,
    port,
    dataDir,
    output,
    stop: () =>
      new Promise<void>((res) => {
        if (child.exitCode !== null) return res();
        child.once("exit", () => res());
        child.kill("SIGTERM");
        setTimeout(() => child.kill("SIGKILL"), 10_000).unref();
      }),
  };
}

/** Live groups, SIGKILLed if this process exits without stopping them (servers never outlive it). */
const liveGroups = new Set<number>();
process.once("exit", () => {
  for (const pgid of liveGroups) signalGroup(pgid, "SIGKILL");
});

/** Like `startServer`, in its own process group, with `kill()` for crash tests. */
export async function startKillableServer(opts: ServerOptions = {}): Promise<KillableServer> {
  const { child, url, port, dataDir, startMs, output } = await launch(opts, true);
  const pid = child.pid as number;
  const stop = async (): Promise<void> => {
    if (!liveGroups.has(pid)) return;
    signalGroup(pid, "SIGTERM");
    try {
      await waitUntilGone(pid, port, 10_000);
    } catch {
      signalGroup(pid, "SIGKILL");
      await waitUntilGone(pid, port, 10_000);
    }
    liveGroups.delete(pid);
  };
  // Taken now, not at the kill: the signal must not wait for a /proc scan while requests complete.
  const pids = groupMembers(pid) ?? [pid];
  const kill = async (): Promise<KillReport> => {
    const started = performance.now();
    signalGroup(pid, "SIGKILL");
    await waitUntilGone(pid, port, 10_000);
    liveGroups.delete(pid);
    return { ms: performance.now() - started, pids };
  };
  return { url, port, dataDir, output, pid, startMs, stop, kill };
}

async function launch(
  opts: ServerOptions,
  detached: boolean,
): Promise<{
  child: ChildProcess;
  url: string;
  port: number;
  dataDir: string;
  startMs: number;
  output: () => string;
}> {
  const port = opts.port ?? (await freePort());
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), "flarestore-e2e-"));
  const started = performance.now();
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, "scripts", "serve.mjs"), ...(opts.args ?? [])], {
    cwd: ROOT,
    // No project rules file unless a test names one: a firestore.rules in the checkout is not theirs.
    env: { ...process.env, FLARESTORE_RULES: "none", ...opts.env, PORT: String(port), FLARESTORE_DATA: dataDir },
    stdio: ["ignore", "pipe", "pipe"],
    detached,
  });
  if (detached && child.pid !== undefined) liveGroups.add(child.pid);
  const killAll = () => {
    if (detached && child.pid !== undefined) {
      signalGroup(child.pid, "SIGKILL");
      liveGroups.delete(child.pid);
    } else child.kill("SIGKILL");
  };
  let output = "";
  child.stdout?.on("data", (d) => (output += d));
  child.stderr?.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) {
      killAll();
      throw new Error(`server exited early:\n${output}`);
    }
    try {
      const res = await fetch(`${url}/`, { signal: AbortSignal.timeout(5_000) });
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      killAll();
      throw new Error(`server did not start within 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, url, port, dataDir, startMs: performance.now() - started, output: () => output };
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ESRCH") throw e;
  }
}

/**
 * Live (not zombie) members of process group `pgid`, from /proc. Undefined where there is no
 * /proc; callers then rely on `kill(-pgid, 0)`.
 */
export function groupMembers(pgid: number): number[] | undefined {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  const out: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, "utf8");
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid pgrp …": comm may hold spaces and parentheses, so split after the last ")".
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const state = fields[0];
    if (Number(fields[2]) === pgid && state !== "Z" && state !== "X") out.push(Number(entry));
  }
  return out;
}

function groupAlive(pgid: number): boolean {
  const members = groupMembers(pgid);
  if (members !== undefined) return members.length > 0;
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether nothing listens on 127.0.0.1:`port`: a connection is refused and the port can be bound. */
export async function portIsFree(port: number): Promise<boolean> {
  const refused = await new Promise<boolean>((res) => {
    const socket = connect({ host: "127.0.0.1", port });
    socket.setTimeout(2_000, () => {
      socket.destroy();
      res(false);
    });
    socket.once("connect", () => {
      socket.destroy();
      res(false);
    });
    socket.once("error", (e: NodeJS.ErrnoException) => res(e.code === "ECONNREFUSED"));
  });
  if (!refused) return false;
  return new Promise<boolean>((res) => {
    const srv = createServer();
    srv.once("error", () => res(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => res(true)));
  });
}

async function waitUntilGone(pgid: number, port: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (!groupAlive(pgid) && (await portIsFree(port))) return;
    if (performance.now() > deadline) {
      throw new Error(
        `server group ${pgid} still alive (${groupMembers(pgid)?.join(", ") ?? "?"}) or port ${port} busy after ${timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}
