/**
 * One WebChannel session (one SID) as a state machine with no I/O and no timers: the transport feeds
 * it parsed requests and the time, and gets back data to act on (client-wire-protocol.md §6).
 *
 * - Client→server maps (§6.2 c) are delivered once each, in map-id order: a retried POST resends
 *   maps already seen, and they are skipped; maps that start after the next expected id are a gap.
 * - Server→client arrays get ids 1, 2, … (0 is the handshake's `"c"` array) and stay queued until
 *   the client acknowledges them with `AID` (on a back-channel GET or a forward POST); a new back
 *   channel re-sends everything above its AID, which the client de-duplicates by id (§6.2 b).
 * - At most one back channel is attached. Every write the session asks for is a `BackChannelOutput`
 *   naming that back channel; the transport appends `write` to that response and ends it if `end`.
 *   A streaming one (`CI=0`) gets bytes at once and a noop at each keep-alive deadline; a long poll
 *   (`CI=1`) ends as soon as it has something, or with a noop at its deadline (§6.3).
 */
import type { FirestoreError } from "../errors/index.js";
import type { IncomingMap } from "./forward-body.js";
import type {
  BackChannelMode,
  BackChannelRequest,
  ChannelParams,
  ForwardRequest,
  HandshakeRequest,
} from "./request.js";
import { type ChannelResponse, forwardResponse, handshakeResponse } from "./responses.js";
import { fail, ok, type WireResult } from "./result.js";
import {
  type BackChannelAttach,
  type BackChannelOutput,
  type OpenedSession,
  SESSION_DEFAULTS,
  type SessionOptions,
  type TickResult,
} from "./session-io.js";
import {
  parseSnapshot,
  type SessionSnapshot,
  type SessionState,
  SNAPSHOT_VERSION,
  type StoredArray,
} from "./snapshot.js";
import { type ControlKind, type EncodedArray, encodeArraysChunk, encodeControlArray, encodeDataArray } from "./wire.js";

interface AttachedChannel {
  readonly id: number;
  readonly mode: BackChannelMode;
  /** Characters written on this response, for `maxStreamChars`. */
  chars: number;
  deadline: number;
}

/** The mutable part of a session, as stored (minus the attached back channel, which cannot be). */
type State = { -readonly [K in keyof Omit<SessionSnapshot, "v" | "unacked" | "idleSince">]: SessionSnapshot[K] } & {
  idleSince: number;
};

/** One WebChannel session; see the module comment for the protocol it keeps. */
export class ChannelSession {
  private readonly options: Required<SessionOptions>;
  private readonly unacked: StoredArray[];
  private unackedCharCount = 0;
  private channel: AttachedChannel | undefined = undefined;

  private constructor(
    private readonly s: State,
    unacked: readonly StoredArray[],
    options: SessionOptions,
  ) {
    this.options = { ...SESSION_DEFAULTS, ...options };
    this.unacked = [...unacked];
    for (const a of unacked) this.unackedCharCount += a.text.length;
  }

  /**
   * Opens a session for a handshake POST. `newId` makes the SID, and then the HTTP session id when
   * the client asked for one (`X-HTTP-Session-Id=gsessionid`). The handshake's own maps are returned
   * for the caller to process; their responses go out on the back channel as arrays 1, 2, … (§6.2 a).
   */
  static open(
    request: HandshakeRequest,
    deps: { readonly newId: () => string; readonly now: number },
    options: SessionOptions = {},
  ): WireResult<OpenedSession> {
    const { ofs, maps } = request.body;
    if (ofs !== 0) return fail("mapGap", `a handshake's maps start at 0, not ofs=${ofs}.`);
    const sid = deps.newId();
    const httpSessionId = request.params.httpSessionIdParam === undefined ? null : deps.newId();
    const state: State = {
      sid,
      httpSessionId,
      state: "open",
      nextMapId: maps.length,
      lastArrayId: 0,
      channelSeq: 0,
      idleSince: deps.now,
    };
    const session = new ChannelSession(state, [], options);
    const response = handshakeResponse(sid, httpSessionId ?? undefined, session.options.serverKeepaliveMs);
    return ok({ session, messages: maps, response });
  }

  /** Rebuilds a session from `toJSON()` output (validated); `now` starts its idle clock if it had a back channel. */
  static restore(stored: unknown, now: number, options: SessionOptions = {}): WireResult<ChannelSession> {
    const parsed = parseSnapshot(stored);
    if (!parsed.ok) return parsed;
    const { v: _v, unacked, idleSince, ...rest } = parsed.value;
    return ok(new ChannelSession({ ...rest, idleSince: idleSince ?? now }, unacked, options));
  }

