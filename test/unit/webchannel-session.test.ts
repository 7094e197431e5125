/**
 * The WebChannel session state machine (client-wire-protocol.md §6.2–6.3): handshake, back channel
 * modes, acknowledgement and re-sending, forward de-duplication, errors, terminate and expiry.
 */
import { describe, expect, it } from "vitest";
import { notFound } from "../../src/errors/index.js";
import {
  type BackChannelRequest,
  ChannelSession,
  errorResponse,
  type ForwardRequest,
  parseChannelRequest,
  type SessionOptions,
  unknownSidResponse,
} from "../../src/webchannel/index.js";
import { decodeArrays, errorKind, FakeClient, formBody, HANDSHAKE, value } from "./webchannel-client.js";

const SID = "HvVO-QTQlQQBh6hM";
const GSESSIONID = "dd6d1a560913cfc2";
const T0 = 1_000_000;

function ids(...values: string[]) {
  const calls: string[] = [];
  return {
    calls,
    newId: () => {
      const id = values[calls.length] ?? `id${calls.length}`;
      calls.push(id);
      return id;
    },
  };
}

function open(options: SessionOptions = {}, search = HANDSHAKE.search, body = HANDSHAKE.body) {
  const req = value(parseChannelRequest("POST", new URLSearchParams(search), body));
  if (req.kind !== "handshake") throw new Error(req.kind);
  return value(ChannelSession.open(req, { newId: ids(SID, GSESSIONID).newId, now: T0 }, options));
}

function back(aid: number, ci: 0 | 1, extra = ""): BackChannelRequest {
  const search = `VER=8&gsessionid=${GSESSIONID}&RID=rpc&SID=${SID}&AID=${aid}&CI=${ci}&TYPE=xmlhttp${extra}`;
  const req = value(parseChannelRequest("GET", new URLSearchParams(search), ""));
  if (req.kind !== "backChannel") throw new Error(req.kind);
  return req;
}

function forward(ofs: number, messages: object[], aid?: number): ForwardRequest {
  const search = `VER=8&gsessionid=${GSESSIONID}&SID=${SID}&RID=49017${aid === undefined ? "" : `&AID=${aid}`}`;
  const req = value(parseChannelRequest("POST", new URLSearchParams(search), formBody(ofs, messages)));
  if (req.kind !== "forward") throw new Error(req.kind);
  return req;
}

describe("handshake", () => {
  it("answers the captured reply, with the HTTP session id, and hands over map 0", () => {
    const { session, messages, response } = open();
    expect(response.status).toBe(200);
    expect(response.body).toBe('44\n[[0,["c","HvVO-QTQlQQBh6hM","",8,14,30000]]]');
    expect(response.headers["X-HTTP-Session-Id"]).toBe(GSESSIONID);
    expect(response.headers["Content-Type"]).toBe("application/javascript; charset=utf-8");
    expect(messages).toEqual([{ mapId: 0, message: { database: "projects/demo-test/databases/(default)" } }]);
    expect(session.nextMapId).toBe(1);
    expect(session.lastArrayId).toBe(0);
  });

  it("makes no HTTP session id unless asked, and ids come only from newId", () => {
    const req = value(parseChannelRequest("POST", new URLSearchParams("VER=8&RID=1"), "count=0"));
    if (req.kind !== "handshake") throw new Error(req.kind);
    const gen = ids("s-1", "s-2");
    const { session, response } = value(ChannelSession.open(req, { newId: gen.newId, now: T0 }));
    expect(gen.calls).toEqual(["s-1"]);
    expect(session.httpSessionId).toBeUndefined();
    expect(response.headers["X-HTTP-Session-Id"]).toBeUndefined();
    expect(response.body).toContain('"s-1"');
  });

  it("refuses handshake maps that do not start at 0", () => {
    const req = value(parseChannelRequest("POST", new URLSearchParams("VER=8"), formBody(3, [{}])));
    if (req.kind !== "handshake") throw new Error(req.kind);
    expect(errorKind(ChannelSession.open(req, { newId: ids().newId, now: T0 }))).toBe("mapGap");
  });
});

