/**
 * `npm start -- --export-on-exit DIR` writes every database (every branch's) when the server
 * stops; `npm start -- --import DIR` loads such a folder at start-up, times kept. The Firebase
 * emulator's flags, for seed data kept in a repository.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startServer } from "../helpers/server.js";

const dir = mkdtempSync(join(tmpdir(), "flarestore-seed-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function call(url: string, method: string, path: string, body?: unknown, branch?: string) {
  const res = await fetch(`${url}/v1/projects/seeded/databases/(default)/documents${path}`, {
    method,
    headers: { "content-type": "application/json", ...(branch ? { "x-flarestore-branch": branch } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe("--export-on-exit and --import", () => {
  it("a stopped server writes every database; a new one starts with them, times kept", async () => {
    const folder = join(dir, "seed");
    const first = await startServer({ args: ["--export-on-exit", folder] });
    let main: any;
    let dev: any;
    try {
      main = (await call(first.url, "PATCH", "/users/ada", { fields: { name: { stringValue: "Ada" } } })).body;
      await call(first.url, "PATCH", "/users/ada/posts/p1", { fields: { n: { integerValue: "1" } } });
      dev = (await call(first.url, "PATCH", "/users/dev", { fields: {} }, "dev")).body;
    } finally {
      await first.stop();
    }
    expect(first.output()).toMatch(/exported 3 documents of 2 database\(s\)/);
    expect(existsSync(join(folder, "flarestore-export.json"))).toBe(true);
    expect(
      readFileSync(join(folder, "main", "seeded", "(default).ndjson"), "utf8")
        .trim()
        .split("\n"),
    ).toHaveLength(2);

    const second = await startServer({ args: ["--import", folder] });
    try {
      expect(second.output()).toMatch(/imported 3 documents into 2 database\(s\)/);
      expect((await call(second.url, "GET", "/users/ada")).body).toEqual(main);
      expect((await call(second.url, "GET", "/users/ada/posts/p1")).status).toBe(200);
      expect((await call(second.url, "GET", "/users/dev", undefined, "dev")).body).toEqual(dev);
      expect((await call(second.url, "GET", "/users/dev")).status).toBe(404);
    } finally {
      await second.stop();
    }
  });

  it("--import of a folder that is not an export stops the server with a message", async () => {
    await expect(startServer({ args: ["--import", dir] })).rejects.toThrow(
      /is neither a flarestore export .* nor a Firebase emulator export/,
    );
    await expect(startServer({ args: ["--frobnicate"] })).rejects.toThrow(/Unknown option '--frobnicate'/);
  });
});
