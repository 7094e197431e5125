/**
 * Listen and Write as gRPC-Web over a full-duplex body, inside workerd: answers arrive while the
 * request body is still open, a half-close ends the call OK once the database has answered, and a
 * client that goes away leaves no stream socket held in the Durable Object.
 */

import { env, runInDurableObject, SELF } from "cloudflare:test";
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { dataFrame } from "../../src/grpc/frames.js";
import {
  ListenRequestSchema,
  ListenResponseSchema,
  WriteRequestSchema,
  WriteResponseSchema,
} from "../../src/grpc/gen/google/firestore/v1/firestore_pb.js";
import { int, newApi } from "./helpers.js";

/** A call whose request messages are written as the test goes, and whose answer is read frame by frame. */
async function open(method: "Listen" | "Write") {
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const writer = writable.getWriter();
  const response = SELF.fetch(`http://localhost/google.firestore.v1.Firestore/${method}`, {
    method: "POST",
    headers: { "content-type": "application/grpc-web+proto" },
    body: readable,
  });
  const frames: { trailers: boolean; payload: Uint8Array }[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  const res = await response;
  expect(res.status).toBe(200);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  void (async () => {
    let buffered = new Uint8Array(0);
    for (;;) {
      const { done: end, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (end || !value) break;
      const all = new Uint8Array(buffered.length + value.length);
      all.set(buffered);
      all.set(value, buffered.length);
      let at = 0;
      while (all.length - at >= 5) {
        const length = new DataView(all.buffer, at + 1, 4).getUint32(0);
        if (all.length - at - 5 < length) break;
        frames.push({ trailers: ((all[at] as number) & 0x80) !== 0, payload: all.slice(at + 5, at + 5 + length) });
        at += 5 + length;
      }
      buffered = all.slice(at);
      wake?.();
    }
    done = true;
    wake?.();
  })();
  return {
    send: (bytes: Uint8Array) => writer.write(dataFrame(bytes)),
    sendRaw: (bytes: Uint8Array) => writer.write(bytes),
    halfClose: () => writer.close(),
    async next(): Promise<{ trailers: boolean; payload: Uint8Array }> {
      const deadline = Date.now() + 5000;
      while (frames.length === 0) {
        if (done) throw new Error("the answer ended");
        if (Date.now() > deadline) throw new Error("timed out waiting for a frame");
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 50);
        });
      }
      return frames.shift() as { trailers: boolean; payload: Uint8Array };
    },
    /** Stops reading the answer, the request body still open (as a client that is gone). */
    goAway: () => reader.cancel(),
    /** Ends the request body afterwards (so the test leaves no stream behind). */
    release: () => writer.close().catch(() => {}),
  };
}

const listen = (m: MessageInitShape<typeof ListenRequestSchema>) =>
  toBinary(ListenRequestSchema, create(ListenRequestSchema, m));
const write = (m: MessageInitShape<typeof WriteRequestSchema>) =>
  toBinary(WriteRequestSchema, create(WriteRequestSchema, m));
const status = (frame: { trailers: boolean; payload: Uint8Array }) => {
  expect(frame.trailers).toBe(true);
  return /grpc-status:(\d+)/.exec(new TextDecoder().decode(frame.payload))?.[1];
};

/** The stream sockets the database's Durable Object holds. */
async function socketsHeld(project: string): Promise<number> {
  const stub = env.DATABASE.get(env.DATABASE.idFromName(`${project}/(default)`));
  const inObject = runInDurableObject as unknown as (
    stub: unknown,
    run: (instance: unknown, state: DurableObjectState) => number,
  ) => Promise<number>;
  return inObject(stub, (_i, state) => state.getWebSockets().length);
}

async function until(check: () => Promise<boolean>, what: string) {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("gRPC-Web Listen and Write over a full-duplex body", () => {
  it("Listen answers while the body is open; a client that goes away leaves no socket held", async () => {
    const api = newApi();
    await api.set("rooms/a", { n: int(1) });
    const call = await open("Listen");
    await call.send(
      listen({
        database: api.db,
        targetChange: {
          case: "addTarget",
          value: { targetId: 3, targetType: { case: "documents", value: { documents: [api.name("rooms/a")] } } },
        },
      }),
    );
    const kinds: string[] = [];
    for (;;) {
      const r = fromBinary(ListenResponseSchema, (await call.next()).payload);
      kinds.push(r.responseType.case ?? "");
      if (r.responseType.case === "targetChange" && r.responseType.value.targetIds.length === 0) break;
    }
    expect(kinds).toContain("documentChange");
    expect(await socketsHeld(api.project)).toBe(1);
    await api.set("rooms/a", { n: int(2) });
    const change = fromBinary(ListenResponseSchema, (await call.next()).payload);
    expect(change.responseType.case).toBe("documentChange");
    await call.goAway();
    await until(async () => (await socketsHeld(api.project)) === 0, "the Listen socket to close");
    await call.release();
  });

  it("Write: handshake and a write answered before the half-close, which then ends the call OK", async () => {
    const api = newApi();
    const call = await open("Write");
    await call.send(write({ database: api.db }));
    const handshake = fromBinary(WriteResponseSchema, (await call.next()).payload);
    expect(handshake.streamToken.length).toBeGreaterThan(0);
    await call.send(
      write({
        streamToken: handshake.streamToken,
        writes: [
          {
            operation: {
              case: "update",
              value: { name: api.name("w/1"), fields: { n: { valueType: { case: "integerValue", value: 5n } } } },
            },
          },
        ],
      }),
    );
    const answered = fromBinary(WriteResponseSchema, (await call.next()).payload);
    expect(answered.writeResults).toHaveLength(1);
    await call.halfClose();
    expect(status(await call.next())).toBe("0");
    expect((await api.read("w/1"))?.fields).toEqual({ n: int(5) });
    await until(async () => (await socketsHeld(api.project)) === 0, "the Write socket to close");
  });

  it("a first message that names no database ends the call INVALID_ARGUMENT; a frame cut short, too", async () => {
    const call = await open("Listen");
    await call.send(listen({ targetChange: { case: "removeTarget", value: 1 } }));
    expect(status(await call.next())).toBe("3");

    const cut = await open("Write");
    const frame = dataFrame(write({ database: newApi().db }));
    await cut.sendRaw(frame.subarray(0, frame.length - 1));
    await cut.halfClose();
    const ended = await cut.next();
    expect(status(ended)).toBe("3");
    expect(new TextDecoder().decode(ended.payload)).toMatch(/frame claims/);
  });
});
