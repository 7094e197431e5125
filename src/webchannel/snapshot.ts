/**
 * The stored form of a `ChannelSession`: plain JSON, so a hibernating Durable Object can write it to
 * storage and rebuild the session when it wakes. An attached back channel is not stored: an HTTP
 * response does not survive hibernation or eviction, and the client reconnects with its AID, which
 * re-sends whatever it missed from `unacked`.
 */
import { fail, ok, type WireResult } from "./result.js";
import type { EncodedArray } from "./wire.js";

/** Bump when the shape changes; `parseSnapshot` refuses other versions. */
export const SNAPSHOT_VERSION = 1;

/** The session's lifecycle: `open`; `finished` once a terminal array (error, stop, close) is queued; `closed`. */
export type SessionState = "open" | "finished" | "closed";

/** One queued array the client has not acknowledged: its id and its encoded `[id,data]` text. */
export interface StoredArray {
  readonly id: number;
  readonly text: EncodedArray;
}

/** Everything a session needs to carry on after a restart. */
export interface SessionSnapshot {
  readonly v: typeof SNAPSHOT_VERSION;
  readonly sid: string;
  readonly httpSessionId: string | null;
  readonly state: SessionState;
  /** The next client map id to deliver. */
  readonly nextMapId: number;
  /** The last array id generated (0 = the handshake's `"c"` array). */
  readonly lastArrayId: number;
  /** Queued arrays above the client's last acknowledgement, in id order. */
  readonly unacked: readonly StoredArray[];
  /** The counter behind back-channel ids, so ids stay unique across a restart. */
  readonly channelSeq: number;
  /** Since when the session has had no back channel (null while one was attached). */
  readonly idleSince: number | null;
}

const STATES: readonly string[] = ["open", "finished", "closed"];

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

/** Validates a stored snapshot (storage may hold anything: an old version, a torn write). */
export function parseSnapshot(value: unknown): WireResult<SessionSnapshot> {
  const bad = (why: string) => fail<SessionSnapshot>("badSnapshot", `session snapshot: ${why}.`);
  if (typeof value !== "object" || value === null) return bad("not an object");
  const s = value as Record<string, unknown>;
  if (s.v !== SNAPSHOT_VERSION) return bad(`version ${JSON.stringify(s.v)} is not ${SNAPSHOT_VERSION}`);
  if (typeof s.sid !== "string" || s.sid === "") return bad("sid is not a non-empty string");
  if (s.httpSessionId !== null && typeof s.httpSessionId !== "string") return bad("httpSessionId is not a string");
  if (typeof s.state !== "string" || !STATES.includes(s.state)) return bad("state is not open, finished or closed");
  if (!isCount(s.nextMapId) || !isCount(s.lastArrayId) || !isCount(s.channelSeq)) {
    return bad("nextMapId, lastArrayId and channelSeq must be non-negative integers");
  }
  if (s.idleSince !== null && typeof s.idleSince !== "number") return bad("idleSince is not a number");
  if (!Array.isArray(s.unacked)) return bad("unacked is not an array");
  let previous = 0;
  for (const entry of s.unacked as unknown[]) {
    const a = entry as Partial<StoredArray> | null;
    if (typeof a !== "object" || a === null || !isCount(a.id) || typeof a.text !== "string") {
      return bad("an unacked entry is not {id, text}");
    }
    // Ids are ascending, within what was generated, and each text is the array with that id.
    if (a.id <= previous || a.id > s.lastArrayId || !a.text.startsWith(`[${a.id},`)) {
      return bad(`unacked array ${a.id} is out of order or does not match its text`);
    }
    previous = a.id;
  }
  return ok(value as SessionSnapshot);
}
