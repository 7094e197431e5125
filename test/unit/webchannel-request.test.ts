/**
 * Parsing the four WebChannel requests (client-wire-protocol.md §6.2): the captured URLs and
 * bodies, and every malformed input refused as a typed error rather than a thrown exception.
 */
import { describe, expect, it } from "vitest";
import {
  headerValue,
  MAX_MAPS_PER_REQUEST,
  parseChannelParams,
  parseChannelRequest,
  parseForwardBody,
  parseHeaderBlock,
} from "../../src/webchannel/index.js";
import {
  BACK_CHANNEL_SEARCH,
  errorKind,
  FORWARD_SEARCH,
  formBody,
  HANDSHAKE,
  TERMINATE_SEARCH,
  value,
} from "./webchannel-client.js";

const q = (search: string) => new URLSearchParams(search);
const DATABASE = "projects/demo-test/databases/(default)";

describe("the captured requests", () => {
  it("the handshake: params, header block, and map 0", () => {
    const req = value(parseChannelRequest("POST", q(HANDSHAKE.search), HANDSHAKE.body));
    expect(req.kind).toBe("handshake");
    if (req.kind !== "handshake") return;
    expect(req.params).toEqual({
      ver: 8,
      rid: 49016,
      cver: 22,
      attempt: 1,
      httpSessionIdParam: "gsessionid",
      database: DATABASE,
    });
    expect(req.body.ofs).toBe(0);
    expect(req.body.maps).toEqual([{ mapId: 0, message: { database: DATABASE } }]);
    expect(headerValue(req.body.headers, "x-goog-api-client")).toBe("gl-js/ fire/12.19.0");
    expect(headerValue(req.body.headers, "CONTENT-TYPE")).toBe("text/plain");
  });

  it("the back channel", () => {
    const req = value(parseChannelRequest("GET", q(BACK_CHANNEL_SEARCH), ""));
    expect(req).toMatchObject({ kind: "backChannel", sid: "OvvaoWRQhklXVGDt", aid: 0, mode: "streaming" });
    expect(req.params).toMatchObject({ rid: "rpc", ci: 0, type: "xmlhttp", gsessionid: "7272b837ef0b779a" });
    expect("timeoutMs" in req).toBe(false);
    const longPoll = value(parseChannelRequest("GET", q(BACK_CHANNEL_SEARCH.replace("CI=0", "CI=1&TO=10000")), ""));
    expect(longPoll).toMatchObject({ kind: "backChannel", mode: "longPoll", timeoutMs: 10000 });
  });

  it("a forward POST: map ids continue from ofs, and its AID", () => {
    const write = {
      streamToken: "d3MxOjE=",
      writes: [{ update: { name: `${DATABASE}/documents/rooms/r1`, fields: { n: { integerValue: "1" } } } }],
    };
    const body = formBody(1, [write]);
    // The captured body starts exactly so (the rest was elided in the capture).
    expect(body.startsWith("count=1&ofs=1&req0___data__=%7B%22streamToken%22%3A%22d3MxOjE%3D%22%2C%22writes%22")).toBe(
      true,
    );
    const req = value(parseChannelRequest("POST", q(FORWARD_SEARCH), body));
    expect(req).toMatchObject({ kind: "forward", sid: "HvVO-QTQlQQBh6hM", aid: 1 });
    if (req.kind !== "forward") return;
    expect(req.body.maps).toEqual([{ mapId: 1, message: write }]);
    expect(req.params.rid).toBe(49017);
  });

  it("terminate, by beacon (POST) or image (GET)", () => {
    for (const method of ["POST", "GET"]) {
      expect(value(parseChannelRequest(method, q(TERMINATE_SEARCH), ""))).toMatchObject({
        kind: "terminate",
        sid: "HvVO-QTQlQQBh6hM",
      });
    }
  });

  it("the header block with auth, app id and api key", () => {
    const block =
      "X-Goog-Api-Client:gl-js/ fire/12.19.0\r\nContent-Type:text/plain\r\nX-Firebase-GMPID:1:123:web:abc\r\n" +
      "Authorization:Bearer eyJhbGciOiJub25lIn0.e30.\r\nx-goog-api-key:fake-api-key\r\n";
    const body = value(parseForwardBody(formBody(0, [{ database: DATABASE }], block)));
    expect(headerValue(body.headers, "Authorization")).toBe("Bearer eyJhbGciOiJub25lIn0.e30.");
    expect(headerValue(body.headers, "X-Firebase-GMPID")).toBe("1:123:web:abc");
    expect(headerValue(body.headers, "X-Goog-Api-Key")).toBe("fake-api-key");
    expect(headerValue(body.headers, "cookie")).toBeUndefined();
    expect(headerValue(body.headers, "__proto__")).toBeUndefined();
  });
});

