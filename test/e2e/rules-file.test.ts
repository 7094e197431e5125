/**
 * The project's `firestore.rules`: `npm start` reads the file (FLARESTORE_RULES names it here) as
 * the rules of every database without rules of its own, reloads it when it changes (refusing a
 * file that does not parse, with its line and column, and keeping the rules in force), and a
 * database's own rules (the emulator's PUT) win over it until they are deleted. A build for deploy
 * carries the file in the bundle, which enforces it with no start-up setting; a file that does not
 * parse stops that build.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { deleteApp, initializeApp } from "firebase/app";
import {
  connectFirestoreEmulator,
  doc,
  getDoc,
  getFirestore,
  onSnapshot,
  setLogLevel,
  terminate,
} from "firebase/firestore";
import { doc as liteDoc, setDoc } from "firebase/firestore/lite";
import { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, type RunningServer, startServer } from "../helpers/server.js";
import { liteClient } from "./clients.js";

// The full SDK logs the streams the reload cuts (it reconnects); that is expected here.
setLogLevel(process.env.FLARESTORE_E2E_DEBUG ? "debug" : "silent");

const OPEN_ONLY = `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /open/{id} { allow read, write: if true; }
  }
}
`;
const EVERYTHING = OPEN_ONLY.replace("match /open/{id}", "match /{c}/{id}");

let dir: string;
let file: string;
let server: RunningServer;

/** Replaces the file as editors do: written aside, then renamed over it. */
function save(text: string): void {
  writeFileSync(`${file}.tmp`, text);
  spawnSync("mv", [`${file}.tmp`, file]);
}

/**
 * Waits until `check` holds. A reload restarts the server's workerd: requests that meet the
 * restart fail, and are tried again.
 */
async function until(what: string, check: () => Promise<boolean> | boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await Promise.resolve(check()).catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms; server said:\n${server.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const allowed = (p: Promise<unknown>) =>
  p.then(
    () => true,
    (e: { code?: string }) => {
      if (e.code !== "permission-denied") throw e;
      return false;
    },
  );

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "flarestore-rules-"));
  file = join(dir, "firestore.rules");
  writeFileSync(file, OPEN_ONLY);
  server = await startServer({ env: { FLARESTORE_RULES: file } });
});

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("firestore.rules under npm start", () => {
  it("decides every database that has no rules of its own", async () => {
    expect(server.output()).toContain(`security rules from ${file}`);
    const client = liteClient("rules-file", { port: server.port });
    try {
      expect(await allowed(setDoc(liteDoc(client.db, "open/a"), { n: 1 }))).toBe(true);
      expect(await allowed(setDoc(liteDoc(client.db, "closed/a"), { n: 1 }))).toBe(false);
      const named = client.database("other");
      expect(await allowed(setDoc(liteDoc(named, "closed/a"), { n: 1 }))).toBe(false);
      const got = await fetch(`${server.url}/emulator/v1/projects/rules-file:securityRules`);
      expect(((await got.json()) as any).rules.files[0].content).toBe(OPEN_ONLY);
    } finally {
      await client.close();
    }
  });

  it("a changed file is reloaded (listeners reconnect); one that does not parse is refused and the rules in force stay", async () => {
    const client = liteClient("rules-reload", { port: server.port });
    // The full SDK over native gRPC, listening across the reload (workerd restarts behind the front).
    const app = initializeApp({ projectId: "rules-reload" }, "rules-reload-full");
    const full = getFirestore(app);
    connectFirestoreEmulator(full, "127.0.0.1", server.port);
    const seen: unknown[] = [];
    const unsubscribe = onSnapshot(doc(full, "open/live"), (s) => seen.push(s.data()?.n));
    try {
      await setDoc(liteDoc(client.db, "open/live"), { n: 1 });
      await until("the listener's first value", () => seen.includes(1));
      save(EVERYTHING);
      await until("the new rules", () => allowed(setDoc(liteDoc(client.db, "closed/b"), { n: 1 })));
      expect(server.output()).toContain(`security rules reloaded from ${file}`);
      await setDoc(liteDoc(client.db, "open/live"), { n: 2 });
      await until("the listener, after the reload", () => seen.includes(2));
      expect((await getDoc(doc(full, "closed/b"))).data()).toEqual({ n: 1 });

      save(`${EVERYTHING}oops {\n`);
      await until("the refusal", () => /the security rules do not load.*firestore\.rules:7:1:/.test(server.output()));
      expect(await allowed(setDoc(liteDoc(client.db, "closed/c"), { n: 1 }))).toBe(true);
    } finally {
      unsubscribe();
      await terminate(full);
      await deleteApp(app);
      await client.close();
    }
  });

  it("a database's own rules (the emulator's PUT) win over the file; DELETE hands it back", async () => {
    save(EVERYTHING);
    const client = liteClient("rules-own", { port: server.port });
    const endpoint = `${server.url}/emulator/v1/projects/rules-own:securityRules`;
    try {
      await until("the file's rules", () => allowed(setDoc(liteDoc(client.db, "x/a"), { n: 1 })));
      const put = await fetch(endpoint, {
        method: "PUT",
        body: JSON.stringify({ rules: { files: [{ content: OPEN_ONLY }] } }),
      });
      expect(put.status).toBe(200);
      expect(await allowed(setDoc(liteDoc(client.db, "x/a"), { n: 2 }))).toBe(false);
      expect((await fetch(endpoint, { method: "DELETE" })).status).toBe(200);
      expect(await allowed(setDoc(liteDoc(client.db, "x/a"), { n: 3 }))).toBe(true);
      expect(((await (await fetch(endpoint)).json()) as any).rules.files[0].content).toBe(EVERYTHING);
    } finally {
      await client.close();
    }
  });
});