describe("the captured Write exchange", () => {
  it("handshake → streaming back channel → forward POST → result, with the captured chunks", () => {
    const { session } = open();
    expect(session.send({ streamId: "ws1", streamToken: "d3MxOjE=" }, T0)).toBeUndefined(); // no back channel yet
    const attach = value(session.attachBackChannel(back(0, 0), T0 + 5));
    expect(attach).toEqual({
      channel: 1,
      write: '51\n[[1,[{"streamId":"ws1","streamToken":"d3MxOjE="}]]]',
      end: false,
      deadline: T0 + 5 + 20_000,
    });

    const write = { streamToken: "d3MxOjE=", writes: [{ delete: "projects/p/databases/d/documents/a/b" }] };
    expect(value(session.receive(forward(1, [write], 1), T0 + 10))).toEqual([{ mapId: 1, message: write }]);
    const result = {
      streamToken: "d3MxOjI=",
      writeResults: [{ updateTime: "2026-11-21T23:00:24.958000Z" }],
      commitTime: "2026-11-21T23:00:24.958000Z",
    };
    const out = session.send(result, T0 + 11);
    expect(out?.write.startsWith('139\n[[2,[{"streamToken":"d3MxOjI="')).toBe(true);
    expect(out).toMatchObject({ channel: 1, end: false });
    expect(session.forwardResponse().body).toBe("7\n[1,2,0]");
    expect(session.unackedCount).toBe(1); // array 1 acknowledged by the POST's AID=1
  });
});

describe("streaming back channel (CI=0)", () => {
  it("writes a noop at once when nothing is pending, then each new batch as it comes", () => {
    const { session } = open();
    const client = new FakeClient();
    const attach = value(session.attachBackChannel(back(0, 0), T0));
    expect(attach.write).not.toBe("");
    expect(decodeArrays(attach.write)).toEqual([[1, ["noop"]]]);
    client.take(attach.write);
    const out = session.sendAll([{ a: 1 }, { b: 2 }], T0 + 1);
    expect(out?.end).toBe(false);
    client.take(out!.write);
    expect(client.messages).toEqual([{ a: 1 }, { b: 2 }]);
    expect(client.aid).toBe(3);
  });

  it("keeps alive with a noop when idle for the interval, and never expires while attached", () => {
    const { session } = open();
    value(session.attachBackChannel(back(0, 0), T0));
    expect(session.nextDeadline()).toBe(T0 + 20_000);
    expect(session.tick(T0 + 19_999)).toEqual({ expired: false });
    session.send({ x: 1 }, T0 + 10_000); // a write pushes the keep-alive back
    expect(session.nextDeadline()).toBe(T0 + 30_000);
    expect(session.tick(T0 + 20_000).output).toBeUndefined();
    const { output, expired } = session.tick(T0 + 30_000);
    expect(expired).toBe(false);
    expect(output).toMatchObject({ channel: 1, end: false, deadline: T0 + 50_000 });
    expect(decodeArrays(output!.write)).toEqual([[3, ["noop"]]]);
    expect(session.tick(T0 + 10 * 60_000).expired).toBe(false);
  });

  it("ends a response past maxStreamChars, so the client reconnects and acknowledges", () => {
    const { session } = open({ maxStreamChars: 100 });
    value(session.attachBackChannel(back(0, 0), T0));
    expect(session.send({ s: "x".repeat(40) }, T0)?.end).toBe(false);
    const out = session.send({ s: "y".repeat(40) }, T0);
    expect(out?.end).toBe(true);
    expect(session.backChannel).toBeUndefined();
    expect(session.unackedCount).toBe(2);
    value(session.attachBackChannel(back(3, 0), T0 + 1));
    expect(session.unackedCount).toBe(0);
  });
});

describe("long polling (CI=1)", () => {
  it("answers with what is pending and ends", () => {
    const { session } = open();
    session.sendAll([{ a: 1 }, { b: 2 }, { c: 3 }, { d: 4 }], T0);
    const out = value(session.attachBackChannel(back(0, 1), T0));
    expect(out.end).toBe(true);
    expect(out.deadline).toBeUndefined();
    expect(decodeArrays(out.write).map(([id]) => id)).toEqual([1, 2, 3, 4]);
    expect(session.backChannel).toBeUndefined();
  });

  it("holds an empty poll until something arrives, then ends with it", () => {
    const { session } = open();
    const held = value(session.attachBackChannel(back(0, 1), T0));
    expect(held).toEqual({ channel: 1, write: "", end: false, deadline: T0 + 25_000 });
    const out = session.sendAll([{ a: 1 }, { b: 2 }], T0 + 3);
    expect(out).toEqual({ channel: 1, write: expect.any(String), end: true });
    expect(decodeArrays(out!.write)).toEqual([
      [1, [{ a: 1 }]],
      [2, [{ b: 2 }]],
    ]);
    expect(session.send({ c: 3 }, T0 + 4)).toBeUndefined(); // that poll is over; queued for the next
  });

  it("ends an empty poll at its deadline with a noop, never with an empty body", () => {
    const { session } = open();
    value(session.attachBackChannel(back(0, 1), T0));
    expect(session.tick(T0 + 24_999).output).toBeUndefined();
    const { output } = session.tick(T0 + 25_000);
    expect(output?.end).toBe(true);
    expect(decodeArrays(output!.write)).toEqual([[1, ["noop"]]]);
  });

  it("holds for TO when sent, capped at the advertised keep-alive", () => {
    const { session } = open();
    expect(value(session.attachBackChannel(back(0, 1, "&TO=10000"), T0)).deadline).toBe(T0 + 10_000);
    expect(value(session.attachBackChannel(back(0, 1, "&TO=90000"), T0)).deadline).toBe(T0 + 30_000);
  });
});

