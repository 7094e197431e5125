/**
 * Reads that Cloud Firestore refuses are refused here too, with the same rule as writes: an id
 * that is not valid UTF-8, longer than 1,500 bytes, `.`/`..` or reserved (`__.*__`, but `____`
 * is a valid id) is INVALID_ARGUMENT wherever it appears.
 */
import { SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { type Api, expectError, int, newApi, str } from "./helpers.js";

let api: Api;

beforeAll(async () => {
  api = newApi();
  await api.set("c/a", { n: int(1) });
  await api.set("c/a/sub/x", { n: int(2) });
});

async function rejected(res: Response | Promise<Response>, mention?: RegExp | string): Promise<string> {
  const r = await res;
  const text = await r.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`not JSON (${r.status}): ${text.slice(0, 200)}`);
  }
  const message = expectError({ status: r.status, body }, 400, "INVALID_ARGUMENT");
  if (typeof mention === "string") expect(message).toBe(mention);
  else if (mention !== undefined) expect(message).toMatch(mention);
  return message;
}

const post = (suffix: string, body: unknown) =>
  api.fetch(suffix, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body) });

/** Bad ids as they appear in a URL (percent-encoded) and in a JSON body, with what the message names. */
const BAD_IDS: { label: string; url: string; json: string; mention: RegExp }[] = [
  { label: "reserved __x__", url: "__x__", json: "__x__", mention: /"__x__" is invalid because it is reserved/ },
  { label: "reserved _____", url: "_____", json: "_____", mention: /reserved/ },
  { label: "1,501 bytes", url: "x".repeat(1501), json: "x".repeat(1501), mention: /longer than 1500 bytes/ },
  {
    label: "1,500 bytes of two-byte characters plus one",
    url: encodeURIComponent("é".repeat(751)),
    json: "é".repeat(751),
    mention: /longer than 1500 bytes/,
  },
  { label: "invalid UTF-8 (%FF / a lone surrogate)", url: "%FF", json: "a\uD800", mention: /UTF-8|percent-encoding/ },
];
/** `.` and `..` as URL segments are resolved by the URL standard before any server sees them (even
 *  percent-encoded), so they are checked in bodies only; a URL ending in one is still refused. */
const DOT_IDS = [".", ".."];

describe("ids Firestore refuses are refused on every read path", () => {
  for (const bad of BAD_IDS) {
    it(`${bad.label}: get, list, listCollectionIds, queries, batchGet, delete, patch`, async () => {
      // As a document id and as a collection id in the URL.
      await rejected(api.fetch(`/c/${bad.url}`), bad.mention);
      await rejected(api.fetch(`/${bad.url}/d`), bad.mention);
      await rejected(api.fetch(`/${bad.url}`), bad.mention); // list
      await rejected(api.fetch(`/c/${bad.url}/sub`), bad.mention); // list under a bad parent
      await rejected(api.fetch(`/c/a/${bad.url}`), bad.mention); // list of a bad collection
      await rejected(post(`/c/${bad.url}:listCollectionIds`, {}), bad.mention);
      await rejected(post(`/c/${bad.url}:runQuery`, { structuredQuery: { from: [{ collectionId: "sub" }] } }));
      await rejected(
        post(`/c/${bad.url}:runAggregationQuery`, {
          structuredAggregationQuery: {
            structuredQuery: { from: [{ collectionId: "sub" }] },
            aggregations: [{ count: {} }],
          },
        }),
      );
      await rejected(api.fetch(`/c/${bad.url}`, { method: "DELETE" }), bad.mention);
      await rejected(api.fetch(`/c/${bad.url}`, { method: "PATCH", body: "{}" }), bad.mention);
      await rejected(post(`/${bad.url}?documentId=d`, {}), bad.mention); // create in a bad collection

      // As a name in a body.
      await rejected(post(":batchGet", { documents: [api.name("c/a"), api.name(`c/${bad.json}`)] }), /documents\[1\]/);
      await rejected(post(":batchGet", { documents: [api.name(`${bad.json}/d`)] }), /documents\[0\]/);
      await rejected(post(":listCollectionIds", { parent: api.name(`c/${bad.json}`) }), /parent/);
      await rejected(
        post(":runQuery", {
          parent: api.name(`c/${bad.json}`),
          structuredQuery: { from: [{ collectionId: "sub" }] },
        }),
        /parent/,
      );
      await rejected(post(":runQuery", { structuredQuery: { from: [{ collectionId: bad.json }] } }), /collectionId/);
      await rejected(
        post(":runQuery", {
          structuredQuery: {
            from: [{ collectionId: "c" }],
            where: {
              fieldFilter: {
                field: { fieldPath: "__name__" },
                op: "EQUAL",
                value: { referenceValue: api.name(`c/${bad.json}`) },
              },
            },
          },
        }),
        /where/,
      );
      await rejected(post(":commit", { writes: [{ verify: api.name(`c/${bad.json}`) }] }), /writes\[0\]\.verify/);
      await rejected(post(":commit", { writes: [{ delete: api.name(`c/${bad.json}`) }] }), /writes\[0\]\.delete/);
    });
  }

  for (const dot of DOT_IDS) {
    it(`${JSON.stringify(dot)} in names: batchGet, listCollectionIds, runQuery, commit`, async () => {
      const mention = new RegExp(`id "${dot.replace(/\./g, "\\.")}" is not allowed`);
      await rejected(post(":batchGet", { documents: [api.name(`c/${dot}`)] }), mention);
      await rejected(post(":batchGet", { documents: [api.name(`${dot}/d`)] }), mention);
      await rejected(post(":listCollectionIds", { parent: api.name(`c/${dot}`) }), mention);
      await rejected(post(":runQuery", { structuredQuery: { from: [{ collectionId: dot }] } }), mention);
      await rejected(post(":commit", { writes: [{ verify: api.name(`c/${dot}`) }] }), mention);
      await rejected(
        post(":commit", {
          writes: [{ update: { name: api.name("c/r"), fields: { r: { referenceValue: api.name(`c/${dot}`) } } } }],
        }),
        mention,
      );
      // In a URL: resolved away, leaving an empty segment (400), never a read of something else.
      await rejected(api.fetch(`/c/${encodeURIComponent(dot).replace(/\./g, "%2E")}`), /empty segment/);
      await rejected(api.fetch(`/c/a/${dot}`), /empty segment/);
    });
  }

  it("messages name the URL part: name for a document, parent otherwise", async () => {
    expect(await rejected(api.fetch("/c/__x__"))).toMatch(/^name: document id "__x__"/);
    expect(await rejected(api.fetch("/__x__/d"))).toMatch(/^name: collection id "__x__"/);
    expect(await rejected(api.fetch("/c/__x__/sub"))).toMatch(/^parent: document id "__x__"/);
    expect(await rejected(post("/c/__x__:runQuery", {}))).toMatch(/^parent: document id "__x__"/);
  });

  it("numeric ids __id<n>__ stay readable", async () => {
    expect((await api.fetch("/c/__id42__")).status).toBe(404);
    await rejected(api.fetch("/__id42__/d"), /collection id "__id42__" is invalid because it is reserved/);
  });
});

