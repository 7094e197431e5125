/**
 * End-to-end delivery over an unreliable network, seeded: back-channel responses die or go silent,
 * forward POSTs are lost before or after the server saw them and are retried with extra maps, the
 * client switches between streaming and long polling, and the server hibernates (sessions rebuilt
 * from `toJSON`). Every message must arrive exactly once, in order, both ways.
 */
import { describe, expect, it } from "vitest";
import {
  type BackChannelMode,
  type BackChannelOutput,
  type BackChannelRequest,
  ChannelSession,
  type ForwardRequest,
  type IncomingMap,
} from "../../src/webchannel/index.js";
import { Rng } from "../workers/query-random/prng.js";
import { FakeClient, value } from "./webchannel-client.js";

interface Response {
  readonly channel: number;
  readonly mode: BackChannelMode;
  alive: boolean;
  /** Writes vanish (a buffering proxy, a half-dead connection) until the client gives up on it. */
  silent: boolean;
  /** A long poll's body is only read when the response completes. */
  body: string;
}

const SID = "S";

function backChannel(aid: number, mode: BackChannelMode, timeoutMs?: number): BackChannelRequest {
  const req = { kind: "backChannel", params: { sid: SID }, sid: SID, aid, mode } as const;
  return timeoutMs === undefined ? req : { ...req, timeoutMs };
}

function forward(ofs: number, maps: readonly IncomingMap[], aid: number): ForwardRequest {
  return { kind: "forward", params: { sid: SID, rid: 1 }, sid: SID, aid, body: { ofs, maps, headers: {} } };
}

function run(seed: number) {
  const rng = new Rng(seed);
  let now = 0;
  const options = { idleTimeoutMs: 1e12, maxStreamChars: 300 };
  const handshake = { kind: "handshake", params: {}, body: { ofs: 0, maps: [], headers: {} } } as const;
  let session = value(ChannelSession.open(handshake, { newId: () => SID, now }, options)).session;
  const client = new FakeClient();
  const responses = new Map<number, Response>();
  let current: Response | undefined; // the client's open back-channel request
  let sent = 0; // server → client messages generated
  let nextMap = 0; // client → server map ids generated
  let outbox: IncomingMap[] = []; // maps the client has not seen acknowledged
  const delivered: number[] = []; // map ids the server handed to the application

  const end = (r: Response) => {
    r.alive = false;
    if (r.mode === "longPoll" && !r.silent) client.take(r.body);
    if (current === r) current = undefined;
  };
  const apply = (out: BackChannelOutput | undefined) => {
    if (out === undefined) return;
    const r = responses.get(out.channel);
    if (r === undefined || !r.alive) throw new Error(`write to dead back channel ${out.channel}`);
    if (!r.silent) {
      if (r.mode === "streaming") client.take(out.write);
      else r.body += out.write;
    }
    if (out.end) end(r);
  };
  const attach = (mode: BackChannelMode) => {
    const timeoutMs = rng.chance(0.3) ? rng.range(5_000, 40_000) : undefined;
    const out = value(session.attachBackChannel(backChannel(client.aid, mode, timeoutMs), now));
    if (out.replaced !== undefined) end(responses.get(out.replaced)!);
    const r: Response = { channel: out.channel, mode, alive: true, silent: rng.chance(0.15), body: "" };
    responses.set(r.channel, r);
    current = r;
    apply(out);
  };
  const serverSends = () => {
    const batch = Array.from({ length: rng.range(1, 3) }, () => ({ n: sent++, pad: "é".repeat(rng.int(60)) }));
    apply(session.sendAll(batch, now));
  };

  for (let step = 0; step < 400; step++) {
    now += rng.int(3_000);
    const action = rng.int(8);
    if (action === 0 || action === 1) serverSends();
    else if (action === 2 && current === undefined) attach(rng.chance(0.5) ? "streaming" : "longPoll");
    else if (action === 3 && current !== undefined) {
      // The connection dies, or the client's watchdog gives up on a silent one; the transport notices.
      const r = current;
      r.alive = false;
      current = undefined;
      session.detachBackChannel(r.channel, now);
    } else if (action === 4) {
      for (let i = rng.int(3); i > 0; i--) outbox.push({ mapId: nextMap, message: { m: nextMap++ } });
      if (outbox.length === 0) continue;
      const fate = rng.int(3); // 0: lost on the way; 1: processed, reply lost; 2: acknowledged
      if (fate === 0) continue;
      const maps = value(session.receive(forward(outbox[0]!.mapId, outbox, client.aid), now));
      for (const m of maps) {
        delivered.push(m.mapId);
        if (rng.chance(0.5)) apply(session.send({ n: sent++, reply: m.mapId }, now));
      }
      const ack = JSON.parse(session.forwardResponse().body.split("\n")[1]!) as number[];
      expect(ack).toEqual([1, session.lastArrayId, 0]);
      if (fate === 2) outbox = [];
    } else if (action === 5) {
      now += rng.int(30_000);
      const { output, expired } = session.tick(now);
      expect(expired).toBe(false);
      apply(output);
    } else if (action === 6 && rng.chance(0.3)) {
      // Hibernation or eviction: open responses are gone; the session is rebuilt from storage.
      for (const r of responses.values()) r.alive = false;
      current = undefined;
      session = value(ChannelSession.restore(JSON.parse(JSON.stringify(session)), now, options));
    }
  }

  // Drain: a healthy client reconnects until it has everything, and resends its last maps.
  for (let i = 0; i < 100 && client.messages.length < sent; i++) {
    if (current !== undefined) {
      current.alive = false;
      session.detachBackChannel(current.channel, now);
      current = undefined;
    }
    const out = value(session.attachBackChannel(backChannel(client.aid, "streaming"), now));
    const r: Response = { channel: out.channel, mode: "streaming", alive: true, silent: false, body: "" };
    responses.set(r.channel, r);
    current = r;
    apply(out);
  }
  if (outbox.length > 0) {
    for (const m of value(session.receive(forward(outbox[0]!.mapId, outbox, client.aid), now))) delivered.push(m.mapId);
  }
  return { client, sent, delivered, nextMap, session };
}

describe("delivery over a lossy network", () => {
  it.each(Array.from({ length: 40 }, (_, i) => 1000 + i))("seed %i: everything arrives once, in order", (seed) => {
    const { client, sent, delivered, nextMap, session } = run(seed);
    expect(sent).toBeGreaterThan(50);
    expect(client.messages.map((m) => (m as { n: number }).n)).toEqual(Array.from({ length: sent }, (_, i) => i));
    expect(delivered).toEqual(Array.from({ length: nextMap }, (_, i) => i));
    expect(session.status).toBe("open");
  });
});
