/**
 * Order on a Listen WebSocket, over real sockets against `npm start`: responses keep the order of
 * the requests that caused them, and under concurrent commits the snapshots a client sees only move
 * forward and end at the latest state. (Over real sockets because the workers test pool's in-isolate
 * client may deliver one event's messages before an earlier event's.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type RunningServer, startServer } from "../helpers/server.js";
import { rest, uniqueProject } from "./clients.js";

let server: RunningServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(async () => {
  await server?.stop();
});

/** A Listen socket whose messages can be awaited, each wait with a time limit. */
class Socket {
  private readonly queue: any[] = [];
  private wake?: () => void;

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      this.queue.push(JSON.parse(data.toString()));
      this.wake?.();
    });
  }

  static async open(db: string): Promise<Socket> {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/${db}/documents:listen`);
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    return new Socket(ws);
  }

  send(msg: unknown): void {
    this.ws.send(JSON.stringify(msg));
  }

  async next(): Promise<any> {
    const deadline = Date.now() + 10_000;
    while (this.queue.length === 0) {
      if (Date.now() > deadline) throw new Error("no message within 10 s");
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 1000);
      });
    }
    return this.queue.shift();
  }

  /** Messages up to and including the next global snapshot (targetChange with no ids). */
  async untilSnapshot(): Promise<any[]> {
    const out: any[] = [];
    for (;;) {
      const m = await this.next();
      out.push(m);
      if (m.targetChange && m.targetChange.targetIds.length === 0) return out;
    }
  }
}

function database() {
  const db = `projects/${uniqueProject("listen-order")}/databases/(default)`;
  const set = async (path: string, n: number): Promise<string> => {
    const res = await rest(
      "POST",
      `${db}/documents:commit`,
      { writes: [{ update: { name: `${db}/documents/${path}`, fields: { n: { integerValue: String(n) } } } }] },
      { port: server.port },
    );
    expect(res.status).toBe(200);
    return (res.json as { commitTime: string }).commitTime;
  };
  return { db, set, name: (path: string) => `${db}/documents/${path}` };
}

const kind = (m: any): string =>
  m.targetChange
    ? `${m.targetChange.targetChangeType}${m.targetChange.targetIds.length === 0 ? "*" : ""}`
    : String(Object.keys(m)[0]);

describe("Listen order", () => {
  it("responses keep the order of the requests that caused them", async () => {
    const { db, set, name } = database();
    await set("c/x", 1);
    const s = await Socket.open(db);
    const PROBE = 999_999;
    for (let i = 1; i <= 150; i++) {
      if (i % 3 === 0) s.send({ removeTarget: 2 * (i - 1) });
      s.send({ addTarget: { targetId: 2 * i, documents: { documents: [name("c/x")] } } });
      s.send({ removeTarget: PROBE });
      const got: string[] = [];
      for (;;) {
        const m = await s.next();
        if (m.targetChange?.targetChangeType === "REMOVE" && m.targetChange.targetIds[0] === PROBE) break;
        got.push(kind(m));
      }
      expect(got, `round ${i}`).toEqual([
        ...(i % 3 === 0 ? ["REMOVE"] : []),
        "ADD",
        "documentChange",
        "CURRENT",
        "NO_CHANGE*",
      ]);
    }
    s.ws.close();
  });

  it("under concurrent commits and requests, snapshots only move forward and end at the latest state", async () => {
    const { db, set, name } = database();
    await set("rooms/a", 0);
    const s = await Socket.open(db);
    s.send({ addTarget: { targetId: 2, documents: { documents: [name("rooms/a")] } } });
    await s.untilSnapshot();
    const commits = Array.from({ length: 30 }, (_, i) => set("rooms/a", i + 1));
    // A request on the stream while deliveries are pending: it is answered after them.
    s.send({
      addTarget: {
        targetId: 4,
        query: { parent: `${db}/documents`, structuredQuery: { from: [{ collectionId: "rooms" }] } },
      },
    });
    const times = await Promise.all(commits);
    const last = [...times].sort().at(-1) as string;
    const seen: any[] = [];
    let previous = "";
    let added = false;
    while (!added || previous < last) {
      const batch = await s.untilSnapshot();
      seen.push(...batch);
      const readTime = batch.at(-1).targetChange.readTime as string;
      expect(readTime >= previous).toBe(true);
      for (const m of batch) {
        if (m.documentChange) expect(m.documentChange.document.updateTime <= readTime).toBe(true);
        if (m.targetChange?.targetChangeType === "CURRENT") added = true;
      }
      previous = readTime;
    }
    expect(previous).toBe(last);
    const versions = seen.filter((m) => m.documentChange?.targetIds.includes(2)).map((m) => m.documentChange.document);
    // The last version the client has is the one the last commit wrote (n = the largest).
    expect(versions.at(-1).updateTime).toBe(last);
    // Versions only move forward, and none is sent twice.
    const updateTimes = versions.map((d) => d.updateTime as string);
    expect([...updateTimes].sort()).toEqual(updateTimes);
    expect(new Set(updateTimes).size).toBe(updateTimes.length);
    s.ws.close();
  });
});
