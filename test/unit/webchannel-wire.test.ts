/**
 * The WebChannel encoders against the bytes captured from the real server and SDK
 * (client-wire-protocol.md §6.2), read back with the client's own chunk rule.
 */
import { describe, expect, it } from "vitest";
import { FirestoreError, notFound } from "../../src/errors/index.js";
import {
  encodeArraysChunk,
  encodeChunk,
  encodeControlArray,
  encodeDataArray,
  encodeForwardAck,
  encodeHandshakeArray,
  encodeHandshakeBody,
  joinArrays,
} from "../../src/webchannel/index.js";
import { decodeArrays, decodeChunks } from "./webchannel-client.js";

describe("captured bodies, byte for byte", () => {
  it("the handshake reply", () => {
    expect(encodeHandshakeBody("HvVO-QTQlQQBh6hM", 30000)).toBe('44\n[[0,["c","HvVO-QTQlQQBh6hM","",8,14,30000]]]');
  });

  it("a Write handshake response on the back channel", () => {
    const chunk = encodeArraysChunk([encodeDataArray(1, { streamId: "ws1", streamToken: "d3MxOjE=" })]);
    expect(chunk).toBe('51\n[[1,[{"streamId":"ws1","streamToken":"d3MxOjE="}]]]');
  });

  it("a write result", () => {
    const response = {
      streamToken: "d3MxOjI=",
      writeResults: [{ updateTime: "2026-11-21T23:00:24.958000Z" }],
      commitTime: "2026-11-21T23:00:24.958000Z",
    };
    expect(encodeArraysChunk([encodeDataArray(2, response)])).toBe(
      '139\n[[2,[{"streamToken":"d3MxOjI=","writeResults":[{"updateTime":"2026-11-21T23:00:24.958000Z"}],' +
        '"commitTime":"2026-11-21T23:00:24.958000Z"}]]]',
    );
  });

  it("the forward POST reply", () => {
    expect(encodeForwardAck(2)).toBe("7\n[1,2,0]");
    expect(encodeForwardAck(12345)).toBe("11\n[1,12345,0]");
  });

  it("several Listen arrays share one chunk", () => {
    const listen = [
      { targetChange: { targetChangeType: "ADD", targetIds: [1002] } },
      { targetChange: { targetChangeType: "CURRENT", targetIds: [1002], resumeToken: "cnQ6MTc5NTMwMTczNzM1MzAwMA==" } },
      { targetChange: { targetChangeType: "NO_CHANGE", targetIds: [], readTime: "2026-11-21T22:55:37.353000Z" } },
    ];
    const body = encodeArraysChunk(listen.map((m, i) => encodeDataArray(i + 1, m)));
    expect(decodeChunks(body)).toHaveLength(1);
    expect(decodeArrays(body)).toEqual(listen.map((m, i) => [i + 1, [m]]));
  });
});

describe("chunk lengths are UTF-16 code units", () => {
  const message = { documentChange: { document: { fields: { s: { stringValue: "Grüße, 日本, 😀" } } } } };
  const payload = joinArrays([encodeDataArray(3, message)]);

  it("counts what String.length counts, not UTF-8 bytes", () => {
    const bytes = new TextEncoder().encode(payload).length;
    expect(bytes).toBeGreaterThan(payload.length); // the case where the two differ
    expect(encodeChunk(payload)).toBe(`${payload.length}\n${payload}`);
    expect(encodeChunk("😀")).toBe("2\n😀"); // one code point, two UTF-16 units, four bytes
  });

  it("a stream of non-ASCII chunks reads back whole; byte lengths would desynchronise it", () => {
    const next = encodeArraysChunk([encodeControlArray(4, "noop")]);
    const body = encodeChunk(payload) + next;
    expect(decodeArrays(body)).toEqual([
      [3, [message]],
      [4, ["noop"]],
    ]);
    const byByteLength = `${new TextEncoder().encode(payload).length}\n${payload}${next}`;
    expect(() => decodeArrays(byByteLength)).toThrow();
  });
});

describe("arrays", () => {
  it("each data array holds the response as the one element of an array (the SDK reads data[0])", () => {
    const [[id, data]] = decodeArrays(encodeArraysChunk([encodeDataArray(7, { a: 1 })])) as [[number, unknown[]]];
    expect(id).toBe(7);
    expect(data).toEqual([{ a: 1 }]);
  });

  it("control arrays", () => {
    expect(encodeControlArray(5, "noop")).toBe('[5,["noop"]]');
    expect(encodeControlArray(6, "stop")).toBe('[6,["stop"]]');
    expect(encodeControlArray(7, "close")).toBe('[7,["close"]]');
  });

  it("the handshake array has an empty host prefix and the keep-alive", () => {
    expect(JSON.parse(encodeHandshakeArray("S", 12000))).toEqual([0, ["c", "S", "", 8, 14, 12000]]);
  });

  it("no arrays make no chunk", () => {
    expect(encodeArraysChunk([])).toBe("");
  });

  it("refuses a value JSON cannot encode", () => {
    expect(() => encodeDataArray(1, undefined as unknown as object)).toThrow(TypeError);
  });

  it("a Firestore stream error is a data message the SDK reads the string status of", () => {
    const error = notFound("No document to update: projects/demo-test/databases/(default)/documents/nope/nope");
    const body = encodeArraysChunk([encodeDataArray(2, error.toJSON())]);
    const [[, data]] = decodeArrays(body) as [[number, [{ error: { status: string; message: string } }]]];
    // webchannel_connection.ts: `const error = msgData?.error || msgData[0]?.error; … error.status`
    const seen = (data as unknown as { error?: unknown }).error ?? data[0]?.error;
    expect(seen).toEqual({ code: 404, message: error.message, status: "NOT_FOUND" });
    expect(error).toBeInstanceOf(FirestoreError);
  });
});
