/**
 * A session survives being stored and rebuilt (a Durable Object hibernating, or evicted), and a
 * stored value that is not a snapshot is refused.
 */
import { describe, expect, it } from "vitest";
import {
  type BackChannelRequest,
  ChannelSession,
  type ForwardRequest,
  parseChannelRequest,
  SNAPSHOT_VERSION,
} from "../../src/webchannel/index.js";
import { decodeArrays, errorKind, formBody, HANDSHAKE, value } from "./webchannel-client.js";

const T0 = 5_000;

function request(method: string, search: string, body = "") {
  return value(parseChannelRequest(method, new URLSearchParams(search), body));
}

function setup() {
  const req = request("POST", HANDSHAKE.search, HANDSHAKE.body);
  if (req.kind !== "handshake") throw new Error(req.kind);
  let n = 0;
  const { session } = value(ChannelSession.open(req, { newId: () => `id-${++n}`, now: T0 }));
  const forward = request("POST", "SID=id-1&RID=2&AID=0", formBody(1, [{ a: 1 }, { b: 2 }])) as ForwardRequest;
  value(session.receive(forward, T0));
  session.sendAll([{ r: 1 }, { r: 2 }, { r: "日本" }], T0);
  value(session.attachBackChannel(request("GET", "SID=id-1&RID=rpc&AID=1&CI=0") as BackChannelRequest, T0 + 1));
  return { session, forward };
}

/** Through a string, as storage would keep it. */
const stored = (session: ChannelSession): unknown => JSON.parse(JSON.stringify(session));

describe("toJSON / restore", () => {
  it("round-trips the state; the attached back channel becomes the start of the idle clock", () => {
    const { session } = setup();
    const snapshot = session.toJSON();
    expect(snapshot).toMatchObject({
      v: SNAPSHOT_VERSION,
      sid: "id-1",
      httpSessionId: "id-2",
      state: "open",
      nextMapId: 3,
      lastArrayId: 3,
      channelSeq: 1,
      idleSince: null,
    });
    expect(snapshot.unacked.map((a) => a.id)).toEqual([2, 3]);
    const restored = value(ChannelSession.restore(stored(session), T0 + 100));
    expect(restored.toJSON()).toEqual({ ...snapshot, idleSince: T0 + 100 });
    expect(restored.backChannel).toBeUndefined();
    expect(restored.unackedChars).toBe(session.unackedChars);
  });

  it("the restored session carries on: dedupe, ids, re-sending, channel ids", () => {
    const { session, forward } = setup();
    const restored = value(ChannelSession.restore(stored(session), T0 + 100));
    expect(value(restored.receive(forward, T0 + 101))).toEqual([]); // maps 1 and 2 were delivered before
    const attach = value(
      restored.attachBackChannel(request("GET", "SID=id-1&RID=rpc&AID=1&CI=1") as BackChannelRequest, T0 + 102),
    );
    expect(attach.channel).toBe(2);
    expect(decodeArrays(attach.write)).toEqual([
      [2, [{ r: 2 }]],
      [3, [{ r: "日本" }]],
    ]);
    restored.send({ r: 4 }, T0 + 103);
    expect(restored.lastArrayId).toBe(4);
    expect(restored.forwardResponse().body).toBe("7\n[1,4,0]");
  });

  it("keeps the idle clock of a session without a back channel", () => {
    const { session } = setup();
    session.detachBackChannel(1, T0 + 50);
    const restored = value(ChannelSession.restore(stored(session), T0 + 1_000, { idleTimeoutMs: 60_000 }));
    expect(restored.nextDeadline()).toBe(T0 + 50 + 60_000);
  });

  it("keeps finished and closed states", () => {
    const { session } = setup();
    session.sendControl("close", T0);
    expect(value(ChannelSession.restore(stored(session), T0)).status).toBe("finished");
    session.terminate();
    const closed = value(ChannelSession.restore(stored(session), T0));
    expect(closed.status).toBe("closed");
    expect(closed.accepts({ sid: "id-1" })).toBe(false);
  });

  it.each<[string, (s: Record<string, any>) => unknown]>([
    ["null", () => null],
    ["a string", () => "x"],
    ["another version", (s) => ({ ...s, v: 2 })],
    ["no sid", (s) => ({ ...s, sid: "" })],
    ["an unknown state", (s) => ({ ...s, state: "half-open" })],
    ["a negative map id", (s) => ({ ...s, nextMapId: -1 })],
    ["a fractional array id", (s) => ({ ...s, lastArrayId: 1.5 })],
    ["unacked not an array", (s) => ({ ...s, unacked: {} })],
    ["unacked out of order", (s) => ({ ...s, unacked: [...s.unacked].reverse() })],
    ["an unacked id above lastArrayId", (s) => ({ ...s, lastArrayId: 2 })],
    ["an unacked text for another id", (s) => ({ ...s, unacked: [{ id: 2, text: s.unacked[1].text }] })],
    ["a non-numeric idleSince", (s) => ({ ...s, idleSince: "now" })],
  ])("refuses %s", (_name, corrupt) => {
    const { session } = setup();
    expect(errorKind(ChannelSession.restore(corrupt(stored(session) as Record<string, any>), T0))).toBe("badSnapshot");
  });
});
