/**
 * A rejected request leaves its kept-alive connection usable (found by the fuzzer): a request
 * answered before its body was read used to make the runtime close the connection with data
 * unread, so the client's next request on that socket failed with ECONNRESET. SDKs keep
 * connections alive, so one bad request cost an unrelated one.
 */
import http from "node:http";
import { afterAll, describe, expect, it } from "vitest";
import { serverPort, uniqueProject } from "./clients.js";

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const DOCS = `/v1/projects/${uniqueProject("conn")}/databases/(default)/documents`;

afterAll(() => agent.destroy());

interface Answer {
  status: number;
  body: string;
  reusedSocket: boolean;
}

function send(
  method: string,
  path: string,
  body?: Buffer | string,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body);
    const req = http.request(
      {
        host: "127.0.0.1",
        port: serverPort(),
        agent,
        method,
        path,
        headers: data === undefined ? headers : { "content-length": String(data.length), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            reusedSocket: req.reusedSocket,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(data);
  });
}

describe("kept-alive connections survive rejected requests", () => {
  const payload = JSON.stringify({ structuredQuery: { from: [{ collectionId: "c" }] }, pad: "x".repeat(200_000) });

  it.each<[string, () => Promise<Answer>, number]>([
    [
      "a bad id in the URL (refused before the body is read)",
      () => send("POST", `${DOCS}/c/__x__:runQuery`, payload),
      400,
    ],
    ["an unknown path", () => send("POST", `/v2/${DOCS}:commit`, payload), 404],
    ["a root method on a document", () => send("POST", `${DOCS}/c/d:commit`, payload), 400],
    ["a GET with a body", () => send("GET", `${DOCS}/c/d`, payload), 404],
    ["an unsupported method with a body", () => send("PUT", `${DOCS}/c/d`, payload), 404],
  ])("%s", async (_label, bad, status) => {
    const warm = await send("GET", `${DOCS}/c/warm`);
    expect(warm.status).toBe(404);
    const rejected = await bad();
    expect(rejected.status, rejected.body).toBe(status);
    expect(JSON.parse(rejected.body).error.code).toBe(status);
    // The next request reuses the same connection and gets its answer.
    const after = await send("GET", `${DOCS}/c/after`);
    expect(after.status).toBe(404);
    expect(after.reusedSocket).toBe(true);
  });

  it("a body over the 10 MiB limit is answered and the connection still serves the next request", async () => {
    const huge = Buffer.alloc(10 * 1024 * 1024 + 10, 0x20);
    const rejected = await send("POST", `${DOCS}:commit`, huge, { "content-type": "application/json" });
    expect(rejected.status).toBe(400);
    expect(JSON.parse(rejected.body).error.message).toMatch(/payload size exceeds/);
    const after = await send("GET", `${DOCS}/c/after`);
    expect(after.status).toBe(404);
  });
});
