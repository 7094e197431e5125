/**
 * Transactions the crash left open: documents they had locked must become writable (`probeLocks`),
 * an open transaction whose lock nobody took still commits, one whose lock was taken cannot
 * (`commitIdle`).
 */
import type { Violations } from "./checks.js";
import { HttpError, int, type Rest } from "./rest.js";
import type { IdleTx } from "./workload.js";

export interface ProbeResult {
  path: string;
  /** Milliseconds from the restarted server answering until the write was acknowledged. */
  ms: number;
  error?: string;
}

/**
 * A plain write (a `probe` field only, so list items are untouched) to each document a transaction
 * in flight had locked, all at once; each must be acknowledged within `limitMs` of the restart,
 * at a commit time after every time acknowledged before the crash (`after`).
 */
export async function probeLocks(
  rest: Rest,
  paths: readonly string[],
  readyAt: number,
  after: string,
  limits: { limitMs: number; timeoutMs: number },
  v: Violations,
): Promise<ProbeResult[]> {
  return Promise.all(
    [...new Set(paths)].map(async (path, n): Promise<ProbeResult> => {
      try {
        const res = await rest.call<{ commitTime: string }>(
          "commit",
          {
            writes: [
              { update: { name: rest.name(path), fields: { probe: int(n) } }, updateMask: { fieldPaths: ["probe"] } },
            ],
          },
          limits.timeoutMs,
        );
        const ms = performance.now() - readyAt;
        if (ms > limits.limitMs) v.add("locks", `${path}: writable only ${(ms / 1000).toFixed(1)} s after the restart`);
        if (res.commitTime <= after) {
          v.add("durability", `${path}: commit time ${res.commitTime} after the restart is not after ${after}`);
        }
        return { path, ms };
      } catch (e) {
        const ms = performance.now() - readyAt;
        v.add("locks", `${path}: a plain write failed after ${(ms / 1000).toFixed(1)} s: ${(e as Error).message}`);
        return { path, ms, error: (e as Error).message };
      }
    }),
  );
}

/**
 * Commits an idle transaction opened before the crash (writing the document it read). The survivor
 * commits right after the restart and must succeed (transactions and locks are persisted); the
 * holder commits after a plain write took its lock and must be refused (ABORTED, or expired).
 * Returns the outcome: "committed", or the HTTP status of the refusal.
 */
export async function commitIdle(rest: Rest, t: IdleTx, expect: "commit" | "refuse", v: Violations): Promise<string> {
  if (t.tx === undefined) return "not opened";
  let outcome: string;
  try {
    await rest.call("commit", {
      transaction: t.tx,
      writes: [{ update: { name: rest.name(t.path), fields: { late: int(1) } } }],
    });
    outcome = "committed";
  } catch (e) {
    outcome = e instanceof HttpError ? `refused ${e.status}` : `no answer: ${(e as Error).message}`;
    if (!(e instanceof HttpError) || e.status >= 500) {
      v.add("transactions", `${t.path}: committing its transaction after the restart: ${outcome}`);
      return outcome;
    }
  }
  if (expect === "commit" && outcome !== "committed") {
    v.add("transactions", `${t.path}: a transaction open before the crash could not commit after it (${outcome})`);
  }
  if (expect === "refuse" && outcome === "committed") {
    v.add("transactions", `${t.path}: a transaction whose lock a plain write took over still committed`);
  }
  return outcome;
}