describe("acknowledgement and re-sending", () => {
  it("a new back channel re-sends everything above its AID and displaces the old one", () => {
    const { session } = open();
    const first = value(session.attachBackChannel(back(0, 0), T0)); // noop 1
    session.sendAll([{ m: 2 }, { m: 3 }, { m: 4 }], T0); // written to the first response, then lost
    const second = value(session.attachBackChannel(back(2, 0), T0 + 1));
    expect(second.replaced).toBe(first.channel);
    expect(decodeArrays(second.write)).toEqual([
      [3, [{ m: 3 }]],
      [4, [{ m: 4 }]],
    ]);
    session.detachBackChannel(first.channel, T0 + 2); // the old response closing later changes nothing
    expect(session.backChannel).toBe(second.channel);
    const third = value(session.attachBackChannel(back(4, 0), T0 + 3));
    expect(decodeArrays(third.write)).toEqual([[5, ["noop"]]]); // nothing left to re-send
    expect(session.unackedCount).toBe(0);
  });

  it("a forward POST's AID acknowledges too", () => {
    const { session } = open();
    session.sendAll([{ m: 1 }, { m: 2 }, { m: 3 }], T0);
    expect(session.unackedChars).toBeGreaterThan(0);
    value(session.receive(forward(1, [], 2), T0));
    expect(session.unackedCount).toBe(1);
    value(session.receive(forward(1, [], 3), T0));
    expect(session.unackedCount).toBe(0);
    expect(session.unackedChars).toBe(0);
  });

  it("refuses an AID above what was generated, leaving the session as it was", () => {
    const { session } = open();
    session.send({ m: 1 }, T0);
    const result = session.attachBackChannel(back(5, 0), T0);
    expect(errorKind(result)).toBe("badAid");
    if (!result.ok) expect(errorResponse(result.error).body.indexOf("Unknown SID")).toBeGreaterThan(0);
    expect(errorKind(session.receive(forward(1, [{ a: 1 }], 2), T0))).toBe("badAid");
    expect(session.nextMapId).toBe(1);
    expect(session.unackedCount).toBe(1);
    expect(session.backChannel).toBeUndefined();
  });
});

describe("forward maps", () => {
  it("delivers each map id once, in order, across retries", () => {
    const { session } = open();
    const a = { a: 1 };
    const b = { b: 2 };
    const c = { c: 3 };
    expect(value(session.receive(forward(1, [a, b]), T0))).toEqual([
      { mapId: 1, message: a },
      { mapId: 2, message: b },
    ]);
    expect(value(session.receive(forward(1, [a, b]), T0))).toEqual([]); // the same RID, t=2
    // A retry carries the failed request's maps followed by newer ones (webchannelbase.js `Zc`).
    expect(value(session.receive(forward(1, [a, b, c]), T0))).toEqual([{ mapId: 3, message: c }]);
    expect(session.nextMapId).toBe(4);
    expect(value(session.receive(forward(0, [{ database: "d" }]), T0))).toEqual([]); // even the handshake's
  });

  it("reports a gap and keeps its place", () => {
    const { session } = open();
    const gap = session.receive(forward(2, [{ late: true }]), T0);
    expect(errorKind(gap)).toBe("mapGap");
    if (!gap.ok) expect(gap.error.message).toContain("map 1 was never received");
    expect(session.nextMapId).toBe(1);
    expect(value(session.receive(forward(1, [{ a: 1 }, { late: true }]), T0))).toHaveLength(2);
  });
});

