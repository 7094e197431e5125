/**
 * Test doubles for the client side of a WebChannel: the chunk reader and array handling of the
 * closure client as shipped in @firebase/webchannel-wrapper (webchannel_blob_es2018.js), and the
 * captured requests of client-wire-protocol.md §6.2.
 */
import { expect } from "vitest";
import type { WireResult } from "../../src/webchannel/index.js";

/**
 * Splits a complete response body into chunk payloads exactly as the client does
 * (`channelrequest.js getNextChunk_`, blob `Nb`): read up to "\n", take that many UTF-16 units.
 * A body that ends inside a chunk, or a non-numeric size, is the client's BAD_DATA.
 */
export function decodeChunks(body: string): string[] {
  const chunks: string[] = [];
  let at = 0;
  while (at < body.length) {
    const newline = body.indexOf("\n", at);
    if (newline === -1) throw new Error(`incomplete chunk at ${at}`);
    const size = Number(body.substring(at, newline));
    if (Number.isNaN(size)) throw new Error(`invalid chunk size ${JSON.stringify(body.substring(at, newline))}`);
    const start = newline + 1;
    if (start + size > body.length) throw new Error(`incomplete chunk at ${at}`);
    chunks.push(body.slice(start, start + size));
    at = start + size;
  }
  return chunks;
}

/** The `[id, data]` arrays of a body, in order. */
export function decodeArrays(body: string): [number, unknown[]][] {
  return decodeChunks(body).flatMap((chunk) => JSON.parse(chunk) as [number, unknown[]][]);
}

/**
 * The client's view of the back channel: it keeps the last array id it saw (`K`, sent as AID),
 * skips arrays with an id ≤ K (blob `if(!(r<=c.K))`), ignores noops, and hands `data[0]` of data
 * arrays to Firestore.
 */
export class FakeClient {
  aid = 0;
  readonly messages: unknown[] = [];
  readonly controls: string[] = [];

  take(body: string): void {
    for (const [id, data] of decodeArrays(body)) {
      if (id <= this.aid) continue;
      this.aid = id;
      if (data[0] === "noop") continue;
      if (data[0] === "stop" || data[0] === "close") this.controls.push(data[0]);
      else this.messages.push(data[0]);
    }
  }
}

/** The value of a successful result (fails the test otherwise). */
export function value<T>(result: WireResult<T>): T {
  if (!result.ok) expect.fail(`expected success, got ${result.error.kind}: ${result.error.message}`);
  return result.value;
}

/** The error kind of a failed result (fails the test otherwise). */
export function errorKind(result: WireResult<unknown>): string {
  if (result.ok) expect.fail("expected a failure");
  return result.error.kind;
}

const DATABASE = "projects%2Fdemo-test%2Fdatabases%2F(default)";

/** The captured handshake of a Write channel (§6.2 a). */
export const HANDSHAKE = {
  search: `VER=8&database=${DATABASE}&RID=49016&CVER=22&X-HTTP-Session-Id=gsessionid&zx=eg92piuxlhex&t=1`,
  body:
    "headers=X-Goog-Api-Client%3Agl-js%2F%20fire%2F12.19.0%0D%0AContent-Type%3Atext%2Fplain%0D%0A&count=1&ofs=0" +
    "&req0___data__=%7B%22database%22%3A%22projects%2Fdemo-test%2Fdatabases%2F(default)%22%7D",
};

/** The captured back-channel GET of a Listen channel (§6.2 b). */
export const BACK_CHANNEL_SEARCH = `gsessionid=7272b837ef0b779a&VER=8&database=${DATABASE}&RID=rpc&SID=OvvaoWRQhklXVGDt&AID=0&CI=0&TYPE=xmlhttp&zx=4bgberxsd7fh&t=1`;

/** The captured forward POST's query (§6.2 c). */
export const FORWARD_SEARCH = `VER=8&database=${DATABASE}&gsessionid=dd6d1a560913cfc2&SID=HvVO-QTQlQQBh6hM&RID=49017&AID=1&zx=7cknywwysyk2&t=1`;

/** The captured terminate's query (§6.2 d), with the elided values filled in. */
export const TERMINATE_SEARCH = `VER=8&database=${DATABASE}&gsessionid=dd6d1a560913cfc2&SID=HvVO-QTQlQQBh6hM&RID=49023&TYPE=terminate&zx=abc`;

/** A body as the client encodes maps (`webchannelbase.js Yc`): `count`, `ofs`, `req{i}___data__`. */
export function formBody(ofs: number, messages: readonly object[], headers?: string): string {
  const parts = headers === undefined ? [] : [`headers=${encodeURIComponent(headers)}`];
  parts.push(`count=${messages.length}`);
  if (messages.length > 0) parts.push(`ofs=${ofs}`);
  messages.forEach((m, i) => {
    parts.push(`req${i}___data__=${encodeURIComponent(JSON.stringify(m))}`);
  });
  return parts.join("&");
}
