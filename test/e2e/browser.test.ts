/**
 * CORS from a real browser: Debian's Chromium (headless, driven by playwright-core) loads a page
 * from one origin (a tiny node:http server) whose script — the unmodified web builds of
 * `firebase/app` + `firebase/firestore/lite`, bundled by esbuild — talks to the real server on
 * another origin. Every SDK call therefore needs a CORS preflight (the SDK sends x-goog-api-client,
 * google-cloud-resource-prefix, x-goog-request-params, x-firebase-gmpid, and Authorization with
 * `mockUserToken`), and the browser alone decides whether the responses are readable.
 *
 * The test fails on any console error (other than the expected "status of 404" lines of the
 * deliberate not-found calls), page error, failed request or DevTools CORS error, and checks
 * every preflight and response header the browser actually received.
 *
 * Without /usr/bin/chromium the tests are skipped — except under CI, where they fail.
 */
import { existsSync } from "node:fs";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import {
  bundlePage,
  CHROMIUM,
  CHROMIUM_ARGS,
  type HttpServer,
  serve,
  servePage,
  withTimeout,
} from "./browser/harness.js";
import { type Exchange, NetworkRecorder, type Observations } from "./browser/recorder.js";
import type { FlarestorePageApi, ScenarioResult } from "./browser/types.js";

const HAVE_CHROMIUM = existsSync(CHROMIUM);
const IN_CI = Boolean(process.env.CI);
const SKIP = !HAVE_CHROMIUM && !IN_CI;
if (SKIP) {
  console.warn(
    `[browser.test] SKIPPED: ${CHROMIUM} not found (install Debian's chromium to run the real-browser CORS test).`,
  );
}

const API_KEY = "browser-test-api-key";
const APP_ID = "1:1234567890:web:browsertest";
const PAGE_CALL_TIMEOUT_MS = 20_000;

const apiPort = inject("serverPort");
const apiOrigin = new URL(inject("serverUrl")).origin;
const runId = Math.random().toString(36).slice(2, 10);
const project = (name: string) => `e2e-browser-${name}-${runId}`;

let pageServer: HttpServer | undefined;
let noCorsServer: HttpServer | undefined;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;
let recorder: NetworkRecorder;
let pageOrigin: string;

/** Calls `window.flarestore[method](...args)` in the page, bounded by a timeout that names the call. */
function callPage<K extends keyof FlarestorePageApi>(
  method: K,
  ...args: Parameters<FlarestorePageApi[K]>
): Promise<Awaited<ReturnType<FlarestorePageApi[K]>>> {
  const call = page.evaluate(
    ({ method, args }) => {
      const api = window.flarestore;
      if (!api) throw new Error("window.flarestore is not set: /page.js did not load or threw");
      return (api[method] as (...a: unknown[]) => Promise<unknown>)(...args);
    },
    { method, args: args as unknown[] },
  );
  return withTimeout(
    call as Promise<Awaited<ReturnType<FlarestorePageApi[K]>>>,
    PAGE_CALL_TIMEOUT_MS,
    `window.flarestore.${method}(${JSON.stringify(args)}) in Chromium did not settle (a hung request?)`,
  );
}

/** Under CI a missing Chromium is a failure of every test here, not a skip. */
function requireChromium(): void {
  if (!HAVE_CHROMIUM) {
    throw new Error(
      `${CHROMIUM} is missing: CI must install Debian's chromium (apt-get install chromium) for the real-browser CORS test.`,
    );
  }
}

beforeAll(async () => {
  if (!HAVE_CHROMIUM) return; // each test then skips (locally) or fails (CI)
  const bundle = await withTimeout(bundlePage(), 30_000, "esbuild bundling test/e2e/browser/page.ts");
  pageServer = await servePage(bundle);
  noCorsServer = await serve((_req, res) => {
    // A server with no CORS headers at all: the control for the failure detectors.
    res.writeHead(200, { "content-type": "application/json" });
    res.end('{"ok":true}');
  });
  pageOrigin = pageServer.origin;
  expect(pageOrigin).not.toBe(apiOrigin);

  browser = await withTimeout(
    chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 }),
    35_000,
    `launching ${CHROMIUM}`,
  );
  context = await browser.newContext();
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const cdp = await context.newCDPSession(page);
  const watched = [apiOrigin, noCorsServer.origin];
  recorder = await NetworkRecorder.attach(page, cdp, (url) => watched.some((o) => url.startsWith(`${o}/`)));

  await page.goto(`${pageOrigin}/`, { waitUntil: "load" });
  await page
    .waitForFunction(() => window.flarestore !== undefined, undefined, { timeout: 15_000 })
    .catch(async (e) => {
      const obs = await recorder.settle();
      throw new Error(`page script did not expose window.flarestore: ${e}\n${JSON.stringify(obs, null, 2)}`);
    });
});

