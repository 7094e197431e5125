/**
 * The database's Listen streams over WebSockets (Hibernation API): accepts sockets, runs each
 * one's watch engine (`src/watch/listen.ts`) and feeds every commit to all of them.
 *
 * Hibernation: an idle Durable Object is evicted while its sockets stay open, and in-memory state
 * is lost. Each socket's attachment names its stream; its targets are stored in
 * `listen_targets`; when the object starts again, every stream is rebuilt from the latest state
 * before any event is handled (every commit was delivered before the object went idle, so that is
 * what its clients have).
 *
 * Protocol on the socket: each text message is one ListenRequest (proto3 JSON); each message sent
 * is one ListenResponse. A message that cannot be read at all, or a target id already in use, is
 * answered with `{"error": {code, message, status}}` and the stream goes on; a bad target with a
 * fresh id is answered with a `targetChange` REMOVE carrying the error as `cause`.
 */
import { FirestoreError, invalidArgument, toFirestoreError } from "../../src/errors/index.js";
import { type DatabaseRef, databaseName } from "../../src/model/path.js";
import type { Micros } from "../../src/model/types.js";
import type { NormalizedQuery } from "../../src/query/types.js";
import { type ChangedDoc, type ListenResponse, ListenStream, type WatchReader } from "../../src/watch/listen.js";
import { decodeListenRequest, type TargetSpec } from "../../src/watch/request.js";
import type { QueryEngine } from "./query-engine.js";
import { type DocumentStore, HISTORY_RETENTION_US, queryDocOf } from "./store.js";

/** Headers the Worker adds to the upgrade request it forwards: the stream's database. */
export const STREAM_PROJECT_HEADER = "x-flarestore-project";
export const STREAM_DATABASE_HEADER = "x-flarestore-database";
/** Set on WebChannel requests: which stream's channel ("listen" or "write"). */
export const STREAM_CHANNEL_HEADER = "x-flarestore-channel";
/** Set on WebSocket upgrades: which stream ("listen" or "write"). */
export const STREAM_KIND_HEADER = "x-flarestore-stream";

/** The tag of Listen sockets (`ctx.getWebSockets`). */
const LISTEN = "listen";
/** The largest message a client may send (a ListenRequest is small; queries are bounded). */
const MAX_MESSAGE_CHARS = 1024 * 1024;

interface Attachment {
  stream: string;
  project: string;
  database: string;
}

/** A Listen stream and where its responses go: a WebSocket, or a WebChannel session. */
interface Live {
  db: DatabaseRef;
  stream: ListenStream;
  send(messages: readonly ListenResponse[]): void;
  /** A socket's stream id: its targets are stored (a channel session's are not, see channels.ts). */
  stored?: string;
  ws?: WebSocket;
}

