/**
 * The Write stream over WebSockets (`GET …/documents:write`, Upgrade: websocket): each text message
 * is one WriteRequest, each message sent one WriteResponse (proto3 JSON); the protocol is
 * `src/watch/write.ts`. A socket's requests apply one after another, in the order they arrived.
 * Any error ends the stream, as in Firestore: `{"error": {code, message, status}}`, then the socket
 * closes; the client opens a new stream.
 *
 * Streams live in memory: after the Durable Object is evicted, a socket's next request (carrying a
 * token of the lost stream) is answered ABORTED — the client discards its token and starts over.
 * Each socket's writes are checked against the security rules as its caller's (who opened it).
 */
import { Code, FirestoreError, toFirestoreError } from "../../src/errors/index.js";
import type { DatabaseRef } from "../../src/model/path.js";
import type { Micros, Write } from "../../src/model/types.js";
import { type Committed, decodeWriteRequest, WriteStream } from "../../src/watch/write.js";
import type { Caller } from "./access.js";
import { answerClose } from "./watch.js";

/** The tag of Write sockets (`ctx.getWebSockets`, `ctx.getTags`). */
export const WRITE = "write";
const MAX_MESSAGE_CHARS = 11 * 1024 * 1024;

interface Attachment {
  write: string;
  project: string;
  database: string;
}

interface Socket {
  db: DatabaseRef;
  /** Who opened the stream (undefined once the object lost it: the stream is over then). */
  caller?: Caller;
  stream?: WriteStream;
  /** Whether the first request (which opens the stream) was handled by this instance. */
  opened: boolean;
  queue: Promise<void>;
}

export class WriteSockets {
  private readonly sockets = new Map<string, Socket>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly commit: (db: DatabaseRef, writes: Write[], caller: Caller) => Promise<Committed>,
    private readonly now: () => Micros,
  ) {}

  /** Accepts a WebSocket upgrade for the Write stream of `db`, opened by `caller`. */
  accept(db: DatabaseRef, caller: Caller): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    const id = crypto.randomUUID();
    this.ctx.acceptWebSocket(server, [WRITE]);
    server.serializeAttachment({ write: id, project: db.project, database: db.database } satisfies Attachment);
    this.sockets.set(id, { db, caller, opened: false, queue: Promise.resolve() });
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Queues one message of a Write socket behind the socket's earlier ones. */
  message(ws: WebSocket, data: string | ArrayBuffer): void {
    const a = ws.deserializeAttachment() as Attachment | null;
    if (!a) return;
    let socket = this.sockets.get(a.write);
    if (!socket) {
      // The object was evicted since: the stream's state is gone (see the module comment).
      socket = { db: { project: a.project, database: a.database }, opened: true, queue: Promise.resolve() };
      this.sockets.set(a.write, socket);
    }
    const s = socket;
    s.queue = s.queue.then(() => this.handle(ws, s, data));
  }

  private async handle(ws: WebSocket, s: Socket, data: string | ArrayBuffer): Promise<void> {
    try {
      const text = typeof data === "string" ? data : new TextDecoder().decode(data);
      if (text.length > MAX_MESSAGE_CHARS) {
        throw new FirestoreError(
          Code.INVALID_ARGUMENT,
          `A WriteRequest may be at most ${MAX_MESSAGE_CHARS} characters.`,
        );
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new FirestoreError(Code.INVALID_ARGUMENT, `Invalid JSON payload received. ${(e as Error).message}`);
      }
      let responses: Record<string, unknown>[];
      if (!s.opened) {
        s.opened = true;
        const req = decodeWriteRequest(json, s.db);
        if (req.writes.length > 0 || req.streamId !== undefined) {
          throw new FirestoreError(
            Code.INVALID_ARGUMENT,
            "The first request of a Write stream opens it: no writes, no stream_id (streams are not resumed across sockets).",
          );
        }
        s.stream = new WriteStream(crypto.randomUUID().replaceAll("-", "").slice(0, 16));
        responses = s.stream.open();
      } else if (!s.stream || !s.caller) {
        throw new FirestoreError(
          Code.ABORTED,
          "This Write stream's state was lost (the server restarted); open a new stream.",
        );
      } else {
        const { stream, caller } = s;
        const req = decodeWriteRequest(json, s.db, stream.streamId);
        responses = await stream.handle(req, (writes) => this.commit(s.db, writes, caller), this.now);
      }
      for (const r of responses) ws.send(JSON.stringify(r));
    } catch (e) {
      const error = toFirestoreError(e);
      s.stream = undefined;
      try {
        ws.send(JSON.stringify(error.toJSON()));
        ws.close(1000, `stream ended: ${error.toJSON().error.status}`);
      } catch {
        // already closed
      }
    }
  }

  /** Forgets a closed socket's stream and answers the close. */
  close(ws: WebSocket, code: number): void {
    const a = ws.deserializeAttachment() as Attachment | null;
    if (a) this.sockets.delete(a.write);
    answerClose(ws, code);
  }
}
