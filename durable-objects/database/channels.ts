/**
 * WebChannel sessions of the database's Listen and Write streams (the web SDK's transport in
 * browsers, client-wire-protocol.md §6), hosted here so that the separate HTTP requests of one
 * session — handshake, back channel, forward POSTs, terminate — meet, whichever Worker instance
 * forwards them. The protocol itself is `src/webchannel` (pure); this file performs what it says:
 * holds back-channel responses open, writes their chunks, and runs its timers.
 *
 * Sessions live in memory. If the object restarts, a session's next request gets "Unknown SID" and
 * the SDK opens a new channel, resuming its Listen targets from their resume tokens (and its Write
 * stream from the start), so nothing is missed; an open back channel keeps the object running.
 */
import { Code, FirestoreError, toFirestoreError } from "../../src/errors/index.js";
import type { DatabaseRef } from "../../src/model/path.js";
import type { Micros, Write } from "../../src/model/types.js";
import { type Committed, decodeWriteRequest, WriteStream } from "../../src/watch/write.js";
import {
  type BackChannelOutput,
  CHANNEL_HEADERS,
  type ChannelResponse,
  ChannelSession,
  endsSession,
  errorResponse,
  type IncomingMap,
  parseChannelRequest,
  terminateResponse,
  unknownSidResponse,
} from "../../src/webchannel/index.js";
import type { Caller } from "./access.js";
import type { WatchHub } from "./watch.js";

export type ChannelKind = "listen" | "write";

/** The shortest time a handshake takes to answer (see `handle`). */
const MIN_HANDSHAKE_MS = 25;

/** Write streams kept for resuming (by stream id) after their session ended. */
const MAX_KEPT_WRITE_STREAMS = 1000;

interface Hosted {
  session: ChannelSession;
  kind: ChannelKind;
  db: DatabaseRef;
  /** Who opened the session (its handshake's credentials): the security rules' caller. */
  caller: Caller;
  /** Listen: hands one ListenRequest to the watch engine. */
  listen?: (json: unknown) => void;
  /** Write: the stream, once the first request opened (or resumed) it. */
  write?: WriteStream;
  /** Write requests run one after another, in map order. */
  writeQueue: Promise<void>;
  /** The open back-channel response. */
  back?: { id: number; writer: WritableStreamDefaultWriter<Uint8Array> };
  timer?: ReturnType<typeof setTimeout>;
}

const encoder = new TextEncoder();

/** Who a caller is, to compare: the same user (a refreshed token too) may resume a Write stream. */
function ownerOf(caller: Caller): string {
  const { identity } = caller;
  return identity.kind === "user" ? `user:${identity.uid}` : identity.kind;
}

function toResponse(r: ChannelResponse): Response {
  return new Response(r.body, { status: r.status, headers: r.headers });
}

export class ChannelHub {
  private readonly sessions = new Map<string, Hosted>();
  /** Write streams by id, with who opened them (only they may resume one). */
  private readonly writeStreams = new Map<string, { stream: WriteStream; owner: string }>();

  constructor(
    private readonly watch: WatchHub,
    /** Commits a Write stream's batch (atomically, like `:commit`). */
    private readonly commit: (db: DatabaseRef, writes: Write[], caller: Caller) => Promise<Committed>,
    /** The database's current read time. */
    private readonly now: () => Micros,
  ) {}

  /**
   * Handles one HTTP request of a channel of `kind` for database `db`. `caller` is who the
   * request's credentials name: a handshake's opens the session; later requests carry none.
   */
  async handle(request: Request, kind: ChannelKind, db: DatabaseRef, caller: Caller): Promise<Response> {
    const url = new URL(request.url);
    const body = request.method === "POST" ? await request.text() : "";
    const parsed = parseChannelRequest(request.method, url.searchParams, body);
    if (!parsed.ok) return toResponse(errorResponse(parsed.error));
    const req = parsed.value;
    const now = Date.now();
    if (req.kind === "handshake") {
      const opened = ChannelSession.open(req, { newId: () => crypto.randomUUID().replaceAll("-", ""), now });
      if (!opened.ok) return toResponse(errorResponse(opened.error));
      const { session, messages, response } = opened.value;
      const hosted: Hosted = { session, kind, db, caller, writeQueue: Promise.resolve() };
      this.sessions.set(session.sid, hosted);
      if (kind === "listen") {
        hosted.listen = this.watch.open(`wc:${session.sid}`, db, caller, (out) => this.deliver(hosted, out));
      }
      this.take(hosted, messages);
      this.schedule(hosted);
      // The client gives a new streaming back channel 4 × the handshake's round trip to show its
      // first bytes, or it decides a buffering proxy is in the way and long-polls for good. On a
      // local machine that round trip can be 1–3 ms, which a busy machine's back channel may not
      // meet: answering no sooner than MIN_HANDSHAKE_MS leaves it some margin (once per session).
      const wait = now + MIN_HANDSHAKE_MS - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      return toResponse(response);
    }
    const hosted = this.sessions.get(req.sid);
    if (!hosted || hosted.kind !== kind || !hosted.session.accepts(req.params)) {
      return toResponse(unknownSidResponse());
    }
    switch (req.kind) {
      case "backChannel": {
        const attached = hosted.session.attachBackChannel(req, now);
        if (!attached.ok) return this.fail(hosted, attached.error);
        const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
        if (hosted.back && attached.value.replaced === hosted.back.id) this.endBack(hosted);
        hosted.back = { id: attached.value.channel, writer: writable.getWriter() };
        this.perform(hosted, attached.value);
        return new Response(readable, { status: 200, headers: CHANNEL_HEADERS });
      }
      case "forward": {
        const received = hosted.session.receive(req, now);
        if (!received.ok) return this.fail(hosted, received.error);
        this.take(hosted, received.value);
        // Writes are answered on the back channel; the POST's reply counts the arrays sent so far.
        await hosted.writeQueue;
        return toResponse(hosted.session.forwardResponse());
      }
      case "terminate": {
        const out = hosted.session.terminate();
        if (out) this.perform(hosted, out);
        this.drop(hosted);
        return toResponse(terminateResponse());
      }
    }
  }

