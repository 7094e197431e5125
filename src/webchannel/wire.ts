/**
 * Encoders for what the server writes on a WebChannel (closure BrowserChannel, VER=8):
 * client-wire-protocol.md §6.2. Every response body the client parses is a sequence of chunks
 * `<length>\n<payload>`, each payload a JSON array of `[arrayId, data]` pairs.
 *
 * Arrays are kept as their encoded JSON text (`EncodedArray`) from the moment they are queued, so a
 * message is serialized once however often it is re-sent, and a chunk is a join of strings.
 */

/** The wire version the client speaks and the server answers with (`Wire.LATEST_CHANNEL_VERSION`). */
export const CHANNEL_VERSION = 8;
/** The `serverVersion` slot of the `"c"` array; informational only (§6.2 a, as captured). */
export const SERVER_VERSION = 14;
/** Advertised keep-alive: the client sets its back-channel watchdog to 1.5× this (§6.2 a). */
export const SERVER_KEEPALIVE_MS = 30_000;
/** Content type of every channel response the client parses (as captured from the real server). */
export const CHANNEL_CONTENT_TYPE = "application/javascript; charset=utf-8";

/** Control arrays: `noop` is a keep-alive, `stop` an error (STOP), `close` a graceful disconnect. */
export type ControlKind = "noop" | "stop" | "close";

/** One `[arrayId, data]` pair, already JSON-encoded. */
export type EncodedArray = string & { readonly __encodedArray: unique symbol };

/**
 * A chunk: `<length>\n<payload>`. The length is the payload's JavaScript string length (UTF-16 code
 * units), because the client slices `responseText` by it (`channelrequest.js getNextChunk_`);
 * a byte count desynchronises the stream as soon as a message holds non-ASCII text (§6.2 b).
 */
export function encodeChunk(payload: string): string {
  return `${payload.length}\n${payload}`;
}

/**
 * A data array `[id,[message]]`: the data is a one-element array holding the Firestore response,
 * because the SDK reads `msg.data[0]` (§6.2 b). Throws a TypeError for a value JSON cannot encode
 * (a programming error, never network input).
 */
export function encodeDataArray(id: number, message: object): EncodedArray {
  const json = JSON.stringify(message) as string | undefined;
  if (json === undefined) throw new TypeError("WebChannel data must be a JSON-encodable object");
  return `[${id},[${json}]]` as EncodedArray;
}

/** A control array `[id,["noop"]]` (or `stop`, `close`). */
export function encodeControlArray(id: number, kind: ControlKind): EncodedArray {
  return `[${id},["${kind}"]]` as EncodedArray;
}

/**
 * The handshake array `[0,["c",sid,"",8,14,keepaliveMs]]`. The host prefix must be empty: the
 * client prepends a non-empty one to the hostname of the back channel (`supportsCrossDomainXhr`).
 */
export function encodeHandshakeArray(sid: string, serverKeepaliveMs: number = SERVER_KEEPALIVE_MS): EncodedArray {
  const data = ["c", sid, "", CHANNEL_VERSION, SERVER_VERSION, serverKeepaliveMs];
  return `[0,${JSON.stringify(data)}]` as EncodedArray;
}

/** A JSON array of encoded arrays: `[[1,…],[2,…]]` (several arrays may share a chunk). */
export function joinArrays(arrays: readonly EncodedArray[]): string {
  return `[${arrays.join(",")}]`;
}

/** One chunk carrying `arrays`; the empty string when there are none (a chunk of `[]` is useless). */
export function encodeArraysChunk(arrays: readonly EncodedArray[]): string {
  return arrays.length === 0 ? "" : encodeChunk(joinArrays(arrays));
}

/**
 * The forward POST reply `[1,lastArrayId,0]`, length-prefixed (§6.2 c). The client insists on a
 * three-element array ("Bad POST response data returned" otherwise): element 0 `1` says a back
 * channel exists (`0` makes a client whose back channel is older than 3 s restart it), element 1 is
 * the last array id generated (the client expects the missing ones on the back channel soon),
 * element 2 the outstanding back-channel bytes, which only feed a heuristic.
 */
export function encodeForwardAck(lastArrayId: number, backChannelPresent = true, outstandingBytes = 0): string {
  return encodeChunk(`[${backChannelPresent ? 1 : 0},${lastArrayId},${outstandingBytes}]`);
}

/** The handshake POST body: one chunk with the `"c"` array. */
export function encodeHandshakeBody(sid: string, serverKeepaliveMs: number = SERVER_KEEPALIVE_MS): string {
  return encodeChunk(joinArrays([encodeHandshakeArray(sid, serverKeepaliveMs)]));
}
