/**
 * The four WebChannel requests, told apart by method and query parameters (client-wire-protocol.md
 * §6.2), all on `/google.firestore.v1.Firestore/{Listen|Write}/channel`:
 *
 *   (a) handshake     POST, no SID                  body: headers + the first maps
 *   (b) back channel  GET, SID, RID=rpc, AID, CI    the hanging server→client response
 *   (c) forward       POST, SID, numeric RID, AID   body: further maps
 *   (d) terminate     GET or POST, SID, TYPE=terminate (empty body)
 */
import { type ForwardBody, parseForwardBody } from "./forward-body.js";
import { fail, ok, shown, type WireResult } from "./result.js";
import { CHANNEL_VERSION } from "./wire.js";

/** The query parameters the server acts on; the cache-buster `zx` and the rest are ignored. */
export interface ChannelParams {
  /** `VER`: the wire version; only 8 is accepted when present. */
  readonly ver?: number;
  /** `RID`: the request id, or `"rpc"` for a back channel. */
  readonly rid?: number | "rpc";
  /** `SID`: the session id the handshake handed out. */
  readonly sid?: string;
  /** `AID`: the last array id the client has received. */
  readonly aid?: number;
  /** `CI`: 0 = streaming back channel, 1 = buffered ("long polling"). */
  readonly ci?: 0 | 1;
  /** `TYPE`: `xmlhttp` on back channels, `terminate` to end the session. */
  readonly type?: string;
  /** `TO`: how long (ms) a long poll may be held, when the app configured one. */
  readonly timeoutMs?: number;
  /** `t`: the attempt number of this request (1, 2, … on retries). */
  readonly attempt?: number;
  /** `CVER`: the client version (22). */
  readonly cver?: number;
  /** `gsessionid`: the HTTP session id the handshake returned in `X-HTTP-Session-Id`. */
  readonly gsessionid?: string;
  /** `X-HTTP-Session-Id`: on the handshake, the name of the parameter to echo the HTTP session id in. */
  readonly httpSessionIdParam?: string;
  /** `database`: `projects/{p}/databases/{d}`, Firestore's `messageUrlParams`, on every request. */
  readonly database?: string;
}

/** The back channel's delivery mode, from `CI`. */
export type BackChannelMode = "streaming" | "longPoll";

/** (a) A handshake POST. */
export interface HandshakeRequest {
  readonly kind: "handshake";
  readonly params: ChannelParams;
  readonly body: ForwardBody;
}

/** (b) A back-channel GET. */
export interface BackChannelRequest {
  readonly kind: "backChannel";
  readonly params: ChannelParams;
  readonly sid: string;
  readonly aid: number;
  readonly mode: BackChannelMode;
  /** `TO`, when sent (long polling only). */
  readonly timeoutMs?: number;
}

/** (c) A forward-channel POST. */
export interface ForwardRequest {
  readonly kind: "forward";
  readonly params: ChannelParams;
  readonly sid: string;
  /** The client's last received array id; it acknowledges arrays just like a back channel's AID. */
  readonly aid?: number;
  readonly body: ForwardBody;
}

/** (d) A terminate request. */
export interface TerminateRequest {
  readonly kind: "terminate";
  readonly params: ChannelParams;
  readonly sid: string;
}

/** Any of the four. */
export type ChannelRequest = HandshakeRequest | BackChannelRequest | ForwardRequest | TerminateRequest;

const DECIMAL = /^(0|[1-9]\d{0,14})$/;