  /** Hands a session's new client messages to its stream engine. */
  private take(hosted: Hosted, maps: readonly IncomingMap[]): void {
    for (const map of maps) {
      if (hosted.listen) hosted.listen(map.message);
      else hosted.writeQueue = hosted.writeQueue.then(() => this.writeOne(hosted, map.message));
    }
  }

  private async writeOne(hosted: Hosted, json: unknown): Promise<void> {
    if (hosted.session.status !== "open") return;
    try {
      if (!hosted.write) {
        const req = decodeWriteRequest(json, hosted.db);
        if (req.writes.length > 0)
          throw new FirestoreError(Code.INVALID_ARGUMENT, "The first write request of a stream carries no writes.");
        if (req.streamId !== undefined && req.ack !== undefined) {
          const kept = this.writeStreams.get(req.streamId);
          if (!kept || kept.owner !== ownerOf(hosted.caller))
            throw new FirestoreError(Code.ABORTED, `Write stream ${req.streamId} is gone; open a new stream.`);
          const stream = kept.stream;
          hosted.write = stream;
          this.deliver(hosted, stream.resume(req.ack));
          return;
        }
        const stream = new WriteStream(crypto.randomUUID().replaceAll("-", "").slice(0, 16));
        this.keepWriteStream(stream, hosted.caller);
        hosted.write = stream;
        this.deliver(hosted, stream.open());
        return;
      }
      const stream = hosted.write;
      const req = decodeWriteRequest(json, hosted.db, stream.streamId);
      const commit = (writes: Write[]) => this.commit(hosted.db, writes, hosted.caller);
      this.deliver(hosted, await stream.handle(req, commit, this.now));
    } catch (e) {
      const error = toFirestoreError(e);
      // Any error ends the Firestore stream: the SDK rejects the batch and opens a new stream.
      const out = hosted.session.sendError(error, Date.now());
      if (out) this.perform(hosted, out);
      if (hosted.write) this.writeStreams.delete(hosted.write.streamId);
    }
  }

  private keepWriteStream(stream: WriteStream, caller: Caller): void {
    this.writeStreams.set(stream.streamId, { stream, owner: ownerOf(caller) });
    if (this.writeStreams.size > MAX_KEPT_WRITE_STREAMS) {
      const oldest = this.writeStreams.keys().next().value;
      if (oldest !== undefined) this.writeStreams.delete(oldest);
    }
  }

  /** Queues stream responses on the session and writes them to its back channel, if one is open. */
  private deliver(hosted: Hosted, messages: readonly object[]): void {
    const out = hosted.session.sendAll(messages, Date.now());
    if (out) this.perform(hosted, out);
  }

  /** Writes a session output to the back channel it names, ends it if asked, and re-arms the timer. */
  private perform(hosted: Hosted, out: BackChannelOutput): void {
    const back = hosted.back;
    if (back && back.id === out.channel) {
      if (out.write !== "") {
        back.writer.write(encoder.encode(out.write)).catch(() => this.lost(hosted, back.id));
      }
      if (out.end) this.endBack(hosted);
    }
    this.schedule(hosted);
  }

  /** The client went away from a back channel (its response can no longer be written). */
  private lost(hosted: Hosted, id: number): void {
    if (hosted.back?.id !== id) return;
    hosted.back = undefined;
    hosted.session.detachBackChannel(id, Date.now());
    this.schedule(hosted);
  }

  private endBack(hosted: Hosted): void {
    const back = hosted.back;
    if (!back) return;
    hosted.back = undefined;
    back.writer.close().catch(() => {});
    hosted.session.detachBackChannel(back.id, Date.now());
  }

  /** One timer per session, at its next deadline (keep-alive, long-poll end, idle expiry). */
  private schedule(hosted: Hosted): void {
    if (hosted.timer !== undefined) clearTimeout(hosted.timer);
    hosted.timer = undefined;
    const at = hosted.session.nextDeadline();
    if (at === undefined) return;
    hosted.timer = setTimeout(
      () => {
        hosted.timer = undefined;
        const { output, expired } = hosted.session.tick(Date.now());
        if (output) this.perform(hosted, output);
        if (expired) this.drop(hosted);
        else this.schedule(hosted);
      },
      Math.max(0, at - Date.now()),
    );
  }

  private fail(hosted: Hosted, error: Parameters<typeof errorResponse>[0]): Response {
    if (endsSession(error)) this.drop(hosted);
    return toResponse(errorResponse(error));
  }

  private drop(hosted: Hosted): void {
    this.endBack(hosted);
    if (hosted.timer !== undefined) clearTimeout(hosted.timer);
    this.sessions.delete(hosted.session.sid);
    if (hosted.listen) this.watch.end(`wc:${hosted.session.sid}`);
  }
}