describe("firestore.rules bundled for deploy", () => {
  /** `wrangler deploy --dry-run` as a deploy runs it, with FLARESTORE_RULES naming `rules`. */
  function bundle(rules: string) {
    const out = join(dir, `out-${Math.random().toString(36).slice(2)}`);
    mkdirSync(out);
    const result = spawnSync(
      process.execPath,
      [join(ROOT, "node_modules", "wrangler", "bin", "wrangler.js"), "deploy", "--dry-run", "--outdir", out],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          CI: "true",
          WRANGLER_SEND_METRICS: "false",
          CLOUDFLARE_CF_FETCH_ENABLED: "false",
          FLARESTORE_RULES: rules,
        },
        encoding: "utf8",
      },
    );
    return { status: result.status, output: result.stdout + result.stderr, script: join(out, "index.js") };
  }

  it("carries the file into the Worker, which enforces it with nothing set at start-up", async () => {
    const rules = join(dir, "deploy.rules");
    writeFileSync(rules, OPEN_ONLY.replace("/open/{id}", "/deployed/{id}"));
    const built = bundle(rules);
    expect(built.status, built.output).toBe(0);
    expect(readFileSync(built.script, "utf8")).toContain("match /deployed/{id}");
    const mf = new Miniflare({
      modules: true,
      scriptPath: built.script,
      modulesRoot: dirname(built.script),
      compatibilityDate: "2026-04-26",
      compatibilityFlags: ["nodejs_compat"],
      bindings: { FLARESTORE_MODE: "emulator" },
      durableObjects: {
        DATABASE: { className: "DatabaseDO", useSQLite: true },
        REGISTRY: { className: "RegistryDO", useSQLite: true },
      },
    });
    try {
      const base = "http://localhost/v1/projects/p/databases/(default)/documents";
      const write = (path: string) =>
        mf.dispatchFetch(`${base}/${path}`, { method: "PATCH", body: JSON.stringify({ fields: {} }) });
      expect((await write("deployed/a")).status).toBe(200);
      const denied = await write("elsewhere/a");
      expect(denied.status).toBe(403);
      expect(((await denied.json()) as any).error.status).toBe("PERMISSION_DENIED");
    } finally {
      await mf.dispose();
    }
  });

  it("the deploy bundle (no rules file) builds with wrangler deploy --dry-run, and stays small", () => {
    const built = bundle("none");
    expect(built.status, built.output).toBe(0);
    const gzipped = gzipSync(readFileSync(built.script), { level: 9 }).length;
    console.log(
      `[deploy] wrangler deploy --dry-run: index.js ${readFileSync(built.script).length} bytes, ${gzipped} gzipped`,
    );
    // Workers take 3 MB (free) or 10 MB (paid) gzipped; this keeps an eye on growth well before.
    expect(gzipped).toBeLessThan(1024 * 1024);
    expect(built.output).toMatch(/env\.DATABASE \(DatabaseDO\)/);
    expect(built.output).toMatch(/env\.REGISTRY \(RegistryDO\)/);
  });

  it("a file that does not parse stops the build with its line and column", () => {
    const rules = join(dir, "broken.rules");
    writeFileSync(rules, "service cloud.firestore {\n  match /a { allow read: if ; }\n}\n");
    const built = bundle(rules);
    expect(built.status).not.toBe(0);
    expect(built.output).toContain(`${rules}:2:29:`);
  });
});