afterAll(async () => {
  const quietly = (p: Promise<unknown> | undefined, what: string) =>
    p ? withTimeout(p, 10_000, what).catch((e) => console.warn(`[browser.test] ${what}: ${e}`)) : undefined;
  await quietly(context?.close(), "closing the browser context");
  await quietly(browser?.close(), "closing Chromium");
  await quietly(pageServer?.close(), "closing the page server");
  await quietly(noCorsServer?.close(), "closing the no-CORS server");
});

beforeEach(() => {
  requireChromium();
  recorder.reset();
});

/** A readable dump of what the browser saw, attached to assertion messages. */
const dump = (obs: Observations) =>
  JSON.stringify(
    {
      ...obs,
      exchanges: obs.exchanges.map((e) => ({
        ...e,
        requestHeaders: pick(e.requestHeaders, /^(origin|access-control-|authorization|x-|google-|content-type)/),
      })),
    },
    null,
    2,
  );

const pick = (h: Record<string, string>, re: RegExp) =>
  Object.fromEntries(Object.entries(h).filter(([k]) => re.test(k)));

const headerList = (v: string | undefined) =>
  (v ?? "")
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);

const HTTP_STATUS_LOG = /^Failed to load resource: the server responded with a status of (\d+)/;

/**
 * The browser-side CORS verdict for one test: nothing failed, every preflight was answered with
 * the echoed origin, credentials allowed and the requested method and headers allowed, every
 * response carried the echoed origin and `Access-Control-Allow-Credentials: true`, and the only
 * console errors are the HTTP error statuses listed in `expectedHttpErrors` ("404 <path>").
 */
function expectCleanCors(
  obs: Observations,
  expectedHttpErrors: string[],
): { fetches: Exchange[]; preflights: Exchange[] } {
  const msg = `what Chromium saw:\n${dump(obs)}`;
  expect(obs.pageErrors, msg).toEqual([]);
  expect(obs.requestFailures, msg).toEqual([]);
  expect(
    obs.exchanges.filter((e) => e.failure !== undefined).map((e) => `${e.type} ${e.method} ${e.url}: ${e.failure}`),
    msg,
  ).toEqual([]);
  const otherErrors = obs.consoleErrors.filter((c) => !HTTP_STATUS_LOG.test(c.text));
  expect(otherErrors, msg).toEqual([]);
  const httpErrors = obs.consoleErrors.map((c) => {
    const url = new URL(c.url);
    return `${HTTP_STATUS_LOG.exec(c.text)?.[1]} ${url.pathname}`;
  });
  expect(httpErrors.sort(), msg).toEqual([...expectedHttpErrors].sort());

  const preflights = obs.exchanges.filter((e) => e.type === "Preflight");
  const fetches = obs.exchanges.filter((e) => e.type !== "Preflight");
  if (process.env.FLARESTORE_E2E_DEBUG) {
    console.log(
      [...preflights, ...fetches]
        .map((e) => `${e.type} ${e.method} ${e.url} -> ${e.status} ${e.responseHeaders["access-control-allow-origin"]}`)
        .join("\n"),
    );
  }
  expect(fetches.length, msg).toBeGreaterThan(0);
  expect(preflights.length, `no CORS preflight was observed; ${msg}`).toBeGreaterThan(0);

  for (const p of preflights) {
    const where = `preflight OPTIONS ${p.url}\nrequest: ${JSON.stringify(p.requestHeaders)}\nresponse ${p.status}: ${JSON.stringify(p.responseHeaders)}`;
    expect(p.method, where).toBe("OPTIONS");
    expect(p.requestHeaders.origin, where).toBe(pageOrigin);
    expect(p.status, where).toBeGreaterThanOrEqual(200);
    expect(p.status, where).toBeLessThan(300);
    expect(p.responseHeaders["access-control-allow-origin"], where).toBe(pageOrigin);
    expect(p.responseHeaders["access-control-allow-credentials"], where).toBe("true");
    const method = p.requestHeaders["access-control-request-method"] ?? "";
    expect(headerList(p.responseHeaders["access-control-allow-methods"]), where).toContain(method.toLowerCase());
    const allowed = headerList(p.responseHeaders["access-control-allow-headers"]);
    for (const h of headerList(p.requestHeaders["access-control-request-headers"])) expect(allowed, where).toContain(h);
  }
  for (const f of fetches) {
    const where = `${f.method} ${f.url}\nrequest: ${JSON.stringify(f.requestHeaders)}\nresponse ${f.status}: ${JSON.stringify(f.responseHeaders)}`;
    expect(f.requestHeaders.origin, where).toBe(pageOrigin);
    expect(f.responseHeaders["access-control-allow-origin"], where).toBe(pageOrigin);
    expect(f.responseHeaders["access-control-allow-credentials"], where).toBe("true");
    expect(headerList(f.responseHeaders.vary), where).toContain("origin");
  }
  // Every URL the page fetched with non-simple headers was preflighted first (fresh URLs per test).
  const preflighted = new Set(preflights.map((p) => p.url));
  expect(
    fetches.filter((f) => !preflighted.has(f.url)).map((f) => `${f.method} ${f.url}`),
    `fetched without a preflight; ${msg}`,
  ).toEqual([]);
  return { fetches, preflights };
}

