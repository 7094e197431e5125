/**
 * The Write stream (google/firestore/v1/firestore.proto `Write`, WriteRequest / WriteResponse;
 * client-wire-protocol.md §4.3): the web SDK's way to write.
 *
 * - The first request opens a stream and is answered with `stream_id` and a `stream_token` only
 *   (no results), or resumes a stream by id from a token: the responses after it are sent again.
 * - Each later request is one batch, applied atomically and in order, and answered with
 *   `write_results` (one per write), `commit_time` and a new `stream_token`. A request carrying a
 *   token acknowledges every response up to it; an empty request with a token is answered too.
 * - Responses not yet acknowledged are kept (to resend on resume); past MAX_UNACKNOWLEDGED the
 *   stream ends with RESOURCE_EXHAUSTED. Any error ends the stream: the client opens a new one.
 *
 * Tokens are `base64("<stream id>:<sequence>")`: the sequence of the last response they name.
 */
import { aborted, invalidArgument, resourceExhausted } from "../errors/index.js";
import { type DatabaseRef, databaseName } from "../model/path.js";
import { microsToTimestamp } from "../model/timestamp.js";
import type { Micros, Write, WriteResult } from "../model/types.js";
import { bytes, list, message, str } from "../validation/proto-json.js";
import { write } from "../validation/writes.js";

/** Responses a client may leave unacknowledged before the stream is closed. */
export const MAX_UNACKNOWLEDGED = 100;

/** A WriteRequest, decoded. */
export interface WriteRequest {
  streamId?: string;
  /** The sequence number the request's token names (an acknowledgement). */
  ack?: number;
  writes: Write[];
}

/** The outcome of a commit, as the stream reports it. */
export interface Committed {
  writeResults: WriteResult[];
  commitTime: Micros;
}

export type WriteResponse = Record<string, unknown>;

export function streamToken(streamId: string, seq: number): string {
  return btoa(`${streamId}:${seq}`);
}

function tokenSeq(token: string, streamId: string | undefined, where: string): { streamId: string; seq: number } {
  let text = "";
  try {
    text = atob(token);
  } catch {
    // reported below
  }
  const m = /^([A-Za-z0-9_-]{1,64}):(\d{1,9})$/.exec(text);
  if (!m || (streamId !== undefined && m[1] !== streamId)) {
    throw invalidArgument(`${where}: not a stream token of this stream.`);
  }
  return { streamId: m[1] as string, seq: Number(m[2]) };
}

/** Decodes a WriteRequest of database `db`; `streamId` is the stream's, once open. */
export function decodeWriteRequest(json: unknown, db: DatabaseRef, streamId?: string): WriteRequest {
  const msg = message(json, "", ["database", "streamId", "writes", "streamToken", "labels"]);
  if (msg.database !== undefined && msg.database !== databaseName(db)) {
    throw invalidArgument(
      `database ${JSON.stringify(msg.database)} does not match this stream's database "${databaseName(db)}".`,
    );
  }
  const out: WriteRequest = { writes: list(msg.writes, "writes").map((w, i) => write(w, db, `writes[${i}]`)) };
  if (msg.streamId !== undefined) out.streamId = str(msg.streamId, "stream_id");
  if (msg.streamToken !== undefined) {
    const token = bytes(msg.streamToken, "stream_token");
    if (token !== "") out.ack = tokenSeq(token, streamId ?? out.streamId, "stream_token").seq;
  }
  return out;
}

function writeResultJson(r: WriteResult): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (r.updateTime !== undefined) out.updateTime = microsToTimestamp(r.updateTime);
  if (r.transformResults !== undefined) out.transformResults = r.transformResults;
  return out;
}

/** One Write stream's state: its id, the sequence of its responses, those not acknowledged. */
export class WriteStream {
  private seq = 0;
  private readonly unacked: { seq: number; response: WriteResponse }[] = [];

  constructor(readonly streamId: string) {}

  /** The answer to the request that opened the stream. */
  open(): WriteResponse[] {
    return [this.respond({})];
  }

  /**
   * The answer to a request resuming this stream from a token: the responses after it, again.
   * A token ahead of what was sent, or behind what was acknowledged, cannot be resumed from.
   */
  resume(ack: number): WriteResponse[] {
    const oldest = this.unacked[0]?.seq ?? this.seq + 1;
    if (ack > this.seq || ack < oldest - 1) {
      throw aborted("The stream token is not one this stream can resume from; open a new stream.");
    }
    this.acknowledge(ack);
    return this.unacked.map((u) => u.response);
  }

  /**
   * Handles a later request: acknowledges up to its token, then applies its writes with `commit`
   * (one atomic batch; an empty one commits nothing and is answered at `now`).
   */
  async handle(
    req: WriteRequest,
    commit: (writes: Write[]) => Promise<Committed>,
    now: () => Micros,
  ): Promise<WriteResponse[]> {
    if (req.streamId !== undefined && req.streamId !== this.streamId) {
      throw invalidArgument(`stream_id "${req.streamId}" is not this stream's ("${this.streamId}").`);
    }
    if (req.ack !== undefined) {
      if (req.ack > this.seq) throw invalidArgument("stream_token acknowledges a response that was never sent.");
      this.acknowledge(req.ack);
    }
    if (req.writes.length === 0 && req.ack === undefined) {
      throw invalidArgument("A write request after the first needs writes or a stream_token.");
    }
    const result = req.writes.length > 0 ? await commit(req.writes) : { writeResults: [], commitTime: now() };
    return [
      this.respond({
        writeResults: result.writeResults.map(writeResultJson),
        commitTime: microsToTimestamp(result.commitTime),
      }),
    ];
  }

  private acknowledge(seq: number): void {
    while (this.unacked.length > 0 && (this.unacked[0]?.seq ?? 0) <= seq) this.unacked.shift();
  }

  private respond(body: Record<string, unknown>): WriteResponse {
    if (this.unacked.length >= MAX_UNACKNOWLEDGED) {
      throw resourceExhausted(
        `More than ${MAX_UNACKNOWLEDGED} write responses are unacknowledged: send stream_token with later requests.`,
      );
    }
    this.seq++;
    const response: WriteResponse =
      this.seq === 1
        ? { streamId: this.streamId, streamToken: streamToken(this.streamId, this.seq) }
        : { streamToken: streamToken(this.streamId, this.seq), ...body };
    this.unacked.push({ seq: this.seq, response });
    return response;
  }
}
