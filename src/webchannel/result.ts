/**
 * The typed failures of the WebChannel layer. Parsing and session methods return a `WireResult`
 * instead of throwing, so a malformed request from the network can never surface as a stray
 * TypeError; the transport maps each kind to a response (see `responses.ts`).
 */

/** Why a channel request or snapshot was refused. */
export type WireErrorKind =
  /** A query parameter is malformed (a non-numeric AID, CI other than 0/1, VER other than 8). */
  | "badParam"
  /** The method and parameters fit none of the four request kinds (§6.2 a–d). */
  | "badRequest"
  /** The form body's `count`, `ofs`, or a `req{i}_` key is missing, repeated or not a number. */
  | "badBody"
  /** A `req{i}___data__` map is not a JSON object. */
  | "badMessage"
  /** The `headers=` block is not `Name:Value\r\n` lines. */
  | "badHeaders"
  /** The forward maps start after the next expected map id: maps were lost in between. */
  | "mapGap"
  /** The client acknowledged an array id the session never generated (the session state is stale). */
  | "badAid"
  /** The SID is not a live session (terminated, expired, or never opened). */
  | "unknownSession"
  /** A stored session snapshot is not one `ChannelSession.toJSON` wrote. */
  | "badSnapshot";

/** A refusal with a message that names the bad input. */
export interface WireError {
  readonly kind: WireErrorKind;
  readonly message: string;
}

/** Either a value or the reason there is none. */
export type WireResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly error: WireError };

/** A successful result. */
export function ok<T>(value: T): WireResult<T> {
  return { ok: true, value };
}

/** A failed result. */
export function fail<T = never>(kind: WireErrorKind, message: string): WireResult<T> {
  return { ok: false, error: { kind, message } };
}

/** Input echoed into an error message, cut short (a body may be megabytes long). */
export function shown(text: string, max = 100): string {
  return JSON.stringify(text.length > max ? `${text.slice(0, max)}…` : text);
}