function expectScenario(r: ScenarioResult, startedAt: number): void {
  expect(r.sdkVersion).toBe("12.19.0");
  expect(r.afterSet).toEqual({ exists: true, data: { name: "Ada", n: 1, tags: ["x", "y"], nested: { ok: true } } });
  expect(r.afterUpdate).toMatchObject({ n: 3, nested: { ok: true, more: "yes" }, atIsTimestamp: true });
  expect(r.afterUpdate.atMillis).toBeGreaterThanOrEqual(startedAt - 10_000);
  expect(r.afterUpdate.atMillis).toBeLessThanOrEqual(Date.now() + 10_000);
  expect(r.afterBatch).toEqual({ a: 13, b: { v: 5 }, cExists: false });
  expect(r.transaction).toEqual({ returned: 18, a: 18, b: { v: 6, touched: true } });
  expect(r.afterDelete).toEqual({ aExists: true, bExists: false });
  expect(r.missingUpdate, JSON.stringify(r.missingUpdate)).toMatchObject({ name: "FirebaseError", code: "not-found" });
}

/** The SDK's own request shape: POST …:rpc?key=…, with its non-simple headers (and Authorization iff mockUserToken). */
function expectSdkRequests(
  fetches: Exchange[],
  preflights: Exchange[],
  projectId: string,
  mockUser?: string,
): Set<string> {
  const rpcs = new Set<string>();
  for (const f of fetches) {
    const where = `${f.method} ${f.url}\nrequest: ${JSON.stringify(f.requestHeaders)}`;
    const url = new URL(f.url);
    expect(f.method, where).toBe("POST");
    expect(url.pathname, where).toMatch(
      new RegExp(`^/v1/projects/${projectId}/databases/\\(default\\)/documents:\\w+$`),
    );
    rpcs.add(url.pathname.split(":").pop() ?? "");
    expect(url.searchParams.get("key"), where).toBe(API_KEY);
    expect(f.requestHeaders["x-goog-api-client"], where).toMatch(/fire\/12\.19\.0/);
    expect(f.requestHeaders["x-firebase-gmpid"], where).toBe(APP_ID);
    expect(f.requestHeaders["google-cloud-resource-prefix"], where).toBe(`projects/${projectId}/databases/(default)`);
    expect(f.requestHeaders["x-goog-request-params"], where).toBe(`project_id=${projectId}`);
    if (mockUser === undefined) {
      expect(f.requestHeaders.authorization, where).toBeUndefined();
    } else {
      const token = /^Bearer (.+)$/.exec(f.requestHeaders.authorization ?? "")?.[1] ?? "";
      const payload = JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8") || "null");
      expect(payload, where).toMatchObject({ user_id: mockUser, sub: mockUser, aud: projectId });
    }
  }
  for (const p of preflights) {
    const requested = headerList(p.requestHeaders["access-control-request-headers"]);
    expect(requested).toEqual(
      expect.arrayContaining(["x-goog-api-client", "google-cloud-resource-prefix", "x-goog-request-params"]),
    );
    expect(requested.includes("authorization"), `preflight of ${p.url} requested ${requested}`).toBe(
      mockUser !== undefined,
    );
  }
  expect([...rpcs]).toEqual(expect.arrayContaining(["commit", "batchGet"]));
  return rpcs;
}

