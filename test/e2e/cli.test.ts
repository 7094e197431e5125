/**
 * `flarestore export | import | clear` (bin/flarestore.mjs) against the real server: a round trip
 * keeps every value type, both times and subcollections exactly; an import killed midway and run
 * again ends as one that ran through; a bad line is reported with its number and changes nothing;
 * a wrong endpoint or token fails with a message.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ROOT } from "../helpers/server.js";
import { rest as restCall, serverPort, uniqueProject } from "./clients.js";

const dir = mkdtempSync(join(tmpdir(), "flarestore-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CLI = join(ROOT, "bin", "flarestore.mjs");

/** A REST call on a project's `(default)` documents, as the admin. */
async function rest(project: string, method: string, suffix: string, body?: unknown) {
  const res = await restCall(method, `projects/${project}/databases/(default)/documents${suffix}`, body);
  return { status: res.status, body: res.json as any };
}

/**
 * Runs the CLI against the test server. Asynchronously: a synchronous spawn would stop this
 * process's event loop, and its HTTP client would then reuse connections the server has closed.
 */
function run(
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

function cli(...args: string[]) {
  return run([...args, "--endpoint", `127.0.0.1:${serverPort()}`]);
}

const EVERY_TYPE = {
  s: { stringValue: "text ☃" },
  i: { integerValue: "-9223372036854775808" },
  d: { doubleValue: -0.5 },
  inf: { doubleValue: "Infinity" },
  nan: { doubleValue: "NaN" },
  b: { booleanValue: false },
  n: { nullValue: null },
  t: { timestampValue: "2020-01-02T03:04:05.123456Z" },
  y: { bytesValue: "AAEC/w==" },
  r: { referenceValue: "projects/other/databases/(default)/documents/x/y" },
  g: { geoPointValue: { latitude: -90, longitude: 180 } },
  a: { arrayValue: { values: [{ integerValue: "1" }, { mapValue: { fields: { k: { stringValue: "v" } } } }] } },
  e: { arrayValue: { values: [] } },
  m: { mapValue: { fields: { deep: { mapValue: { fields: { x: { integerValue: "1" } } } } } } },
  v: {
    mapValue: {
      fields: {
        __type__: { stringValue: "__vector__" },
        value: { arrayValue: { values: [{ doubleValue: 1 }, { doubleValue: 2.5 }] } },
      },
    },
  },
};

async function seed(project: string, count: number): Promise<void> {
  const name = (p: string) => `projects/${project}/databases/(default)/documents/${p}`;
  for (let start = 0; start < count; start += 500) {
    const writes = [];
    for (let i = start; i < Math.min(count, start + 500); i++) {
      writes.push({
        update: { name: name(`items/i${String(i).padStart(5, "0")}`), fields: { n: { integerValue: String(i) } } },
      });
    }
    const res = await rest(project, "POST", ":commit", { writes });
    expect(res.status).toBe(200);
  }
}

/** An export's lines with names relative to the database (to compare two databases). */
function relative(text: string): string[] {
  return text
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => l.replace(/"name":"projects\/[^/]+\/databases\/[^/]+\/documents\//, '"name":"'));
}

describe("flarestore export and import", () => {
  it("a round trip keeps every value type, createTime, updateTime and subcollections exactly", async () => {
    const from = uniqueProject("cli-from");
    const to = uniqueProject("cli-to");
    const name = (p: string) => `projects/${from}/databases/(default)/documents/${p}`;
    const res = await rest(from, "POST", ":commit", {
      writes: [
        { update: { name: name("all/types"), fields: EVERY_TYPE } },
        { update: { name: name("all/types/sub/child"), fields: { x: { integerValue: "1" } } } },
        { update: { name: name("all/types/sub/child/deeper/leaf"), fields: {} } },
        { update: { name: name("other/doc"), fields: { s: { stringValue: "x" } } } },
      ],
    });
    expect(res.status).toBe(200);
    // A second version, so createTime and updateTime differ.
    await rest(from, "PATCH", "/other/doc?updateMask.fieldPaths=t", { fields: { t: { booleanValue: true } } });

    const file = join(dir, "round.ndjson");
    const exported = await cli("export", file, "--project", from);
    expect(exported.status, exported.stderr).toBe(0);
    expect(exported.stderr).toMatch(/exported 4 documents of projects\/.*as of /);
    const lines = readFileSync(file, "utf8").trim().split("\n");
    expect(lines).toHaveLength(4);
    const types = JSON.parse(lines[0] as string);
    expect(types.fields).toEqual(EVERY_TYPE);
    const other = JSON.parse(lines[3] as string);
    expect(other.createTime < other.updateTime).toBe(true);

    const imported = await cli("import", file, "--project", to);
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stderr).toMatch(/imported 4 documents .*: 4 written, 0 already there/);
    const again = await cli("export", "--project", to);
    expect(again.status, again.stderr).toBe(0);
    expect(relative(again.stdout)).toEqual(relative(readFileSync(file, "utf8")));
    // The REST API serves the imported document with its times.
    const got = await rest(to, "GET", "/other/doc");
    expect({ createTime: got.body.createTime, updateTime: got.body.updateTime }).toEqual({
      createTime: other.createTime,
      updateTime: other.updateTime,
    });
    // Run again, it changes nothing; --collection-groups exports only those groups.
    expect((await cli("import", file, "--project", to)).stderr).toMatch(/0 written, 4 already there/);
    const groups = await cli("export", "--project", to, "--collection-groups", "sub,deeper");
    expect(relative(groups.stdout).map((l) => JSON.parse(l).name)).toEqual([
      "all/types/sub/child",
      "all/types/sub/child/deeper/leaf",
    ]);
  });

  it("an import killed midway and run again ends as one that ran through", async () => {
    const from = uniqueProject("cli-big");
    await seed(from, 3000);
    const file = join(dir, "big.ndjson");
    expect((await cli("export", file, "--project", from)).status).toBe(0);

    const whole = uniqueProject("cli-whole");
    expect((await cli("import", file, "--project", whole)).status).toBe(0);

    const resumed = uniqueProject("cli-resumed");
    const checkpoint = `${file}.flarestore-import.json`;
    const child = spawn(process.execPath, [
      CLI,
      "import",
      file,
      "--project",
      resumed,
      "--endpoint",
      `127.0.0.1:${serverPort()}`,
    ]);
    const exited = new Promise((r) => child.on("exit", r));
    const deadline = Date.now() + 30_000;
    while (!existsSync(checkpoint) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    child.kill("SIGKILL");
    await exited;
    expect(existsSync(checkpoint)).toBe(true);
    const linesDone = JSON.parse(readFileSync(checkpoint, "utf8")).linesDone;
    expect(linesDone).toBeGreaterThan(0);
    expect(linesDone).toBeLessThan(3000);

    const rerun = await cli("import", file, "--project", resumed);
    expect(rerun.status, rerun.stderr).toBe(0);
    expect(rerun.stderr).toContain(`resuming after line ${linesDone}`);
    expect(existsSync(checkpoint)).toBe(false);
    expect(relative((await cli("export", "--project", resumed)).stdout)).toEqual(
      relative((await cli("export", "--project", whole)).stdout),
    );
  }, 120_000);

  it("a bad line is reported with its number, and nothing is imported", async () => {
    const to = uniqueProject("cli-bad");
    const ok = (id: string) =>
      JSON.stringify({
        name: `projects/x/databases/(default)/documents/c/${id}`,
        fields: {},
        createTime: "2020-01-01T00:00:00Z",
        updateTime: "2020-01-01T00:00:00Z",
      });
    const cases: [string, RegExp][] = [
      [`${ok("a")}\n{not json\n`, /line 2: not JSON/],
      [
        `${ok("a")}\n\n${ok("b").replace('"fields":{}', '"fields":{"n":{"integerValue":"x"}}')}\n`,
        /line 3: .*documents\[1\]\.fields\.n/,
      ],
      [`${ok("a")}\n${ok("b").replace("/documents/c/b", "/documents/c")}\n`, /line 2: "name" must be a document name/],
      [
        `${ok("a")}\n${ok("b").replace(',"updateTime":"2020-01-01T00:00:00Z"', "")}\n`,
        /line 2: "updateTime" is required/,
      ],
    ];
    for (const [text, message] of cases) {
      const file = join(dir, "bad.ndjson");
      writeFileSync(file, text);
      const r = await cli("import", file, "--project", to);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(message);
    }
    expect((await cli("export", "--project", to)).stdout).toBe("");
  });

  it("a wrong endpoint, a wrong token, a missing project and clear without --yes fail with a message", async () => {
    const bad = await run(["export", "--project", "p", "--endpoint", "127.0.0.1:1"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/flarestore: Cannot reach http:\/\/127\.0\.0\.1:1/);
    const token = await cli("export", "--project", "p", "--token", "garbage");
    expect(token.status).toBe(1);
    expect(token.stderr).toMatch(/401 UNAUTHENTICATED .*\(check --token\)/);
    const project = await run(["export"], { ...process.env, GCLOUD_PROJECT: "" });
    expect(project.status).toBe(1);
    expect(project.stderr).toMatch(/No project/);
    const clear = await cli("clear", "--project", "p");
    expect(clear.status).toBe(1);
    expect(clear.stderr).toMatch(/pass --yes/);
  });

  it("branch fork copies a database into a branch; list shows it; delete frees it", async () => {
    const project = uniqueProject("cli-branch");
    await seed(project, 1200);
    const branch = `pr-${Math.random().toString(36).slice(2, 8)}`;
    const fork = await cli("branch", "fork", branch, "--from", "main", "--project", project);
    expect(fork.status, fork.stderr).toBe(0);
    expect(fork.stderr).toMatch(/forked 1 database\(s\), 1200 documents/);
    const main = await cli("export", "--project", project);
    const forked = await cli("export", "--project", project, "--branch", branch);
    expect(relative(forked.stdout)).toEqual(relative(main.stdout));
    const list = await cli("branch", "list", "--branch", branch);
    expect(list.stdout).toContain(
      `${branch}\tprojects/${project}/databases/(default)\tforked from main:${project}/(default)@`,
    );
    expect((await cli("branch", "delete", branch)).stderr).toMatch(/pass --yes/);
    const deleted = await cli("branch", "delete", branch, "--yes");
    expect(deleted.stderr).toContain(`deleted branch ${branch}: 1 database(s)`);
    expect((await cli("export", "--project", project, "--branch", branch)).stdout).toBe("");
    expect((await cli("branch", "fork", branch, "--from", "no-such-branch")).stderr).toMatch(
      /has no databases to fork/,
    );
  }, 60_000);

  it("copy: from any endpoint into another, then counts and checksums per collection are compared", async () => {
    const from = uniqueProject("cli-copy-from");
    await seed(from, 700);
    await rest(from, "PATCH", "/items/i00000/notes/n1", {
      fields: { t: { timestampValue: "2020-01-01T00:00:00.5Z" } },
    });
    const source = ["--from-endpoint", `127.0.0.1:${serverPort()}`, "--from-token", "owner", "--from-project", from];

    const kept = uniqueProject("cli-copy-kept");
    const copied = await cli("copy", ...source, "--project", kept);
    expect(copied.status, copied.stderr).toBe(0);
    expect(copied.stderr).toMatch(/copied 701 documents .* \(\d+ documents\/s, times kept\)/);
    expect(copied.stderr).toMatch(/ok {3}items: 700 → 700 documents/);
    expect(copied.stderr).toMatch(/ok {3}notes: 1 → 1 documents/);
    expect(copied.stderr).toMatch(/verified: 2 collection\(s\)/);
    expect(relative((await cli("export", "--project", kept)).stdout)).toEqual(
      relative((await cli("export", "--project", from)).stdout),
    );

    // Plain commits (what a copy into Cloud Firestore does): new times, the same documents.
    const plain = uniqueProject("cli-copy-plain");
    const commits = await cli("copy", ...source, "--project", plain, "--writes", "commits");
    expect(commits.status, commits.stderr).toBe(0);
    expect(commits.stderr).toMatch(/plain commits: new times/);
    expect(commits.stderr).toMatch(/verified: 2 collection/);

    // A target that held another document does not verify.
    const dirty = uniqueProject("cli-copy-dirty");
    await rest(dirty, "PATCH", "/items/extra", { fields: {} });
    const differs = await cli("copy", ...source, "--project", dirty);
    expect(differs.status).toBe(1);
    expect(differs.stderr).toMatch(/DIFF items: 700 → 701 documents/);
    expect(differs.stderr).toMatch(/the copy differs from its source in items/);

    const unreachable = await cli("copy", "--from-endpoint", "127.0.0.1:1", "--from-project", "x", "--project", plain);
    expect(unreachable.status).toBe(1);
    expect(unreachable.stderr).toMatch(/Cannot reach http:\/\/127\.0\.0\.1:1/);
  }, 60_000);

  it("clear --yes empties the database", async () => {
    const project = uniqueProject("cli-clear");
    await seed(project, 3);
    expect((await cli("clear", "--yes", "--project", project)).status).toBe(0);
    expect((await cli("export", "--project", project)).stdout).toBe("");
  });
});