/** Parses the query parameters that matter, validating the numeric ones. */
export function parseChannelParams(search: URLSearchParams): WireResult<ChannelParams> {
  const params: { -readonly [K in keyof ChannelParams]: ChannelParams[K] } = {};
  const number = (name: string, min: number): WireResult<number | undefined> => {
    const text = search.get(name);
    if (text === null) return ok(undefined);
    if (!DECIMAL.test(text) || Number(text) < min) {
      return fail("badParam", `${name}=${shown(text)} is not an integer ≥ ${min}.`);
    }
    return ok(Number(text));
  };

  const ver = number("VER", 0);
  if (!ver.ok) return ver;
  if (ver.value !== undefined && ver.value !== CHANNEL_VERSION) {
    return fail("badParam", `VER=${ver.value} is not supported; only VER=${CHANNEL_VERSION}.`);
  }
  params.ver = ver.value;

  const ridText = search.get("RID");
  if (ridText !== null) {
    if (ridText === "rpc") params.rid = "rpc";
    else {
      const rid = number("RID", 0);
      if (!rid.ok) return rid;
      params.rid = rid.value;
    }
  }

  for (const [name, key, min] of [
    ["AID", "aid", 0],
    ["TO", "timeoutMs", 1],
    ["t", "attempt", 1],
    ["CVER", "cver", 0],
  ] as const) {
    const value = number(name, min);
    if (!value.ok) return value;
    params[key] = value.value;
  }

  const ci = search.get("CI");
  if (ci !== null) {
    if (ci !== "0" && ci !== "1") return fail("badParam", `CI=${shown(ci)} is neither 0 nor 1.`);
    params.ci = ci === "0" ? 0 : 1;
  }

  for (const [name, key] of [
    ["SID", "sid"],
    ["TYPE", "type"],
    ["gsessionid", "gsessionid"],
    ["X-HTTP-Session-Id", "httpSessionIdParam"],
    ["database", "database"],
  ] as const) {
    const text = search.get(name);
    if (text === null) continue;
    if (text === "") return fail("badParam", `${name} is empty.`);
    params[key] = text;
  }
  // Drop the keys left undefined so a params object compares and prints as what was sent.
  for (const key of Object.keys(params) as (keyof ChannelParams)[]) {
    if (params[key] === undefined) delete params[key];
  }
  return ok(params);
}

/**
 * Tells which of the four requests this is and parses what it needs: the body of a handshake or
 * forward POST (`body` is ignored otherwise), the AID and mode of a back channel.
 */
export function parseChannelRequest(method: string, search: URLSearchParams, body: string): WireResult<ChannelRequest> {
  const parsed = parseChannelParams(search);
  if (!parsed.ok) return parsed;
  const params = parsed.value;
  const verb = method.toUpperCase();
  const { sid } = params;

  if (params.type === "terminate") {
    // The client sends it with navigator.sendBeacon (POST) or an Image (GET).
    if (sid === undefined) return fail("badRequest", "TYPE=terminate without a SID.");
    return ok({ kind: "terminate", params, sid });
  }
  if (sid === undefined) {
    if (verb !== "POST") return fail("badRequest", `${verb} without a SID; a channel starts with a POST handshake.`);
    const form = parseForwardBody(body);
    if (!form.ok) return form;
    return ok({ kind: "handshake", params, body: form.value });
  }
  if (params.rid === "rpc") {
    if (verb !== "GET") return fail("badRequest", `a back channel (RID=rpc) is a GET, not ${verb}.`);
    if (params.aid === undefined) return fail("badParam", "a back channel needs AID.");
    if (params.ci === undefined) return fail("badParam", "a back channel needs CI.");
    const mode: BackChannelMode = params.ci === 0 ? "streaming" : "longPoll";
    const request: BackChannelRequest = { kind: "backChannel", params, sid, aid: params.aid, mode };
    return ok(params.timeoutMs === undefined ? request : { ...request, timeoutMs: params.timeoutMs });
  }
  if (verb !== "POST") return fail("badRequest", `${verb} with a SID is neither a back channel nor a terminate.`);
  if (params.rid === undefined) return fail("badParam", "a forward POST needs RID.");
  const form = parseForwardBody(body);
  if (!form.ok) return form;
  const request: ForwardRequest = { kind: "forward", params, sid, body: form.value };
  return ok(params.aid === undefined ? request : { ...request, aid: params.aid });
}