describe("CORS from a real browser (Chromium + firebase/firestore/lite on another origin)", () => {
  it.skipIf(SKIP)("the lite SDK's set/get/update/batch/transaction/delete work cross-origin (no auth)", async () => {
    const projectId = project("anon");
    const startedAt = Date.now();
    const result = await callPage("runScenario", { port: apiPort, projectId, collection: "things" });
    const obs = await recorder.settle();
    expectScenario(result, startedAt);
    const { fetches, preflights } = expectCleanCors(obs, [
      `404 /v1/projects/${projectId}/databases/(default)/documents:commit`,
    ]);
    expectSdkRequests(fetches, preflights, projectId);
  });

  it.skipIf(SKIP)(
    "the same with connectFirestoreEmulator(..., { mockUserToken }) (Authorization: Bearer <jwt>)",
    async () => {
      const projectId = project("alice");
      const startedAt = Date.now();
      const result = await callPage("runScenario", {
        port: apiPort,
        projectId,
        collection: "things",
        mockUser: "alice",
      });
      const obs = await recorder.settle();
      expectScenario(result, startedAt);
      const { fetches, preflights } = expectCleanCors(obs, [
        `404 /v1/projects/${projectId}/databases/(default)/documents:commit`,
      ]);
      expectSdkRequests(fetches, preflights, projectId, "alice");
    },
  );

  it.skipIf(SKIP)(
    "a credentialed fetch with Authorization is preflighted, and its responses (errors too) are readable",
    async () => {
      const projectId = project("raw");
      const docPath = `/v1/projects/${projectId}/databases/(default)/documents/raw/doc`;
      const missingPath = `/v1/projects/${projectId}/databases/(default)/documents/raw/missing`;

      const patched = await callPage("rawFetch", `${apiOrigin}${docPath}`, {
        method: "PATCH",
        authorization: "Bearer owner",
        body: JSON.stringify({ fields: { greeting: { stringValue: "hello" } } }),
      });
      expect(patched, JSON.stringify(patched)).toMatchObject({
        status: 200,
        body: { fields: { greeting: { stringValue: "hello" } } },
      });

      const got = await callPage("rawFetch", `${apiOrigin}${docPath}`, { authorization: "Bearer owner" });
      expect(got, JSON.stringify(got)).toMatchObject({
        status: 200,
        ok: true,
        body: { fields: { greeting: { stringValue: "hello" } } },
      });
      expect(got.visibleHeaders["content-type"]).toMatch(/^application\/json/);

      const missing = await callPage("rawFetch", `${apiOrigin}${missingPath}`, { authorization: "Bearer owner" });
      expect(missing, JSON.stringify(missing)).toMatchObject({
        status: 404,
        ok: false,
        body: { error: { status: "NOT_FOUND" } },
      });

      const obs = await recorder.settle();
      const { fetches, preflights } = expectCleanCors(obs, [`404 ${missingPath}`]);
      expect(fetches.map((f) => `${f.method} ${new URL(f.url).pathname} ${f.status}`)).toEqual([
        `PATCH ${docPath} 200`,
        `GET ${docPath} 200`,
        `GET ${missingPath} 404`,
      ]);
      for (const f of fetches) expect(f.requestHeaders.authorization).toBe("Bearer owner");
      expect(
        preflights.map((p) => [
          p.requestHeaders["access-control-request-method"],
          new URL(p.url).pathname,
          headerList(p.requestHeaders["access-control-request-headers"]),
        ]),
      ).toEqual(
        // (Chromium may reuse the PATCH preflight's cached answer for the GET of the same URL.)
        expect.arrayContaining([
          ["PATCH", docPath, ["authorization", "content-type"]],
          ["GET", missingPath, ["authorization"]],
        ]),
      );
    },
  );

  it.skipIf(SKIP)("control: the same checks do catch a CORS failure (a server without CORS headers)", async () => {
    const url = `${noCorsServer?.origin}/v1/anything`;
    await expect(callPage("rawFetch", url, { authorization: "Bearer x" })).rejects.toThrow(/Failed to fetch/);
    const obs = await recorder.settle();
    expect(obs.requestFailures.length, dump(obs)).toBeGreaterThan(0);
    expect(
      obs.consoleErrors.some((c) => /blocked by CORS policy/.test(c.text)),
      dump(obs),
    ).toBe(true);
    expect(
      obs.exchanges.some((e) => /CORS/.test(e.failure ?? "")),
      dump(obs),
    ).toBe(true);
    recorder.reset();
  });
});
