/**
 * The fixed-shape HTTP responses of a channel, as plain data the transport copies onto a Response.
 * CORS headers are not here: the CORS middleware adds them (credentialed, echoed Origin, and
 * `Access-Control-Expose-Headers: X-HTTP-Session-Id`, §6.4), or the client cannot read the session id.
 */
import type { WireError } from "./result.js";
import { CHANNEL_CONTENT_TYPE, encodeForwardAck, encodeHandshakeBody } from "./wire.js";

/** A complete response: status, headers and body text. */
export interface ChannelResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The response header that carries the HTTP session id (the client reads exactly this name). */
export const HTTP_SESSION_ID_HEADER = "X-HTTP-Session-Id";

/** Headers of every channel response the client parses, the back channel's included. */
export const CHANNEL_HEADERS: Readonly<Record<string, string>> = {
  "Content-Type": CHANNEL_CONTENT_TYPE,
  // Each request carries a random `zx` cache-buster already; this keeps proxies from buffering too.
  // `no-transform` and `Content-Encoding: identity`: no compression on the way (Cloudflare's edge,
  // and Miniflare emulating it, gzip text responses, and a compressor holds a back channel's small
  // chunks back — the client then sees no bytes, decides a buffering proxy is in the way, and
  // long-polls for good).
  "Cache-Control": "no-cache, no-store, max-age=0, must-revalidate, no-transform",
  "Content-Encoding": "identity",
  "X-Content-Type-Options": "nosniff",
};

/** The handshake reply: the `"c"` array, and the HTTP session id header when the client asked for one. */
export function handshakeResponse(sid: string, httpSessionId: string | undefined, serverKeepaliveMs: number) {
  const headers =
    httpSessionId === undefined ? CHANNEL_HEADERS : { ...CHANNEL_HEADERS, [HTTP_SESSION_ID_HEADER]: httpSessionId };
  return { status: 200, headers, body: encodeHandshakeBody(sid, serverKeepaliveMs) } satisfies ChannelResponse;
}

/** The forward POST reply `[1,lastArrayId,0]`. */
export function forwardResponse(lastArrayId: number): ChannelResponse {
  return { status: 200, headers: CHANNEL_HEADERS, body: encodeForwardAck(lastArrayId) };
}

/** The terminate reply: 200 and nothing else; the client does not read it (it may be a beacon). */
export function terminateResponse(): ChannelResponse {
  return { status: 200, headers: { "Content-Type": "text/plain; charset=utf-8" }, body: "" };
}

/**
 * The reply for a SID the server does not know: status 400 and a body with "Unknown SID" at an index
 * above 0, because the client tests `responseText.indexOf('Unknown SID') > 0` (§6.2 c). Only then does
 * it drop the session and handshake again; any other failure is retried with the same SID.
 */
export function unknownSidResponse(): ChannelResponse {
  return { status: 400, headers: { "Content-Type": "text/plain; charset=utf-8" }, body: "Bad Request: Unknown SID\n" };
}

/**
 * Whether the error means the session cannot go on: the SID is unknown, the client acknowledged arrays
 * this session never sent (the state is stale), or client maps were lost. The transport drops the
 * session, and the Unknown SID reply makes the client start a new channel (the SDK resumes its stream).
 */
export function endsSession(error: WireError): boolean {
  return error.kind === "unknownSession" || error.kind === "badAid" || error.kind === "mapGap";
}

/** The reply for a refused request: Unknown SID for errors that end the session, else a plain 400. */
export function errorResponse(error: WireError): ChannelResponse {
  if (endsSession(error)) return unknownSidResponse();
  return {
    status: 400,
    headers: { "Content-Type": "text/plain; charset=utf-8" },
    body: `Bad Request: ${error.message}\n`,
  };
}
