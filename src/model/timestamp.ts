/**
 * `google.protobuf.Timestamp` in its two JSON shapes: RFC 3339 strings (REST, WebChannel) and
 * `{seconds, nanos}` objects (gRPC → JSON). Clients send 0, 3, 6 or 9 fractional digits, so all
 * comparisons go through the parsed form, never the text.
 *
 * Firestore stores microseconds; the canonical text form has exactly six fractional digits and
 * drops (truncates, never rounds) anything finer.
 */
import { invalidArgument } from "../errors/index.js";

/** A parsed timestamp: seconds since the Unix epoch (UTC) and 0..999,999,999 nanoseconds. */
export interface TimestampParts {
  seconds: bigint;
  nanos: number;
}

/** 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z, the range protobuf Timestamps allow. */
export const MIN_TIMESTAMP_SECONDS = -62135596800n;
export const MAX_TIMESTAMP_SECONDS = 253402300799n;

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;
const INT_STRING = /^[+-]?\d{1,20}$/;

// --- civil calendar <-> day numbers (proleptic Gregorian, days since 1970-01-01) ---------------

/** Days since the epoch of a civil date (valid for any year, no Date involved). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = month > 2 ? month - 3 : month + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The civil date of a day number: [year, month 1-12, day 1-31]. */
function civilFromDays(days: number): [number, number, number] {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, day];
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

// --- errors ---------------------------------------------------------------------------------------

function bad(where: string, text: string, detail: string): Error {
  const field = where.slice(where.lastIndexOf(".") + 1);
  return invalidArgument(
    `Invalid value at '${where}' (type.googleapis.com/google.protobuf.Timestamp), Field '${field}', ${detail} (got ${text}).`,
  );
}

function show(input: unknown): string {
  try {
    const s = JSON.stringify(input);
    return s === undefined ? String(input) : s.length > 100 ? `${s.slice(0, 100)}…` : s;
  } catch {
    return String(input);
  }
}

const MIN_SECONDS = Number(MIN_TIMESTAMP_SECONDS);
const MAX_SECONDS = Number(MAX_TIMESTAMP_SECONDS);

function outOfRange(where: string, text: string): Error {
  return bad(where, text, "Timestamp must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999999Z");
}

// --- parsing ------------------------------------------------------------------------------------

/** A parsed RFC 3339 string; `seconds` is a Number (exact: |seconds| < 2^38 in range). */
interface ParsedText {
  seconds: number;
  nanos: number;
  /** The fraction digits as written (0–9 of them). */
  frac: string;
  /** Whether the text was already UTC (`Z`), so its date/time fields are the canonical ones. */
  zulu: boolean;
}

function parseRfc3339(s: string, where: string): ParsedText {
  const m = RFC3339.exec(s);
  if (m === null) {
    if (!/(Z|[+-]\d{2}:\d{2})$/.test(s)) {
      throw bad(
        where,
        JSON.stringify(s),
        "Illegal timestamp format; timestamps must end with 'Z' or have a valid timezone offset",
      );
    }
    throw bad(where, JSON.stringify(s), "Illegal timestamp format; expected RFC 3339 like 2023-11-14T22:13:20.123456Z");
  }
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  // Year 0000 and leap seconds (:60) are outside what protobuf Timestamps can express.
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) {
    throw bad(where, JSON.stringify(s), "Illegal timestamp format; invalid date");
  }
  if (hour > 23 || minute > 59 || second > 59) {
    throw bad(where, JSON.stringify(s), "Illegal timestamp format; invalid time of day");
  }
  const frac = m[7] ?? "";
  const nanos = frac === "" ? 0 : Number(frac.padEnd(9, "0"));
  let offsetSeconds = 0;
  const zone = m[8] as string;
  if (zone !== "Z") {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) throw bad(where, JSON.stringify(s), "Illegal timestamp format; invalid timezone offset");
    offsetSeconds = (oh * 3600 + om * 60) * (zone[0] === "-" ? -1 : 1);
  }
  // Local time minus its offset is UTC. All of this is well within 2^53.
  const seconds = daysFromCivil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second - offsetSeconds;
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) throw outOfRange(where, JSON.stringify(s));
  return { seconds, nanos, frac, zulu: zone === "Z" };
}

