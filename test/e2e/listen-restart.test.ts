/**
 * Resume tokens outlive the server: a Listen target resumed with a token from before a restart
 * (`npm start` stopped and started again on the same data folder, as a redeploy or an evicted
 * Durable Object would) gets only what changed since that token, over the plain WebSocket protocol.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type RunningServer, startServer } from "../helpers/server.js";
import { rest, uniqueProject } from "./clients.js";

const dataDir = mkdtempSync(join(tmpdir(), "flarestore-listen-restart-"));
let server: RunningServer | undefined;

afterAll(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Listens with one target until its first snapshot; returns every message up to it. */
function listenOnce(port: number, db: string, target: Record<string, unknown>): Promise<any[]> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/${db}/documents:listen`);
    const got: any[] = [];
    const timer = setTimeout(() => reject(new Error(`no snapshot: ${JSON.stringify(got)}`)), 10_000);
    ws.on("open", () => ws.send(JSON.stringify({ addTarget: { targetId: 2, ...target } })));
    ws.on("error", reject);
    ws.on("message", (data) => {
      const m = JSON.parse(data.toString());
      got.push(m);
      if (m.targetChange && m.targetChange.targetIds.length === 0) {
        clearTimeout(timer);
        ws.close();
        resolve(got);
      }
    });
  });
}

describe("Listen across a restart", () => {
  it("a resume token from before the restart sends only what changed since", async () => {
    const project = uniqueProject("listen-restart");
    const db = `projects/${project}/databases/(default)`;
    server = await startServer({ dataDir });
    const write = (path: string, n: number) =>
      rest(
        "POST",
        `${db}/documents:commit`,
        { writes: [{ update: { name: `${db}/documents/${path}`, fields: { n: { integerValue: String(n) } } } }] },
        { port: server?.port },
      );
    expect((await write("rooms/a", 1)).status).toBe(200);
    expect((await write("rooms/b", 1)).status).toBe(200);
    const target = { query: { parent: `${db}/documents`, structuredQuery: { from: [{ collectionId: "rooms" }] } } };
    const first = await listenOnce(server.port, db, target);
    expect(first.filter((m) => m.documentChange)).toHaveLength(2);
    const token = first.find((m) => m.targetChange?.targetChangeType === "CURRENT").targetChange.resumeToken;

    // While nobody listens: b changes, c appears, a goes. Then the server restarts.
    expect((await write("rooms/b", 2)).status).toBe(200);
    expect((await write("rooms/c", 1)).status).toBe(200);
    expect((await rest("DELETE", `${db}/documents/rooms/a`, undefined, { port: server.port })).status).toBe(200);
    await server.stop();
    server = await startServer({ dataDir });

    const resumed = await listenOnce(server.port, db, { ...target, resumeToken: token, expectedCount: 2 });
    const changed = resumed.filter((m) => m.documentChange).map((m) => m.documentChange.document.name.split("/").pop());
    expect(changed.sort()).toEqual(["b", "c"]);
    expect(resumed.filter((m) => m.documentDelete).map((m) => m.documentDelete.document.split("/").pop())).toEqual([
      "a",
    ]);
    expect(resumed.find((m) => m.filter)?.filter.count).toBe(2);
    expect(resumed.some((m) => m.targetChange?.targetChangeType === "RESET")).toBe(false);
  }, 120_000);
});
