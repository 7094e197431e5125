/**
 * The fuzzer (scripts/fuzz.mjs) at CI size: a fixed seed, a few thousand mutated requests of every
 * method against the real server. Fails on any violation: a 5xx, a dropped connection, an error
 * that is not a google.rpc.Status JSON matching its HTTP status, or a database changed by a
 * rejected request. `npm run fuzz -- --requests 100000 --seed N` runs it at full size.
 */
import { describe, expect, it } from "vitest";
import { checkResponse, HTTP_STATUS } from "../../scripts/fuzz/check.mjs";
import { checkLocalUrl, runFuzz } from "../../scripts/fuzz/run.mjs";
import { Code, codeName, httpStatusOf } from "../../src/errors/index.js";
import { serverUrl } from "./clients.js";

const SEED = 20_240_601;
const REQUESTS = 3000;

describe("fuzzing the REST API", () => {
  it("the fuzzer's status table is the server's (src/errors)", () => {
    for (const code of Object.values(Code)) expect(HTTP_STATUS[codeName(code)]).toBe(httpStatusOf(code));
    expect(Object.keys(HTTP_STATUS).length).toBe(Object.keys(Code).length);
  });

  it("the checker catches what it should", () => {
    const json = (status: number, body: unknown, type = "application/json") => ({
      status,
      headers: { "content-type": type },
      body: Buffer.from(typeof body === "string" ? body : JSON.stringify(body)),
    });
    const get = { method: "GET" };
    expect(checkResponse(get, json(400, { error: { code: 400, message: "m", status: "INVALID_ARGUMENT" } }))).toEqual(
      [],
    );
    expect(checkResponse(get, json(500, { error: { code: 500, message: "m", status: "INTERNAL" } }))).not.toEqual([]);
    expect(checkResponse(get, json(404, { error: { code: 400, message: "m", status: "NOT_FOUND" } }))).not.toEqual([]);
    expect(checkResponse(get, json(409, { error: { code: 409, message: "", status: "ABORTED" } }))).not.toEqual([]);
    expect(checkResponse(get, json(400, { error: { code: 400, message: "m", status: "NOT_FOUND" } }))).not.toEqual([]);
    expect(checkResponse(get, json(400, "Bad Request", "text/plain"))).not.toEqual([]);
    expect(checkResponse(get, json(200, "[1"))).not.toEqual([]);
    expect(() => checkLocalUrl("http://example.com:80")).toThrow(/127\.0\.0\.1/);
    expect(() => checkLocalUrl("http://localhost:8080")).toThrow(/127\.0\.0\.1/);
  });

  it(`${REQUESTS} mutated requests (seed ${SEED}): no violation`, { timeout: 120_000 }, async () => {
    const summary = await runFuzz({ url: serverUrl(), requests: REQUESTS, seed: SEED, lanes: 6 });
    const report = JSON.stringify(summary.violations.slice(0, 5), null, 2);
    expect(summary.violationCount, report).toBe(0);
    expect(summary.requests).toBe(REQUESTS);
    // The run exercised both sides: accepted requests (state changes) and rejections of each kind.
    expect(summary.accepted).toBeGreaterThan(REQUESTS / 5);
    expect(summary.byStatus["400"]).toBeGreaterThan(REQUESTS / 5);
    expect(summary.byStatus["404"]).toBeGreaterThan(0);
    expect(summary.stateChecks).toBeGreaterThan(REQUESTS / 4);
    expect(Object.keys(summary.byCorpus).length).toBe(14);
    expect(summary.generatorErrors).toBe(0);
  });
});
