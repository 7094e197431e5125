/**
 * Every class of bad input gets a google.rpc.Status 4xx naming what was wrong, and leaves the
 * database exactly as it was.
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { type Api, int, newApi, str } from "./helpers.js";

let api: Api;
let snapshot: string;

/** The observable state: every document of collection `c`, with times. */
async function state(): Promise<string> {
  const res = await api.fetch("/c?pageSize=100&showMissing=true");
  return await res.text();
}

beforeAll(async () => {
  api = newApi();
  await api.set("c/a", { n: int(1), s: str("x") });
  await api.set("c/b", { n: int(2) });
  snapshot = await state();
});

async function expectRejected(res: Response, httpStatus: number, status: string, mention?: string | RegExp) {
  const text = await res.text();
  expect(res.status, text).toBe(httpStatus);
  const body = JSON.parse(text);
  expect(body.error.code).toBe(httpStatus);
  expect(body.error.status).toBe(status);
  expect(typeof body.error.message).toBe("string");
  if (mention !== undefined) expect(body.error.message).toMatch(mention);
  expect(await state()).toBe(snapshot);
}

const post = (suffix: string, body: string) => api.fetch(suffix, { method: "POST", body });
const commitBody = (write: unknown) =>
  JSON.stringify({ writes: [{ update: { name: api.name("c/a"), fields: { n: int(99) } } }, write] });

describe("malformed requests", () => {
  it("malformed JSON", async () => {
    await expectRejected(await post(":commit", '{"writes": ['), 400, "INVALID_ARGUMENT", /Invalid JSON payload/);
    await expectRejected(await post(":commit", "[1,2]"), 400, "INVALID_ARGUMENT");
    await expectRejected(await post(":commit", '"text"'), 400, "INVALID_ARGUMENT");
  });

  it("wrong JSON types", async () => {
    await expectRejected(await post(":commit", '{"writes": {}}'), 400, "INVALID_ARGUMENT", /writes/);
    await expectRejected(await post(":commit", '{"writes": [1]}'), 400, "INVALID_ARGUMENT", /writes\[0\]/);
    await expectRejected(await post(":batchGet", '{"documents": "c/a"}'), 400, "INVALID_ARGUMENT", /documents/);
    await expectRejected(
      await post(":commit", commitBody({ update: { name: 5 } })),
      400,
      "INVALID_ARGUMENT",
      /writes\[1\]/,
    );
  });

  it("unknown fields", async () => {
    await expectRejected(await post(":commit", '{"wrtes": []}'), 400, "INVALID_ARGUMENT", /Unknown name "wrtes"/);
    await expectRejected(
      await post(":commit", commitBody({ update: { name: api.name("c/b"), fields: {} }, bogus: 1 })),
      400,
      "INVALID_ARGUMENT",
      /bogus/,
    );
    await expectRejected(await api.fetch("/c/a?foo=1"), 400, "INVALID_ARGUMENT", /foo/);
  });

  it("a write with no operation or two operations", async () => {
    await expectRejected(await post(":commit", commitBody({})), 400, "INVALID_ARGUMENT", /writes\[1\]/);
    await expectRejected(
      await post(":commit", commitBody({ delete: api.name("c/b"), verify: api.name("c/b") })),
      400,
      "INVALID_ARGUMENT",
    );
    await expectRejected(
      await post(":commit", commitBody({ delete: api.name("c/b"), updateMask: { fieldPaths: ["a"] } })),
      400,
      "INVALID_ARGUMENT",
    );
  });

  it("snake_case field names are accepted (proto3 JSON), enums as numbers", async () => {
    const res = await post(
      ":commit",
      JSON.stringify({
        writes: [
          {
            update: { name: api.name("z/1"), fields: {} },
            update_transforms: [{ field_path: "t", set_to_server_value: 1 }],
            current_document: { exists: false },
          },
        ],
      }),
    );
    expect(res.status).toBe(200);
  });
});