describe("forward bodies", () => {
  it("count=0 may omit ofs", () => {
    expect(value(parseForwardBody("count=0"))).toMatchObject({ ofs: 0, maps: [] });
  });

  it("keeps non-ASCII message text", () => {
    const body = value(parseForwardBody(formBody(4, [{ s: "日本 😀 +&=%" }, { t: 2 }])));
    expect(body.maps).toEqual([
      { mapId: 4, message: { s: "日本 😀 +&=%" } },
      { mapId: 5, message: { t: 2 } },
    ]);
  });

  it("ignores the client's _badmap marker for a declared map", () => {
    const body = `${formBody(0, [{ a: 1 }])}&req0_type=_badmap`;
    expect(value(parseForwardBody(body)).maps).toHaveLength(1);
  });

  it.each<[string, string, string]>([
    ["no count", "ofs=0&req0___data__=%7B%7D", "count is missing"],
    ["a non-numeric count", "count=abc&ofs=0", "count="],
    ["a negative ofs", "count=1&ofs=-1&req0___data__=%7B%7D", "ofs="],
    ["a fractional ofs", "count=1&ofs=1.5&req0___data__=%7B%7D", "ofs="],
    ["a leading-zero count", "count=01&ofs=0&req0___data__=%7B%7D", "count="],
    ["maps without ofs", "count=1&req0___data__=%7B%7D", "ofs is missing"],
    [
      "a missing map",
      `${formBody(0, [{ a: 1 }, { b: 2 }]).replace(/&req1___data__=[^&]*/, "")}`,
      "req1___data__ is missing",
    ],
    ["a map beyond count", "count=1&ofs=0&req0___data__=%7B%7D&req1___data__=%7B%7D", "beyond count"],
    ["a repeated count", "count=1&count=2&ofs=0&req0___data__=%7B%7D", "more than once"],
    ["a repeated map", "count=1&ofs=0&req0___data__=%7B%7D&req0___data__=%7B%7D", "more than once"],
    ["too many maps", `count=${MAX_MAPS_PER_REQUEST + 1}&ofs=0`, "more than 1000"],
  ])("refuses %s", (_name, body, fragment) => {
    const result = parseForwardBody(body);
    expect(errorKind(result)).toBe("badBody");
    if (!result.ok) expect(result.error.message).toContain(fragment);
  });

  it.each([
    ["invalid JSON", "count=1&ofs=0&req0___data__=%7B%22a%22%3A"],
    ["a broken %-escape", "count=1&ofs=0&req0___data__=%7B%E0%A4%A"],
    ["a JSON array", "count=1&ofs=0&req0___data__=%5B1%5D"],
    ["JSON null", "count=1&ofs=0&req0___data__=null"],
    ["a JSON string", "count=1&ofs=0&req0___data__=%22x%22"],
  ])("refuses a map that is %s", (_name, body) => {
    expect(errorKind(parseForwardBody(body))).toBe("badMessage");
  });

  it("refuses a header block that is not Name:Value lines", () => {
    expect(errorKind(parseHeaderBlock("Content-Type text/plain\r\n"))).toBe("badHeaders");
    expect(errorKind(parseHeaderBlock(":value\r\n"))).toBe("badHeaders");
    expect(errorKind(parseForwardBody(`headers=${encodeURIComponent("Bad Name:x\r\n")}&count=0`))).toBe("badHeaders");
  });

  it("joins a repeated header as HTTP does", () => {
    const headers = value(parseHeaderBlock("A:1\r\na:2\r\n"));
    expect(headerValue(headers, "A")).toBe("1, 2");
  });
});

describe("query parameters", () => {
  it.each([
    ["AID=x", "AID"],
    ["AID=-1", "AID"],
    ["RID=1e3", "RID"],
    ["CI=2", "CI"],
    ["TO=0", "TO"],
    ["t=0", "t"],
    ["VER=7", "VER=7"],
    ["SID=", "SID"],
  ])("refuses %s", (search, fragment) => {
    const result = parseChannelParams(q(search));
    expect(errorKind(result)).toBe("badParam");
    if (!result.ok) expect(result.error.message).toContain(fragment);
  });

  it("ignores what it does not use", () => {
    expect(value(parseChannelParams(q("zx=abc&OSID=x")))).toEqual({});
  });
});

describe("classification", () => {
  const SID = "SID=s1&VER=8";
  it.each([
    ["GET", "VER=8&RID=1", "badRequest"], // no SID: only a POST starts a channel
    ["POST", `${SID}&RID=rpc&AID=0&CI=0`, "badRequest"], // a back channel is a GET
    ["GET", `${SID}&RID=rpc&CI=0`, "badParam"], // no AID
    ["GET", `${SID}&RID=rpc&AID=0`, "badParam"], // no CI
    ["GET", `${SID}&RID=5`, "badRequest"], // a GET that is neither back channel nor terminate
    ["POST", `${SID}&AID=0`, "badParam"], // a forward POST without RID
    ["GET", "VER=8&TYPE=terminate", "badRequest"], // terminate of no session
  ])("%s ?%s → %s", (method, search, kind) => {
    expect(errorKind(parseChannelRequest(method, q(search), "count=0"))).toBe(kind);
  });

  it("a malformed body fails the whole request", () => {
    expect(errorKind(parseChannelRequest("POST", q(HANDSHAKE.search), "count=1&ofs=0"))).toBe("badBody");
    expect(errorKind(parseChannelRequest("POST", q(FORWARD_SEARCH), "count=1&ofs=1&req0___data__=%7B"))).toBe(
      "badMessage",
    );
  });
});