describe("stream errors and control arrays", () => {
  it("sends the error as a data message, then nothing more", () => {
    const { session } = open();
    value(session.attachBackChannel(back(0, 1), T0));
    const out = session.sendError(notFound("No document to update: x/nope"), T0 + 1);
    expect(out?.end).toBe(true);
    expect(decodeArrays(out!.write)).toEqual([
      [1, [{ error: { code: 404, message: "No document to update: x/nope", status: "NOT_FOUND" } }]],
    ]);
    expect(session.status).toBe("finished");
    expect(session.send({ more: 1 }, T0)).toBeUndefined();
    expect(session.sendError(notFound("again"), T0)).toBeUndefined();
    expect(session.lastArrayId).toBe(1);
    expect(value(session.receive(forward(1, [{ a: 1 }]), T0))).toEqual([]); // acknowledged, not delivered
    expect(session.nextMapId).toBe(2);
    // The error is re-sent until acknowledged, like any array.
    const again = value(session.attachBackChannel(back(0, 1), T0 + 2));
    expect(decodeArrays(again.write)[0]?.[0]).toBe(1);
  });

  it("close and stop are kept arrays that finish the session", () => {
    const { session } = open();
    session.sendControl("close", T0);
    expect(session.status).toBe("finished");
    const client = new FakeClient();
    client.take(value(session.attachBackChannel(back(0, 0), T0)).write);
    expect(client.controls).toEqual(["close"]);
    expect(session.sendControl("stop", T0)).toBeUndefined();
  });
});

describe("terminate, unknown SID and expiry", () => {
  it("terminate closes the session and ends its back channel", () => {
    const { session } = open();
    const { channel } = value(session.attachBackChannel(back(0, 0), T0));
    expect(session.terminate()).toEqual({ channel, write: "", end: true });
    expect(session.status).toBe("closed");
    expect(session.accepts({ sid: SID })).toBe(false);
    expect(errorKind(session.receive(forward(1, []), T0))).toBe("unknownSession");
    expect(errorKind(session.attachBackChannel(back(0, 0), T0))).toBe("unknownSession");
    expect(session.nextDeadline()).toBeUndefined();
    expect(session.terminate()).toBeUndefined();
  });

  it("Unknown SID is a 400 whose body has the phrase past index 0 (the client tests indexOf > 0)", () => {
    const response = unknownSidResponse();
    expect(response.status).toBe(400);
    expect(response.body.indexOf("Unknown SID")).toBeGreaterThan(0);
    const plain = errorResponse({ kind: "badBody", message: "count is missing." });
    expect(plain.status).toBe(400);
    expect(plain.body).not.toContain("Unknown SID"); // a plain 400 is retried, not a re-handshake
  });

  it("accepts requests of its own SID and gsessionid", () => {
    const { session } = open();
    expect(session.accepts({ sid: SID, gsessionid: GSESSIONID })).toBe(true);
    expect(session.accepts({ sid: SID })).toBe(true); // the header was hidden from the client by CORS
    expect(session.accepts({ sid: SID, gsessionid: "other" })).toBe(false);
    expect(session.accepts({ sid: "other", gsessionid: GSESSIONID })).toBe(false);
  });

  it("expires after idleTimeoutMs without a back channel", () => {
    const { session } = open({ idleTimeoutMs: 60_000 });
    expect(session.nextDeadline()).toBe(T0 + 60_000);
    value(session.receive(forward(1, []), T0 + 10_000)); // a POST counts as activity
    expect(session.tick(T0 + 69_999)).toEqual({ expired: false });
    const { channel } = value(session.attachBackChannel(back(0, 0), T0 + 69_999));
    session.detachBackChannel(channel, T0 + 100_000);
    expect(session.nextDeadline()).toBe(T0 + 160_000);
    expect(session.tick(T0 + 159_999).expired).toBe(false);
    expect(session.tick(T0 + 160_000)).toEqual({ expired: true });
    expect(session.status).toBe("closed");
  });

  it("a long poll that ended restarts the idle clock at that moment", () => {
    const { session } = open({ idleTimeoutMs: 60_000 });
    value(session.attachBackChannel(back(0, 1), T0 + 50_000));
    session.send({ a: 1 }, T0 + 59_000);
    expect(session.tick(T0 + 60_000).expired).toBe(false);
    expect(session.nextDeadline()).toBe(T0 + 119_000);
  });
});