  /** The session id (`SID`). */
  get sid(): string {
    return this.s.sid;
  }
  /** The HTTP session id returned in `X-HTTP-Session-Id`, echoed by the client as `gsessionid`. */
  get httpSessionId(): string | undefined {
    return this.s.httpSessionId ?? undefined;
  }
  /** `open`, `finished` (a terminal array is queued; nothing more is sent or delivered) or `closed`. */
  get status(): SessionState {
    return this.s.state;
  }
  /** The next client map id to be delivered. */
  get nextMapId(): number {
    return this.s.nextMapId;
  }
  /** The last array id generated. */
  get lastArrayId(): number {
    return this.s.lastArrayId;
  }
  /** How many arrays await acknowledgement. */
  get unackedCount(): number {
    return this.unacked.length;
  }
  /** The encoded size (UTF-16 units) of the arrays awaiting acknowledgement, for memory limits. */
  get unackedChars(): number {
    return this.unackedCharCount;
  }
  /** The id of the attached back channel, if any. */
  get backChannel(): number | undefined {
    return this.channel?.id;
  }

  /**
   * Whether a request's parameters belong to this session: the SID matches, and so does `gsessionid`
   * when both sides have one (the client omits it when CORS hid the header from it; §6.2 a).
   */
  accepts(params: ChannelParams): boolean {
    if (this.s.state === "closed" || params.sid !== this.s.sid) return false;
    const mine = this.s.httpSessionId;
    return mine === null || params.gsessionid === undefined || params.gsessionid === mine;
  }

  /**
   * Takes a forward POST: acknowledges its AID, and returns the maps not delivered before, in order.
   * A retry resends maps with the same ids and gets only the new ones (maybe none). Maps that arrive
   * once the session is finished are acknowledged but not returned. Answer it with `forwardResponse()`.
   */
  receive(request: ForwardRequest, now: number): WireResult<readonly IncomingMap[]> {
    if (this.s.state === "closed") return fail("unknownSession", `session ${this.s.sid} is closed.`);
    const { ofs, maps } = request.body;
    const next = this.s.nextMapId;
    if (ofs > next) return fail("mapGap", `maps start at ${ofs} but map ${next} was never received.`);
    if (request.aid !== undefined) {
      const acked = this.acknowledge(request.aid);
      if (!acked.ok) return acked;
    }
    if (this.channel === undefined) this.s.idleSince = Math.max(this.s.idleSince, now);
    const fresh = maps.filter((m) => m.mapId >= next);
    this.s.nextMapId = Math.max(next, ofs + maps.length);
    return ok(this.s.state === "open" ? fresh : []);
  }

  /**
   * The forward POST reply `[1,lastArrayId,0]`. Call it after handling the POST's maps, so arrays
   * they produced are counted and the client waits for them on the back channel (§6.2 c).
   */
  forwardResponse(): ChannelResponse {
    return forwardResponse(this.s.lastArrayId);
  }

  /**
   * Attaches a back-channel GET: acknowledges arrays ≤ AID and answers with everything above it.
   * Streaming: that, or a noop when nothing is pending, written at once (a silent new back channel
   * makes the client's buffering-proxy detection switch to long polling, §6.3), then kept open.
   * Long poll: what is pending, ending the response; or nothing yet, held until `deadline`.
   */
  attachBackChannel(request: BackChannelRequest, now: number): WireResult<BackChannelAttach> {
    if (this.s.state === "closed") return fail("unknownSession", `session ${this.s.sid} is closed.`);
    const acked = this.acknowledge(request.aid);
    if (!acked.ok) return acked;
    const replaced = this.channel?.id;
    const { longPollTimeoutMs, serverKeepaliveMs } = this.options;
    // A hold past the client's watchdog (1.5 × serverKeepaliveMs) would be cut off and retried.
    const hold = Math.min(request.timeoutMs ?? longPollTimeoutMs, serverKeepaliveMs);
    const channel: AttachedChannel = { id: ++this.s.channelSeq, mode: request.mode, chars: 0, deadline: now + hold };
    this.channel = channel;
    const pending = this.unacked.map((a) => a.text);
    let output: BackChannelOutput;
    if (pending.length > 0) output = this.emit(pending, now);
    else if (request.mode === "streaming") output = this.emit([this.noop()], now);
    else output = { channel: channel.id, write: "", end: false, deadline: channel.deadline };
    return ok(replaced === undefined ? output : { ...output, replaced });
  }

  /**
   * Tells the session a back-channel response has ended (the client went away, or the transport
   * ended it). Stale ids are ignored. Unacknowledged arrays stay queued for the next back channel.
   */
  detachBackChannel(channel: number, now: number): void {
    if (this.channel?.id !== channel) return;
    this.channel = undefined;
    this.s.idleSince = now;
  }

  /** Queues one Firestore response; returns the write for the attached back channel, if any. */
  send(message: object, now: number): BackChannelOutput | undefined {
    return this.sendAll([message], now);
  }

  /**
   * Queues several responses as consecutive arrays and writes them as one chunk, so a long poll
   * carries the whole batch (a Listen snapshot is ADD, documents, CURRENT, NO_CHANGE) in one reply.
   * Ignored once the session is finished or closed: nothing may follow a stream's last message.
   */
  sendAll(messages: readonly object[], now: number): BackChannelOutput | undefined {
    if (this.s.state !== "open" || messages.length === 0) return undefined;
    const first = this.s.lastArrayId + 1;
    // Encode them all before queuing any, so a message JSON cannot encode leaves the session as it was.
    return this.queue(
      messages.map((m, i) => encodeDataArray(first + i, m)),
      now,
    );
  }

