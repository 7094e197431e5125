/**
 * `POST /emulator/v1/projects/{p}/databases/{d}:importDocuments`: documents as exported, written
 * with their own create and update times in one commit; an import run again changes nothing; bad
 * documents are refused naming what is wrong, and a refused batch writes nothing.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { type Api, int, Listener, newApi, str } from "./helpers.js";

function importDocs(api: Api, documents: unknown[], body?: string) {
  return SELF.fetch(`http://flarestore.test/emulator/v1/projects/${api.project}/databases/(default):importDocuments`, {
    method: "POST",
    body: body ?? JSON.stringify({ documents }),
  }).then(async (res) => ({ status: res.status, body: (await res.json()) as any }));
}

const EVERY_TYPE = {
  s: str("text"),
  i: int("-9223372036854775808"),
  d: { doubleValue: 1.5 },
  nan: { doubleValue: "NaN" },
  b: { booleanValue: true },
  n: { nullValue: null },
  t: { timestampValue: "2020-01-02T03:04:05.123456Z" },
  y: { bytesValue: "AAEC/w==" },
  r: { referenceValue: "projects/other/databases/(default)/documents/x/y" },
  g: { geoPointValue: { latitude: 1.5, longitude: -2.25 } },
  a: { arrayValue: { values: [int(1), str("two")] } },
  m: { mapValue: { fields: { deep: { mapValue: { fields: { x: int(1) } } } } } },
  v: {
    mapValue: {
      fields: {
        __type__: str("__vector__"),
        value: { arrayValue: { values: [{ doubleValue: 1 }, { doubleValue: 2 }] } },
      },
    },
  },
};

describe("importDocuments", () => {
  it("writes documents with their own times, subcollections too; run again it changes nothing", async () => {
    const api = newApi();
    const docs = [
      {
        name: api.name("c/a"),
        fields: EVERY_TYPE,
        createTime: "2021-05-01T10:00:00.000001Z",
        updateTime: "2022-06-01T10:00:00.5Z",
      },
      {
        name: api.name("c/a/sub/b"),
        fields: { x: int(1) },
        createTime: "2021-01-01T00:00:00Z",
        updateTime: "2021-01-01T00:00:00Z",
      },
    ];
    const first = await importDocs(api, docs);
    expect(first).toEqual({ status: 200, body: { written: 2, unchanged: 0 } });
    const a = await api.get("/c/a");
    expect(a.body).toEqual({
      name: api.name("c/a"),
      fields: EVERY_TYPE,
      createTime: "2021-05-01T10:00:00.000001Z",
      updateTime: "2022-06-01T10:00:00.500000Z",
    });
    expect((await api.get("/c/a/sub/b")).body.updateTime).toBe("2021-01-01T00:00:00.000000Z");
    expect((await importDocs(api, docs)).body).toEqual({ written: 0, unchanged: 2 });
    // A changed document is written again, with the times it carries.
    const changed = { ...docs[1], fields: { x: int(2) }, updateTime: "2021-02-01T00:00:00Z" };
    expect((await importDocs(api, [changed])).body).toEqual({ written: 1, unchanged: 0 });
    expect((await api.get("/c/a/sub/b")).body).toMatchObject({
      fields: { x: int(2) },
      updateTime: "2021-02-01T00:00:00.000000Z",
    });
  });

  it("commits after an import are stamped after every imported time, future ones too", async () => {
    const api = newApi();
    const future = new Date(Date.now() + 60_000).toISOString();
    await importDocs(api, [{ name: api.name("c/f"), fields: {}, createTime: future, updateTime: future }]);
    const res = await api.commit([{ update: { name: api.name("c/f"), fields: { n: int(1) } } }]);
    expect(res.status).toBe(200);
    // Both as RFC 3339 with microseconds, which compare as text.
    expect(res.body.commitTime > future.replace("Z", "000Z")).toBe(true);
  });

  it("listeners hear of imported documents", async () => {
    const api = newApi();
    const l = await Listener.open(api);
    l.send({
      addTarget: {
        targetId: 1,
        query: { parent: `${api.db}/documents`, structuredQuery: { from: [{ collectionId: "c" }] } },
      },
    });
    await l.untilSnapshot();
    await importDocs(api, [
      {
        name: api.name("c/l"),
        fields: { n: int(7) },
        createTime: "2020-01-01T00:00:00Z",
        updateTime: "2020-01-01T00:00:00Z",
      },
    ]);
    const batch = await l.untilSnapshot();
    expect(batch.find((m) => m.documentChange)?.documentChange.document).toMatchObject({
      name: api.name("c/l"),
      updateTime: "2020-01-01T00:00:00.000000Z",
    });
    l.ws.close();
  });

  it("refuses bad documents naming what is wrong, and a refused batch writes nothing", async () => {
    const api = newApi();
    const ok = {
      name: api.name("c/ok"),
      fields: {},
      createTime: "2020-01-01T00:00:00Z",
      updateTime: "2020-01-01T00:00:00Z",
    };
    const cases: [unknown[], RegExp][] = [
      [[ok, { ...ok, name: api.name("c/x"), updateTime: undefined }], /documents\[1\]\.updateTime' is required/],
      [
        [ok, { ...ok, name: api.name("c/x"), createTime: "2021-01-01T00:00:00Z" }],
        /createTime' is after its updateTime/,
      ],
      [[ok, ok], /names c\/ok again/],
      [[ok, { ...ok, name: "projects/other/databases/(default)/documents/c/x" }], /documents\[1\]\.name/],
      [[ok, { ...ok, name: api.name("c/x"), fields: { bad: { integerValue: "x" } } }], /documents\[1\]\.fields/],
      [[ok, { ...ok, name: api.name("c/x"), extra: 1 }], /extra/],
      [Array.from({ length: 501 }, (_, i) => ({ ...ok, name: api.name(`c/${i}`) })), /at most 500 documents/],
    ];
    for (const [documents, message] of cases) {
      const res = await importDocs(api, documents);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.error.status).toBe("INVALID_ARGUMENT");
      expect(res.body.error.message).toMatch(message);
    }
    expect((await importDocs(api, [], "{not json")).status).toBe(400);
    expect((await api.get("/c/ok")).status).toBe(404);
  });
});
