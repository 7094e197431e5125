/**
 * Branches: a database per branch (the `x-flarestore-branch` header in emulator mode, or a
 * preview alias's host name), the registry that lists them, forking one database into another
 * branch as of a read time (in pages, in the target's alarm, while the source goes on), and
 * deleting a branch's databases.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { int, newApi, str } from "./helpers.js";

const api = newApi();
const base = `http://flarestore.test/v1/${api.db}/documents`;

function on(branch: string | null, suffix: string, init: RequestInit = {}) {
  const headers = new Headers(init.headers);
  if (branch !== null) headers.set("x-flarestore-branch", branch);
  return SELF.fetch(`${base}${suffix}`, { ...init, headers }).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as any,
  }));
}

function emulator(method: string, path: string, body?: unknown) {
  return SELF.fetch(`http://flarestore.test/emulator/v1${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
}

/** Every document of `branch` at `readTime` (or now), by name: a kindless query. */
async function everything(branch: string | null, readTime?: string) {
  const res = await on(branch, ":runQuery", {
    method: "POST",
    body: JSON.stringify({ structuredQuery: { from: [{ allDescendants: true }] }, ...(readTime ? { readTime } : {}) }),
  });
  expect(res.status).toBe(200);
  return res.body.filter((r: any) => r.document).map((r: any) => r.document);
}

async function until<T>(what: string, fn: () => Promise<T>, done: (v: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("branches", () => {
  it("each branch has its own databases; the header (emulator mode) and a preview host name choose it", async () => {
    const write = (branch: string | null, path: string, n: number) =>
      on(branch, ":commit", {
        method: "POST",
        body: JSON.stringify({ writes: [{ update: { name: api.name(path), fields: { n: int(n) } } }] }),
      });
    expect((await write(null, "c/main-only", 1)).status).toBe(200);
    expect((await write("feat-x", "c/x-only", 2)).status).toBe(200);
    expect((await on(null, "/c/x-only")).status).toBe(404);
    expect((await on("main", "/c/main-only")).status).toBe(200);
    expect((await on("feat-x", "/c/x-only")).body.fields).toEqual({ n: int(2) });
    // A preview alias's URL is its branch; a version preview (8 hex digits) is not an alias.
    const host = (h: string, p: string) => SELF.fetch(`http://${h}/v1/${api.db}/documents${p}`).then((r) => r.status);
    expect(await host("feat-x-flarestore.acct.workers.dev", "/c/x-only")).toBe(200);
    expect(await host("feat-x-flarestore.acct.workers.dev", "/c/main-only")).toBe(404);
    expect(await host("0123abcd-flarestore.acct.workers.dev", "/c/main-only")).toBe(200);
    const bad = await on("Not_A_Branch", "/c/x");
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/is not a branch name/);
  });

  it("the registry lists the branches' databases", async () => {
    const listed = await until(
      "the registry",
      () => emulator("GET", "/branches"),
      (r) => r.body.databases.filter((d: any) => d.project === api.project).length === 2,
    );
    const mine = listed.body.databases.filter((d: any) => d.project === api.project);
    expect(mine.map((d: any) => [d.branch, d.database])).toEqual([
      ["feat-x", "(default)"],
      ["main", "(default)"],
    ]);
    expect(
      (await emulator("GET", "/branches?branch=feat-x")).body.databases.every((d: any) => d.branch === "feat-x"),
    ).toBe(true);
  });

  it("forks a database into another branch as of a read time, in pages, while the source goes on", async () => {
    // 1,200 documents (three pages), a subcollection, and a document with history.
    for (let start = 0; start < 1200; start += 400) {
      const writes = Array.from({ length: 400 }, (_, i) => ({
        update: {
          name: api.name(`items/i${String(start + i).padStart(4, "0")}`),
          fields: { n: int(start + i), s: str("x") },
        },
      }));
      expect((await on(null, ":commit", { method: "POST", body: JSON.stringify({ writes }) })).status).toBe(200);
    }
    await on(null, ":commit", {
      method: "POST",
      body: JSON.stringify({ writes: [{ update: { name: api.name("items/i0000/sub/s"), fields: { deep: int(1) } } }] }),
    });
    await on(null, "/items/i0001?updateMask.fieldPaths=s", {
      method: "PATCH",
      body: JSON.stringify({ fields: { s: str("v2") } }),
    });
    const before = await everything(null);
    const readTime = (
      await on(null, ":runQuery", {
        method: "POST",
        body: JSON.stringify({ structuredQuery: { from: [{ collectionId: "none" }] } }),
      })
    ).body[0].readTime;

    const started = await emulator("POST", `/branches/feat-y/projects/${api.project}/databases/(default):fork`, {
      source: { branch: "main" },
      readTime,
    });
    expect(started.status, JSON.stringify(started.body)).toBe(200);
    expect(started.body).toMatchObject({ state: "copying", readTime, copied: 0 });
    // The source goes on: these changes come after the fork's read time and are not copied.
    await on(null, ":commit", {
      method: "POST",
      body: JSON.stringify({
        writes: [{ update: { name: api.name("items/late"), fields: {} } }, { delete: api.name("items/i0002") }],
      }),
    });
    const done = await until(
      "the fork",
      () => emulator("GET", `/branches/feat-y/projects/${api.project}/databases/(default):fork`),
      (r) => r.body.state !== "copying",
    );
    expect(done.body).toMatchObject({ state: "done", copied: before.length });
    const forked = await everything("feat-y");
    const strip = (docs: any[]) => docs.map((d) => ({ ...d, name: d.name }));
    expect(strip(forked)).toEqual(strip(before));
    expect(forked.some((d: any) => d.name.endsWith("/items/late"))).toBe(false);
    // The fork's database is registered with where it came from.
    const reg = await emulator("GET", "/branches?branch=feat-y");
    expect(reg.body.databases[0].forkedFrom).toBe(`main:${api.project}/(default)@${readTime}`);
    // A fork into a database that holds documents is refused.
    const again = await emulator("POST", `/branches/feat-y/projects/${api.project}/databases/(default):fork`, {
      source: { branch: "main" },
    });
    expect(again.status).toBe(400);
    expect(again.body.error.status).toBe("FAILED_PRECONDITION");
  });

  it("deleting a branch deletes its databases; main is not deleted", async () => {
    const deleted = await emulator("DELETE", "/branches/feat-y");
    expect(deleted.body).toEqual({ branch: "feat-y", deleted: [`projects/${api.project}/databases/(default)`] });
    expect((await emulator("GET", "/branches?branch=feat-y")).body.databases).toEqual([]);
    // Used again, a deleted branch's database is there again, empty (and listed again).
    expect(await everything("feat-y")).toEqual([]);
    expect((await everything(null)).length).toBeGreaterThan(1000);
    const main = await emulator("DELETE", "/branches/main");
    expect(main.status).toBe(400);
    expect(main.body.error.message).toMatch(/main branch is not deleted/);
  });
});