function parseObject(o: Record<string, unknown>, where: string): TimestampParts {
  let seconds = 0n;
  let nanos = 0;
  for (const key of Object.keys(o)) {
    const v = o[key];
    if (key === "seconds") {
      if (typeof v === "number" && Number.isSafeInteger(v)) seconds = BigInt(v);
      else if (typeof v === "string" && INT_STRING.test(v)) seconds = BigInt(v);
      else if (v !== null) throw bad(where, show(o), "'seconds' must be an integer");
    } else if (key === "nanos") {
      const n = typeof v === "string" && INT_STRING.test(v) ? Number(v) : v;
      if (typeof n === "number" && Number.isInteger(n) && n >= 0 && n <= 999_999_999) nanos = n;
      else if (v !== null) throw bad(where, show(o), "'nanos' must be an integer in [0, 999999999]");
    } else {
      throw bad(where, show(o), `unknown field '${key}' (expected 'seconds' and 'nanos')`);
    }
  }
  if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS) throw outOfRange(where, show(o));
  return { seconds, nanos };
}

/** Parses an RFC 3339 string or a `{seconds, nanos}` object; rejects bad input naming `where`. */
export function parseTimestamp(input: unknown, where: string): TimestampParts {
  if (typeof input === "string") {
    const p = parseRfc3339(input, where);
    return { seconds: BigInt(p.seconds), nanos: p.nanos };
  }
  if (input !== null && typeof input === "object" && !Array.isArray(input)) {
    return parseObject(input as Record<string, unknown>, where);
  }
  throw bad(where, show(input), "Illegal timestamp format; expected an RFC 3339 string or {seconds, nanos}");
}

// --- formatting -------------------------------------------------------------------------------

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** Canonical RFC 3339 text of a timestamp: UTC, 4-digit year, exactly 6 fractional digits. */
export function formatTimestamp(t: TimestampParts): string {
  return formatSeconds(Number(t.seconds), t.nanos);
}

function formatSeconds(secs: number, nanos: number): string {
  const days = Math.floor(secs / 86400);
  const sod = secs - days * 86400;
  const [y, mo, d] = civilFromDays(days);
  const micros = Math.floor(nanos / 1000);
  return `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(Math.floor(sod / 3600), 2)}:${pad(Math.floor(sod / 60) % 60, 2)}:${pad(sod % 60, 2)}.${pad(micros, 6)}Z`;
}

/** Parses and re-emits a timestamp in canonical form (microseconds, truncated). */
export function canonicalTimestamp(input: unknown, where: string): string {
  if (typeof input === "string") {
    const p = parseRfc3339(input, where);
    // Fast path for UTC input (what every SDK sends): keep the validated date and time text and
    // only fix the fraction to six digits.
    if (p.zulu) return `${input.slice(0, 19)}.${p.frac.length >= 6 ? p.frac.slice(0, 6) : p.frac.padEnd(6, "0")}Z`;
    return formatSeconds(p.seconds, p.nanos);
  }
  return formatTimestamp(parseTimestamp(input, where));
}

/** Microseconds since the epoch (exact while |µs| < 2^53, i.e. years ~1685..2255). */
export function timestampToMicros(input: unknown, where: string): number {
  if (typeof input === "string") {
    const p = parseRfc3339(input, where);
    return p.seconds * 1_000_000 + Math.floor(p.nanos / 1000);
  }
  const t = parseTimestamp(input, where);
  return Number(t.seconds) * 1_000_000 + Math.floor(t.nanos / 1000);
}

/** Canonical timestamp text for integer microseconds since the epoch. */
export function microsToTimestamp(us: number): string {
  const whole = Math.floor(us);
  const seconds = Math.floor(whole / 1_000_000);
  const micros = whole - seconds * 1_000_000;
  return formatSeconds(seconds, micros * 1000);
}

/** Orders two parsed timestamps chronologically. */
export function compareTimestampParts(a: TimestampParts, b: TimestampParts): number {
  if (a.seconds !== b.seconds) return a.seconds < b.seconds ? -1 : 1;
  return a.nanos === b.nanos ? 0 : a.nanos < b.nanos ? -1 : 1;
}