describe("____ (four underscores) is a valid id", () => {
  it("set, get, list, batchGet, patch, query and delete it, as document and collection id", async () => {
    const own = newApi();
    await own.set("c/____", { n: int(1) });
    await own.set("____/d", { s: str("x") });
    await own.set("____/____", { s: str("y") });

    const get = await own.get("/c/____");
    expect(get.status).toBe(200);
    expect(get.body.name).toBe(own.name("c/____"));
    expect((await own.get("/____/d")).body.fields.s.stringValue).toBe("x");
    expect((await own.get("/____/____")).body.fields.s.stringValue).toBe("y");

    const list = await own.get("/____");
    expect(list.body.documents.map((d: any) => d.name)).toEqual([own.name("____/____"), own.name("____/d")]);

    const batch = await own.post(":batchGet", { documents: [own.name("c/____"), own.name("____/____")] });
    expect(batch.status).toBe(200);
    expect(batch.body.map((e: any) => e.found?.name)).toEqual([own.name("c/____"), own.name("____/____")]);

    const patched = await own.fetch("/c/____", { method: "PATCH", body: JSON.stringify({ fields: { n: int(2) } }) });
    expect(patched.status).toBe(200);
    const created = await own.post("/____?documentId=____x", {});
    expect(created.status).toBe(200);

    const query = await own.post(":runQuery", {
      structuredQuery: {
        from: [{ collectionId: "____" }],
        where: {
          fieldFilter: {
            field: { fieldPath: "__name__" },
            op: "EQUAL",
            value: { referenceValue: own.name("____/____") },
          },
        },
      },
    });
    expect(query.body.map((r: any) => r.document?.name)).toEqual([own.name("____/____")]);
    expect((await own.post(":listCollectionIds", {})).body.collectionIds).toEqual(["____", "c"]);

    expect((await own.fetch("/c/____", { method: "DELETE" })).status).toBe(200);
    expect((await own.get("/c/____")).status).toBe(404);
    expect(
      (
        await own.commit([
          { update: { name: own.name("c/d"), fields: { r: { referenceValue: own.name("____/____") } } } },
        ])
      ).status,
    ).toBe(200);
  });
});

describe("messages quote a bounded part of the URL", () => {
  it("unknown paths, methods and verbs", async () => {
    const long = "x".repeat(50_000);
    for (const res of [
      await SELF.fetch(`http://x/v2/${long}`),
      await SELF.fetch(`http://x/v1/projects/p/databases/d/other/${long}`),
      await api.fetch(`/c/d:${long}`, { method: "POST", body: "{}" }),
      await api.fetch(`/c/d/e/${long}`, { method: "PATCH", body: "{}" }),
      await api.fetch(`/c/${long}`),
    ]) {
      const body = (await res.json()) as { error: { code: number; message: string } };
      expect(body.error.code).toBe(res.status);
      expect(body.error.message.length).toBeLessThan(1000);
    }
  });
});