export class WatchHub {
  private readonly live = new Map<string, Live>();
  private readonly readers = new Map<string, WatchReader>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly store: DocumentStore,
    private readonly engine: QueryEngine,
    /** The database's current read time (never before its last commit). */
    private readonly now: () => Micros,
  ) {
    for (const ws of ctx.getWebSockets(LISTEN)) {
      const a = ws.deserializeAttachment() as Attachment | null;
      if (!a) continue;
      const db = { project: a.project, database: a.database };
      const saved = ctx.storage.sql
        .exec<{ target_id: number; spec: string }>(
          "SELECT target_id, spec FROM listen_targets WHERE stream = ? ORDER BY target_id",
          a.stream,
        )
        .toArray()
        .map((r) => ({ targetId: Number(r.target_id), spec: JSON.parse(r.spec) as TargetSpec }));
      try {
        const stream = ListenStream.restore(`${databaseName(db)}/documents`, saved, this.reader(db));
        this.live.set(a.stream, socketLive(ws, db, stream, a.stream));
      } catch (e) {
        // A stream that cannot be rebuilt must not take the database down: its client reconnects.
        console.error("listen stream not restored", a.stream, e);
        ctx.storage.sql.exec("DELETE FROM listen_targets WHERE stream = ?", a.stream);
        try {
          ws.close(1011, "stream could not be restored; listen again");
        } catch {
          // already closed
        }
      }
    }
  }

  /** Whether any stream listens (commits only gather their changes then). */
  get listening(): boolean {
    return this.live.size > 0;
  }

  /** Accepts a WebSocket upgrade for the Listen stream of `db`. */
  accept(db: DatabaseRef): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    const id = crypto.randomUUID();
    this.ctx.acceptWebSocket(server, [LISTEN]);
    server.serializeAttachment({ stream: id, project: db.project, database: db.database } satisfies Attachment);
    this.live.set(id, socketLive(server, db, new ListenStream(`${databaseName(db)}/documents`), id));
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Starts a Listen stream whose responses go to `send` (a WebChannel session); returns its handler. */
  open(id: string, db: DatabaseRef, send: (messages: readonly ListenResponse[]) => void): (json: unknown) => void {
    const live: Live = { db, stream: new ListenStream(`${databaseName(db)}/documents`), send };
    this.live.set(id, live);
    return (json) => live.send(this.handle(live, json));
  }

  /** Ends a stream started with `open`. */
  end(id: string): void {
    this.live.delete(id);
  }

  /** Handles one message of a Listen socket. */
  message(ws: WebSocket, data: string | ArrayBuffer): void {
    const live = this.liveOf(ws);
    if (!live) return;
    const text = typeof data === "string" ? data : new TextDecoder().decode(data);
    let json: unknown;
    try {
      if (text.length > MAX_MESSAGE_CHARS)
        throw invalidArgument(`A ListenRequest may be at most ${MAX_MESSAGE_CHARS} characters.`);
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw invalidArgument(`Invalid JSON payload received. ${(e as Error).message}`);
      }
    } catch (e) {
      live.send([errorMessage(e)]);
      return;
    }
    live.send(this.handle(live, json));
  }

  private handle(live: Live, json: unknown): ListenResponse[] {
    const requested = requestedTargetId(json);
    let action: ReturnType<typeof decodeListenRequest>;
    try {
      action = decodeListenRequest(json, live.db);
    } catch (e) {
      // A bad target with a fresh id is that target's failure; anything else is the message's.
      if (requested !== undefined && requested !== 0 && !live.stream.has(requested) && e instanceof FirestoreError) {
        return [ListenStream.rejected(requested, e.code, e.message)];
      }
      return [errorMessage(e)];
    }
    if (action.kind === "remove") {
      if (live.stored !== undefined) {
        this.ctx.storage.sql.exec(
          "DELETE FROM listen_targets WHERE stream = ? AND target_id = ?",
          live.stored,
          action.targetId,
        );
      }
      return live.stream.remove(action.targetId);
    }
    if (action.target.targetId !== 0 && live.stream.has(action.target.targetId)) {
      return [errorMessage(invalidArgument(`Target id ${action.target.targetId} is already in use on this stream.`))];
    }
    try {
      const { targetId, messages } = live.stream.add(action.target, this.reader(live.db), this.now());
      if (live.stored !== undefined && live.stream.has(targetId)) {
        this.ctx.storage.sql.exec(
          "INSERT OR REPLACE INTO listen_targets (stream, target_id, spec) VALUES (?, ?, ?)",
          live.stored,
          targetId,
          JSON.stringify(action.target.spec),
        );
      }
      return messages;
    } catch (e) {
      if (!(e instanceof FirestoreError)) throw e;
      return [ListenStream.rejected(action.target.targetId, e.code, e.message)];
    }
  }

  /** Forgets a closed socket's stream (and answers the close, as the protocol asks). */
  close(ws: WebSocket, code: number): void {
    const a = ws.deserializeAttachment() as Attachment | null;
    if (a) {
      this.live.delete(a.stream);
      this.ctx.storage.sql.exec("DELETE FROM listen_targets WHERE stream = ?", a.stream);
    }
    answerClose(ws, code);
  }

  /** Delivers a commit's changes to every stream. Call right after the commit, before any await. */
  commit(changes: readonly ChangedDoc[], commitTime: Micros): void {
    if (changes.length === 0) return;
    for (const live of this.live.values()) {
      live.send(live.stream.commit(changes, commitTime, this.reader(live.db)));
    }
  }

  /** Closes every socket's stream (the database was emptied: clients listen again from scratch). */
  resetAll(): void {
    for (const live of [...this.live.values()]) {
      try {
        live.ws?.close(1012, "database reset");
      } catch {
        // already closed
      }
    }
    this.live.clear();
    this.ctx.storage.sql.exec("DELETE FROM listen_targets");
  }

  private liveOf(ws: WebSocket): Live | undefined {
    const a = ws.deserializeAttachment() as Attachment | null;
    return a ? this.live.get(a.stream) : undefined;
  }

  /** The watch engine's view of this database, for documents named under `db` (one per name). */
  private reader(db: DatabaseRef): WatchReader {
    const database = databaseName(db);
    let reader = this.readers.get(database);
    if (!reader) {
      const root = `${database}/documents`;
      reader = {
        query: (query: NormalizedQuery, readTime?: Micros) => this.engine.run(query, database, readTime).docs,
        get: (paths, readTime) =>
          paths.map((p) => {
            const row = readTime === undefined ? this.store.getLatest(p) : this.store.getAt(p, readTime);
            return row ? queryDocOf(row, root) : null;
          }),
        canReadAt: (readTime) => readTime >= this.now() - HISTORY_RETENTION_US,
      };
      this.readers.set(database, reader);
    }
    return reader;
  }
}

function socketLive(ws: WebSocket, db: DatabaseRef, stream: ListenStream, id: string): Live {
  return {
    db,
    stream,
    ws,
    stored: id,
    send(messages) {
      try {
        for (const m of messages) ws.send(JSON.stringify(m));
      } catch {
        // The socket is closing; its close event forgets the stream.
      }
    },
  };
}

/**
 * Answers a client's close frame (the protocol asks for it): with its code, or 1000 for the codes
 * that may not be sent (1005 "no status", 1006 "abnormal").
 */
export function answerClose(ws: WebSocket, code: number): void {
  try {
    ws.close(code === 1005 || code === 1006 ? 1000 : code, "closed");
  } catch {
    // already closed
  }
}

function errorMessage(e: unknown): ListenResponse {
  return toFirestoreError(e).toJSON();
}

/** The target id an add_target request asks for, read leniently (for error reporting only). */
function requestedTargetId(json: unknown): number | undefined {
  if (typeof json !== "object" || json === null) return undefined;
  const o = json as Record<string, unknown>;
  const add = (o.addTarget ?? o.add_target) as Record<string, unknown> | undefined;
  const id = add && typeof add === "object" ? (add.targetId ?? add.target_id) : undefined;
  return typeof id === "number" && Number.isInteger(id) && id >= 0 && id < 2 ** 31 ? id : undefined;
}