  /**
   * Ends the Firestore stream with an error: a data message `{error:{code,message,status}}`, status
   * a string such as "NOT_FOUND", which the SDK maps to its error code (§6.2 b). The session is then
   * finished; the client closes the channel (and, for Write, retries on a new one).
   */
  sendError(error: FirestoreError, now: number): BackChannelOutput | undefined {
    if (this.s.state !== "open") return undefined;
    const output = this.queue([encodeDataArray(this.s.lastArrayId + 1, error.toJSON())], now);
    this.s.state = "finished";
    return output;
  }

  /** Queues a `stop` (the client reports an error) or `close` (the client disconnects cleanly); finishes the session. */
  sendControl(kind: Exclude<ControlKind, "noop">, now: number): BackChannelOutput | undefined {
    if (this.s.state !== "open") return undefined;
    const output = this.queue([encodeControlArray(this.s.lastArrayId + 1, kind)], now);
    this.s.state = "finished";
    return output;
  }

  /**
   * Acts on deadlines that have passed: a keep-alive noop on a streaming back channel, the noop that
   * ends an empty long poll (an empty reply is an error to the client, §6.2 b), or the expiry of a
   * session left without a back channel.
   */
  tick(now: number): TickResult {
    if (this.s.state === "closed") return { expired: false };
    const channel = this.channel;
    if (channel !== undefined) {
      if (now < channel.deadline) return { expired: false };
      return { output: this.emit([this.noop()], now), expired: false };
    }
    if (now < this.s.idleSince + this.options.idleTimeoutMs) return { expired: false };
    this.close();
    return { expired: true };
  }

  /** When `tick` next has something to do (a keep-alive, a long poll's end, the idle expiry); undefined once closed. */
  nextDeadline(): number | undefined {
    if (this.s.state === "closed") return undefined;
    return this.channel?.deadline ?? this.s.idleSince + this.options.idleTimeoutMs;
  }

  /** Closes the session (`TYPE=terminate`, or the transport giving up); returns the end of its back channel, if any. */
  terminate(): BackChannelOutput | undefined {
    const channel = this.channel;
    this.close();
    return channel === undefined ? undefined : { channel: channel.id, write: "", end: true };
  }

  /** The state to store; `ChannelSession.restore` rebuilds the session from it. */
  toJSON(): SessionSnapshot {
    const { idleSince, ...rest } = this.s;
    return {
      v: SNAPSHOT_VERSION,
      ...rest,
      unacked: [...this.unacked],
      idleSince: this.channel === undefined ? idleSince : null,
    };
  }

  private close(): void {
    this.s.state = "closed";
    this.channel = undefined;
    this.unacked.length = 0;
    this.unackedCharCount = 0;
  }

  /** Drops arrays ≤ aid. An AID above the last generated id means this state is stale (§6.2 b: ids ≤ AID are ignored). */
  private acknowledge(aid: number): WireResult<void> {
    if (aid > this.s.lastArrayId) {
      return fail("badAid", `AID=${aid} is above the last array id ${this.s.lastArrayId} of session ${this.s.sid}.`);
    }
    let n = 0;
    while (n < this.unacked.length && this.unacked[n]!.id <= aid) {
      this.unackedCharCount -= this.unacked[n]!.text.length;
      n++;
    }
    this.unacked.splice(0, n);
    return ok(undefined);
  }

  /** Keeps arrays (encoded with ids lastArrayId + 1, + 2, …) until acknowledged, and writes them if a back channel is attached. */
  private queue(arrays: readonly EncodedArray[], now: number): BackChannelOutput | undefined {
    for (const text of arrays) {
      this.unacked.push({ id: ++this.s.lastArrayId, text });
      this.unackedCharCount += text.length;
    }
    return this.channel === undefined ? undefined : this.emit(arrays, now);
  }

  /**
   * A noop takes the next array id, as any array does, but is not kept for re-sending: the client
   * ignores it anyway, and ids the client never sees are harmless (it only drops ids ≤ its last one).
   */
  private noop(): EncodedArray {
    return encodeControlArray(++this.s.lastArrayId, "noop");
  }

  /**
   * One chunk for the attached back channel. A long poll ends with it, and so does a streaming
   * response past `maxStreamChars` (the client reconnects at once, and its new AID lets the queue
   * shrink); otherwise the next keep-alive is due an interval after this write.
   */
  private emit(arrays: readonly EncodedArray[], now: number): BackChannelOutput {
    const channel = this.channel!;
    const write = encodeArraysChunk(arrays);
    channel.chars += write.length;
    if (channel.mode === "longPoll" || channel.chars >= this.options.maxStreamChars) {
      this.channel = undefined;
      this.s.idleSince = now;
      return { channel: channel.id, write, end: true };
    }
    channel.deadline = now + this.options.keepaliveIntervalMs;
    return { channel: channel.id, write, end: false, deadline: channel.deadline };
  }
}