describe("bad resource names and paths", () => {
  it("names outside the database, odd paths, empty or reserved ids", async () => {
    const bad = [
      "projects/other/databases/(default)/documents/c/b",
      `${api.db}/documents/c`,
      `${api.db}/documents/c//b`,
      `${api.db}/documents/c/__x__`,
      `${api.db}/documents/c/..`,
      `${api.db}/document/c/b`,
      "c/b",
    ];
    for (const name of bad) {
      await expectRejected(
        await post(":commit", commitBody({ update: { name, fields: {} } })),
        400,
        "INVALID_ARGUMENT",
        /writes\[1\]\.update\.name/,
      );
    }
    await expectRejected(await post(":batchGet", JSON.stringify({ documents: ["c/a"] })), 400, "INVALID_ARGUMENT");
  });

  it("a document id longer than 1500 bytes, a name longer than 6 KiB", async () => {
    const long = "x".repeat(1501);
    await expectRejected(
      await post(":commit", commitBody({ update: { name: api.name(`c/${long}`), fields: {} } })),
      400,
      "INVALID_ARGUMENT",
      /1500 bytes/,
    );
    const deep = Array.from({ length: 8 }, (_, i) => `c${i}/${"y".repeat(1000)}`).join("/");
    await expectRejected(
      await post(":commit", commitBody({ update: { name: api.name(deep), fields: {} } })),
      400,
      "INVALID_ARGUMENT",
      /6 KiB|6144/,
    );
  });

  it("unknown methods and paths", async () => {
    await expectRejected(await post(":frobnicate", "{}"), 404, "NOT_FOUND", /frobnicate/);
    await expectRejected(await api.fetch("/c/a/b", { method: "PATCH", body: "{}" }), 404, "NOT_FOUND");
    await expectRejected(await api.fetch("/c", { method: "DELETE" }), 404, "NOT_FOUND");
    await expectRejected(await SELF.fetch("http://x/v2/whatever"), 404, "NOT_FOUND");
    await expectRejected(await SELF.fetch(`http://x/v1/${api.db}/indexes`), 404, "NOT_FOUND");
    await expectRejected(await post("/c/a:commit", "{}"), 400, "INVALID_ARGUMENT");
  });

  it("known but unimplemented methods answer UNIMPLEMENTED", async () => {
    await expectRejected(await post(":executePipeline", "{}"), 501, "UNIMPLEMENTED", /executePipeline/);
  });
});

