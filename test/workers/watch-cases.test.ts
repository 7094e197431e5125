/**
 * The watch engine's data-driven cases (test/helpers/watch-cases.ts) through the database's
 * Durable Object: each commit a real REST commit, each request a message on a Listen WebSocket.
 * After every step the test sends a probe (`removeTarget` of an id never used): a stream is
 * brought up to date before it handles a request, so everything the step caused is sent before
 * the probe's REMOVE. (The test pool's in-isolate client may receive one event's messages before an
 * earlier event's, so the probe's answer is taken out wherever it lands and the step's messages
 * are awaited by count; anything extra shows up in the next step or at the end.
 * test/e2e/listen-order.test.ts checks the order itself over real sockets.)
 */
import { describe, expect, it } from "vitest";
import { timestampToMicros } from "../../src/model/timestamp.js";
import type { Micros } from "../../src/model/types.js";
import { resumeToken } from "../../src/watch/tokens.js";
import { batches, ROOT, type Step, show, WATCH_CASES } from "../helpers/watch-cases.js";
import { Listener, newApi } from "./helpers.js";

const PROBE = 999_999;

async function run(steps: Step[]): Promise<void> {
  const api = newApi();
  const root = `${api.db}/documents`;
  const here = <T>(x: T): T => JSON.parse(JSON.stringify(x).replaceAll(ROOT, root));
  const commits: Micros[] = [];
  const commitOf = (ts: string) => {
    const t = timestampToMicros(ts, "timestamp");
    return commits.filter((c) => c <= t).length;
  };
  const l = await Listener.open(api);
  for (const [i, step] of steps.entries()) {
    const label = `step ${i}: ${JSON.stringify(step).slice(0, 120)}`;
    if ("forget" in step || "restart" in step) throw new Error(`${label}: not possible through the Durable Object`);
    if ("write" in step) {
      const writes = Object.entries(step.write).map(([path, fields]) =>
        fields === null ? { delete: api.name(path) } : { update: { name: api.name(path), fields } },
      );
      const res = await api.commit(writes);
      expect(res.status, label).toBe(200);
      commits.push(timestampToMicros(res.body.commitTime, "commitTime"));
    } else if ("remove" in step) {
      l.send({ removeTarget: step.remove });
    } else {
      const { resumeFrom, ...addTarget } = here(step.listen);
      if (resumeFrom !== undefined) addTarget.resumeToken = resumeToken(commits[resumeFrom - 1] as Micros);
      l.send({ addTarget });
    }
    l.send({ removeTarget: PROBE });
    const got: string[] = [];
    let probed = false;
    while (!probed || got.length < step.expect.length) {
      const [m] = await l.next();
      if (m.targetChange?.targetChangeType === "REMOVE" && m.targetChange.targetIds[0] === PROBE) probed = true;
      else got.push(show(m, root, commitOf));
    }
    expect(batches(got), label).toEqual(batches(step.expect));
  }
  await l.quiet(200);
  l.ws.close();
}

describe("watch engine cases through the Durable Object", () => {
  for (const c of WATCH_CASES) {
    if (c.memoryOnly) continue;
    it(c.name, () => run(c.steps));
  }
});
