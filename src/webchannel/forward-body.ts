/**
 * The form body of a handshake or forward-channel POST (client-wire-protocol.md §6.2 a and c):
 *
 *   headers=<url-encoded "Name:Value\r\n" block>&count=N&ofs=K&req0___data__=<url-encoded JSON>&…
 *
 * `req{i}___data__` is map id K+i: with `sendRawJson` the SDK sends each message as the map
 * `{__data__: JSON.stringify(msg)}`, and `WireV8.encodeMessage` prefixes each key with `req{i}_`.
 */
import { fail, ok, shown, type WireResult } from "./result.js";

/** The client never puts more than 1,000 maps in one request (`webchannelbase.js`, `Yc(…, 1E3)`). */
export const MAX_MAPS_PER_REQUEST = 1000;

/** A Firestore request message (a ListenRequest or WriteRequest in proto3 JSON). */
export type ChannelMessage = Record<string, unknown>;

/** One client→server map: its id in the session and the message it carries. */
export interface IncomingMap {
  readonly mapId: number;
  readonly message: ChannelMessage;
}

/**
 * The HTTP headers moved into the handshake body (`encodeInitMessageHeaders`), keyed by lowercased
 * name so lookups are case-insensitive: `headers["authorization"]`. Use `headerValue` to look up a
 * name as written.
 */
export type HeaderBlock = Readonly<Record<string, string>>;

/** A parsed POST body: the maps in map-id order, and the header block if one was sent. */
export interface ForwardBody {
  /** The map id of the first map (`ofs`); 0 when the body carries no maps and omits `ofs`. */
  readonly ofs: number;
  readonly maps: readonly IncomingMap[];
  readonly headers: HeaderBlock;
}

const DECIMAL = /^(0|[1-9]\d{0,14})$/;
const MAP_KEY = /^req(\d+)_(.*)$/s;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** A header's value by case-insensitive name, or undefined. */
export function headerValue(headers: HeaderBlock, name: string): string | undefined {
  const key = name.toLowerCase();
  return Object.hasOwn(headers, key) ? headers[key] : undefined;
}

/**
 * Parses the `headers=` block, `"Name:Value\r\n"` lines (`httpCors.generateEncodedHttpHeadersOverwriteParam`).
 * The value is everything after the first colon (values such as `X-Firebase-GMPID:1:123:web:abc` hold
 * colons); repeated names are joined with ", " as HTTP does.
 */
export function parseHeaderBlock(block: string): WireResult<HeaderBlock> {
  const headers: Record<string, string> = Object.create(null);
  for (const line of block.split("\r\n")) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    const name = colon < 0 ? "" : line.slice(0, colon).trim();
    if (!HEADER_NAME.test(name)) return fail("badHeaders", `headers: ${shown(line)} is not a "Name:Value" line.`);
    const key = name.toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[key] = Object.hasOwn(headers, key) ? `${headers[key]}, ${value}` : value;
  }
  return ok(headers);
}

/** Parses a non-negative decimal field of the body. */
function decimal(field: string, text: string | undefined): WireResult<number> {
  if (text === undefined) return fail("badBody", `${field} is missing.`);
  if (!DECIMAL.test(text)) return fail("badBody", `${field}=${shown(text)} is not a non-negative integer.`);
  return ok(Number(text));
}

/**
 * Parses a handshake or forward POST body. Refuses, with a typed error: a missing, repeated or
 * non-numeric `count`/`ofs`; more than 1,000 maps; a missing `req{i}___data__` or one whose text is
 * not a JSON object; `req` keys beyond `count`; a malformed header block.
 */
export function parseForwardBody(body: string): WireResult<ForwardBody> {
  // x-www-form-urlencoded is what URLSearchParams decodes ("+" is a space; the client's
  // encodeURIComponent never emits one). Malformed %-escapes decode leniently, then fail as JSON.
  const fields = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(body)) {
    if (fields.has(key)) return fail("badBody", `${shown(key)} appears more than once.`);
    fields.set(key, value);
  }
  const count = decimal("count", fields.get("count"));
  if (!count.ok) return count;
  if (count.value > MAX_MAPS_PER_REQUEST) {
    return fail("badBody", `count=${count.value} is more than ${MAX_MAPS_PER_REQUEST} maps.`);
  }
  // With no maps the client omits `ofs` (webchannelbase.js `Yc`: "ofs" is pushed only if count > 0).
  const ofsText = fields.get("ofs");
  const ofs = ofsText === undefined && count.value === 0 ? ok(0) : decimal("ofs", ofsText);
  if (!ofs.ok) return ofs;

  const maps: IncomingMap[] = [];
  for (let i = 0; i < count.value; i++) {
    const key = `req${i}___data__`;
    const text = fields.get(key);
    if (text === undefined) return fail("badBody", `${key} is missing (count=${count.value}).`);
    const message = parseMessage(key, text);
    if (!message.ok) return message;
    maps.push({ mapId: ofs.value + i, message: message.value });
  }
  for (const key of fields.keys()) {
    const m = MAP_KEY.exec(key);
    // Other `req{i}_` keys (such as `req{i}_type=_badmap`, the client's mark for a map it could not
    // encode) are ignored while i < count; keys of maps the body does not declare are a malformed body.
    if (m && Number(m[1]) >= count.value) return fail("badBody", `${shown(key)} is beyond count=${count.value}.`);
  }

  const block = fields.get("headers");
  const headers = block === undefined ? ok<HeaderBlock>(Object.create(null)) : parseHeaderBlock(block);
  if (!headers.ok) return headers;
  return ok({ ofs: ofs.value, maps, headers: headers.value });
}

/** One map's JSON text → a Firestore request object. */
function parseMessage(key: string, text: string): WireResult<ChannelMessage> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return fail("badMessage", `${key} is not valid JSON: ${shown(text)}.`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail("badMessage", `${key} is not a JSON object: ${shown(text)}.`);
  }
  return ok(value as ChannelMessage);
}