describe("bad values and limits", () => {
  const value = async (v: unknown, mention: RegExp) =>
    expectRejected(
      await post(":commit", commitBody({ update: { name: api.name("c/b"), fields: { f: v } } })),
      400,
      "INVALID_ARGUMENT",
      mention,
    );

  it("rejects invalid values, naming the field", async () => {
    await value({ integerValue: "1.5" }, /update\.fields\.f/);
    await value({ integerValue: "9223372036854775808" }, /update\.fields\.f/);
    await value({ doubleValue: "abc" }, /update\.fields\.f/);
    await value({ timestampValue: "yesterday" }, /update\.fields\.f/);
    await value({ timestampValue: "10000-01-01T00:00:00Z" }, /update\.fields\.f/);
    await value({ bytesValue: "***" }, /update\.fields\.f/);
    await value({ geoPointValue: { latitude: 91, longitude: 0 } }, /update\.fields\.f/);
    await value({ referenceValue: "not/a/reference" }, /update\.fields\.f/);
    await value({ arrayValue: { values: [{ arrayValue: { values: [] } }] } }, /update\.fields\.f/);
    await value({ stringValue: "a", integerValue: "1" }, /update\.fields\.f/);
    await value({}, /update\.fields\.f/);
    await value({ unknownValue: 1 }, /update\.fields\.f/);
  });

  it("rejects reserved field names and too-deep nesting", async () => {
    await expectRejected(
      await post(":commit", commitBody({ update: { name: api.name("c/b"), fields: { __secret__: int(1) } } })),
      400,
      "INVALID_ARGUMENT",
      /__secret__/,
    );
    let deep: any = int(1);
    for (let i = 0; i < 25; i++) deep = { mapValue: { fields: { m: deep } } };
    await value(deep, /depth|deep|nest/i);
  });

  it("rejects documents over 1 MiB, accepts one just under", async () => {
    const big = "x".repeat(1_048_576);
    await expectRejected(
      await post(":commit", commitBody({ update: { name: api.name("c/b"), fields: { s: str(big) } } })),
      400,
      "INVALID_ARGUMENT",
      /exceeds the maximum allowed size/,
    );
    const ok = await post(
      ":commit",
      JSON.stringify({
        writes: [{ update: { name: api.name("big/one"), fields: { s: str("x".repeat(1_048_000)) } } }],
      }),
    );
    expect(ok.status).toBe(200);
    expect((await api.read("big/one")).fields.s.stringValue).toHaveLength(1_048_000);
  });

  it("stores a near-1 MiB document of control characters (its JSON is ~6 MB)", async () => {
    const text = "\u0001".repeat(1_000_000);
    const ok = await post(
      ":commit",
      JSON.stringify({ writes: [{ update: { name: api.name("big/ctl"), fields: { s: str(text) } } }] }),
    );
    expect(ok.status).toBe(200);
    expect((await api.read("big/ctl")).fields.s.stringValue).toBe(text);
  });

  it("rejects request bodies over 10 MiB", async () => {
    const huge = JSON.stringify({ writes: [], pad: "y".repeat(10 * 1024 * 1024) });
    await expectRejected(await post(":commit", huge), 400, "INVALID_ARGUMENT", /payload size exceeds/);
  });

  it("rejects bad transforms", async () => {
    const transform = async (t: unknown, mention: RegExp) =>
      expectRejected(
        await post(
          ":commit",
          commitBody({
            update: { name: api.name("c/b"), fields: {} },
            updateMask: { fieldPaths: [] },
            updateTransforms: [t],
          }),
        ),
        400,
        "INVALID_ARGUMENT",
        mention,
      );
    await transform({ fieldPath: "n", increment: str("1") }, /increment/);
    await transform({ fieldPath: "n", setToServerValue: "SOMETIME" }, /set_to_server_value|setToServerValue/);
    await transform({ fieldPath: "n" }, /update_transforms\[0\]/);
    await transform({ increment: int(1) }, /field_path/);
    await transform({ fieldPath: "a..b", increment: int(1) }, /a\.\.b/);
  });

  it("rejects bad field paths in masks and preconditions", async () => {
    await expectRejected(
      await post(
        ":commit",
        commitBody({ update: { name: api.name("c/b"), fields: {} }, updateMask: { fieldPaths: ["`unterminated"] } }),
      ),
      400,
      "INVALID_ARGUMENT",
      /update_mask/,
    );
    await expectRejected(
      await post(":commit", commitBody({ delete: api.name("c/b"), currentDocument: { updateTime: "not a time" } })),
      400,
      "INVALID_ARGUMENT",
      /current_document/,
    );
    await expectRejected(
      await post(":commit", commitBody({ delete: api.name("c/b"), currentDocument: { exists: "maybe" } })),
      400,
      "INVALID_ARGUMENT",
    );
  });

  it("rejects bad query parameters", async () => {
    await expectRejected(await api.fetch("/c?pageSize=abc"), 400, "INVALID_ARGUMENT", /page_size/);
    await expectRejected(await api.fetch("/c?pageToken=garbage!!"), 400, "INVALID_ARGUMENT", /page_token/);
    await expectRejected(await api.fetch("/c/a?readTime=now"), 400, "INVALID_ARGUMENT", /read_time/);
    await expectRejected(await api.fetch("/c/a?mask.fieldPaths=a..b"), 400, "INVALID_ARGUMENT");
    await expectRejected(await post("/c?documentId=a%2Fb", "{}"), 400, "INVALID_ARGUMENT");
    await expectRejected(await api.fetch("/c/%E0%A4%A"), 400, "INVALID_ARGUMENT");
  });

  it("rejects a malformed database name in the emulator's reset endpoint, and resets nothing", async () => {
    const reset = (project: string, database: string) =>
      SELF.fetch(`http://flarestore.test/emulator/v1/projects/${project}/databases/${database}/documents`, {
        method: "DELETE",
      });
    // (A `%` decoded twice used to be a 500.) The collection `c` of this file's database is still there.
    for (const [project, database] of [
      ["%E0%A4%A", "(default)"],
      ["a%2Fb", "(default)"],
      [api.project, "%E0%A4%A"],
    ]) {
      await expectRejected(await reset(project as string, database as string), 400, "INVALID_ARGUMENT");
    }
  });
});
