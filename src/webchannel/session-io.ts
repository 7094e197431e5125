/**
 * What a `ChannelSession` is configured with, and the data it hands the transport to act on
 * (client-wire-protocol.md §6.2–6.3). The session writes nothing itself: each `BackChannelOutput`
 * says what to append to which back-channel response, and whether to end it.
 */
import type { IncomingMap } from "./forward-body.js";
import type { ChannelResponse } from "./responses.js";
import type { ChannelSession } from "./session.js";
import { SERVER_KEEPALIVE_MS } from "./wire.js";

/** Tunables; the defaults follow the client's timers (§6.2, §6.3). */
export interface SessionOptions {
  /** Advertised in the `"c"` array; the client's back-channel watchdog is 1.5× this. Default 30 s. */
  readonly serverKeepaliveMs?: number;
  /** How often a streaming back channel gets a noop. Default 20 s, well inside the watchdog. */
  readonly keepaliveIntervalMs?: number;
  /** How long an empty long poll is held without `TO`. Default 25 s; `TO` is capped at `serverKeepaliveMs`. */
  readonly longPollTimeoutMs?: number;
  /** After this many characters a streaming response is ended, so the client reconnects and acknowledges. Default 1 Mi. */
  readonly maxStreamChars?: number;
  /** A session with no back channel for this long expires. Default 60 s. */
  readonly idleTimeoutMs?: number;
}

/** The defaults of `SessionOptions`. */
export const SESSION_DEFAULTS: Required<SessionOptions> = {
  serverKeepaliveMs: SERVER_KEEPALIVE_MS,
  keepaliveIntervalMs: 20_000,
  longPollTimeoutMs: 25_000,
  maxStreamChars: 1 << 20,
  idleTimeoutMs: 60_000,
};

/** What the transport does to the attached back-channel response. */
export interface BackChannelOutput {
  /** The back channel this is for (from `attachBackChannel`); drop it if that response is already gone. */
  readonly channel: number;
  /** Text to append to the response body; may be "" (then only `end` matters). */
  readonly write: string;
  /** End the response after writing; the session has already let go of it. */
  readonly end: boolean;
  /** While the response stays open: when to call `tick` if nothing else happens first. */
  readonly deadline?: number;
}

/** The answer to a new back channel: its first output, and the back channel it displaced. */
export interface BackChannelAttach extends BackChannelOutput {
  /** An older back channel of this session the transport should end now (without writing to it). */
  readonly replaced?: number;
}

/** What a handshake produces: the session, the maps the handshake carried, and the reply to send. */
export interface OpenedSession {
  readonly session: ChannelSession;
  readonly messages: readonly IncomingMap[];
  readonly response: ChannelResponse;
}

/** What the passage of time produced: a write for the back channel, and/or the session's expiry. */
export interface TickResult {
  readonly output?: BackChannelOutput;
  /** The session had no back channel for `idleTimeoutMs` and is now closed; forget it. */
  readonly expired: boolean;
}
