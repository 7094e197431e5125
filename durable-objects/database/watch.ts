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
 *
 * Security rules: each stream keeps its caller (`listen_callers`). A target is checked when it is
 * added (a documents target as a `get` of each document, a query target as the query); a documents
 * target is checked again whenever one of its documents changes to a state that exists, and every
 * target when the rules change. A target the rules deny is removed with PERMISSION_DENIED as its
 * cause, before the stream hears anything the caller may not read.
 */
import { FirestoreError, invalidArgument, toFirestoreError } from "../../src/errors/index.js";
import { type DatabaseRef, databaseName } from "../../src/model/path.js";
import type { Micros } from "../../src/model/types.js";
import type { NormalizedQuery } from "../../src/query/types.js";
import {
  type ChangedDoc,
  type ListenResponse,
  ListenStream,
  mergeChanges,
  type SavedTarget,
  type WatchReader,
} from "../../src/watch/listen.js";
import { decodeListenRequest, type TargetSpec } from "../../src/watch/request.js";
import type { Access, Caller } from "./access.js";
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
/**
 * Streams brought up to date per turn of the event loop. Between turns the messages already sent
 * go out and other requests (commits) run, so the first listeners hear of a commit before the
 * last ones are computed, and a thousand listeners never hold the database for one long step.
 */
const STREAMS_PER_TURN = 16;

interface Attachment {
  stream: string;
  project: string;
  database: string;
}

/** A Listen stream and where its responses go: a WebSocket, or a WebChannel session. */
interface Live {
  db: DatabaseRef;
  /** Who opened the stream: its targets are checked against the rules as this caller's reads. */
  caller: Caller;
  stream: ListenStream;
  send(messages: readonly ListenResponse[]): void;
  /** A socket's stream id: its targets are stored (a channel session's are not, see channels.ts). */
  stored?: string;
  ws?: WebSocket;
  /** The last commit (`WatchHub.seq`) this stream's client has heard of. */
  heard: number;
}

/** A commit not yet delivered to every stream. */
interface Undelivered {
  seq: number;
  changes: readonly ChangedDoc[];
  commitTime: Micros;
}

export class WatchHub {
  private readonly live = new Map<string, Live>();
  private readonly readers = new Map<string, WatchReader>();
  /** Commits some stream has not heard of yet, oldest first; `seq` numbers the last one. */
  private log: Undelivered[] = [];
  private seq = 0;
  /** Whether a delivery turn is scheduled. */
  private delivering = false;
  /** Streams left to bring up to date in the current round of delivery, and the next one's index. */
  private round: string[] = [];
  private next = 0;
  /** Changes since a given seq, merged, while `seq` is unchanged (most streams share one). */
  private merged = new Map<number, readonly ChangedDoc[]>();
  private mergedAt = 0;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly store: DocumentStore,
    private readonly engine: QueryEngine,
    private readonly access: Access,
    /** The database's current read time (never before its last commit). */
    private readonly now: () => Micros,
  ) {
    for (const ws of ctx.getWebSockets(LISTEN)) {
      const a = ws.deserializeAttachment() as Attachment | null;
      if (!a) continue;
      const db = { project: a.project, database: a.database };
      const callerRow = ctx.storage.sql
        .exec<{ caller: string }>("SELECT caller FROM listen_callers WHERE stream = ?", a.stream)
        .toArray()[0];
      const saved = ctx.storage.sql
        .exec<{ target_id: number; spec: string }>(
          "SELECT target_id, spec FROM listen_targets WHERE stream = ? ORDER BY target_id",
          a.stream,
        )
        .toArray()
        .map((r) => ({ targetId: Number(r.target_id), spec: JSON.parse(r.spec) as TargetSpec }));
      try {
        // A stream opened before callers were kept (schema v4) listens again, with its credentials.
        if (!callerRow) throw new Error("the stream's caller is not known");
        const caller = JSON.parse(callerRow.caller) as Caller;
        const stream = ListenStream.restore(`${databaseName(db)}/documents`, saved, this.reader(db));
        this.live.set(a.stream, socketLive(ws, db, caller, stream, a.stream, this.seq));
      } catch (e) {
        // A stream that cannot be rebuilt must not take the database down: its client reconnects.
        console.error("listen stream not restored", a.stream, e);
        this.forget(a.stream);
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

  /** Accepts a WebSocket upgrade for the Listen stream of `db`, opened by `caller`. */
  accept(db: DatabaseRef, caller: Caller): Response {
    const { 0: client, 1: server } = new WebSocketPair();
    const id = crypto.randomUUID();
    this.ctx.acceptWebSocket(server, [LISTEN]);
    server.serializeAttachment({ stream: id, project: db.project, database: db.database } satisfies Attachment);
    this.ctx.storage.sql.exec(
      "INSERT OR REPLACE INTO listen_callers (stream, caller) VALUES (?, ?)",
      id,
      JSON.stringify(caller),
    );
    const stream = new ListenStream(`${databaseName(db)}/documents`);
    this.live.set(id, socketLive(server, db, caller, stream, id, this.seq));
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Starts a Listen stream whose responses go to `send` (a WebChannel session); returns its handler. */
  open(
    id: string,
    db: DatabaseRef,
    caller: Caller,
    send: (messages: readonly ListenResponse[]) => void,
  ): (json: unknown) => void {
    const stream = new ListenStream(`${databaseName(db)}/documents`);
    const live: Live = { db, caller, stream, send, heard: this.seq };
    this.live.set(id, live);
    return (json) => {
      this.catchUp(live);
      live.send(this.handle(live, json));
    };
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
    this.catchUp(live);
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
    if (action.kind === "remove") return this.removeTarget(live, action.targetId);
    if (action.target.targetId !== 0 && live.stream.has(action.target.targetId)) {
      return [errorMessage(invalidArgument(`Target id ${action.target.targetId} is already in use on this stream.`))];
    }
    try {
      this.access.checkTarget(live.caller, action.target.spec);
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

  /** Removes a target from a stream (and from storage); its REMOVE acknowledges it. */
  private removeTarget(live: Live, targetId: number): ListenResponse[] {
    if (live.stored !== undefined) {
      this.ctx.storage.sql.exec("DELETE FROM listen_targets WHERE stream = ? AND target_id = ?", live.stored, targetId);
    }
    return live.stream.remove(targetId);
  }

  /**
   * Removes the targets of `targets` the rules no longer let `live`'s caller read, answering each
   * with its cause (the caller is not sent the REMOVE of a plain removal).
   */
  private revoke(live: Live, targets: readonly SavedTarget[]): ListenResponse[] {
    const out: ListenResponse[] = [];
    for (const t of targets) {
      try {
        this.access.checkTarget(live.caller, t.spec);
      } catch (e) {
        if (!(e instanceof FirestoreError)) throw e;
        this.removeTarget(live, t.targetId);
        out.push(ListenStream.rejected(t.targetId, e.code, e.message));
      }
    }
    return out;
  }

  /** The rules changed: every stream's targets are checked again (see the module comment). */
  rulesChanged(): void {
    for (const live of this.live.values()) {
      if (!this.access.restricts(live.caller)) continue;
      const denied = this.revoke(live, live.stream.saved());
      if (denied.length > 0) live.send(denied);
    }
  }

  /** Forgets a closed socket's stream (and answers the close, as the protocol asks). */
  close(ws: WebSocket, code: number): void {
    const a = ws.deserializeAttachment() as Attachment | null;
    if (a) {
      this.live.delete(a.stream);
      this.forget(a.stream);
    }
    answerClose(ws, code);
  }

  /** Deletes what is stored of a socket's stream. */
  private forget(stream: string): void {
    this.ctx.storage.sql.exec("DELETE FROM listen_targets WHERE stream = ?", stream);
    this.ctx.storage.sql.exec("DELETE FROM listen_callers WHERE stream = ?", stream);
  }

  /**
   * Delivers a commit's changes to every stream. Call right after the commit, before any await
   * (so commits are logged in order, and the latest state is never ahead of the log).
   *
   * Delivery starts on the next turn, so the commit's own answer is not held up by its listeners,
   * and commits that land meanwhile are delivered together: a stream hears of all it has not
   * heard of in one batch ending in one snapshot, as Firestore may skip intermediate states.
   * Every stream is brought up to date before it handles a request of its own, so a target added
   * later never sees a snapshot older than its first one.
   */
  commit(changes: readonly ChangedDoc[], commitTime: Micros): void {
    if (changes.length === 0 || this.live.size === 0) return;
    this.log.push({ seq: ++this.seq, changes, commitTime });
    if (!this.delivering) {
      this.delivering = true;
      setTimeout(() => this.deliver(), 0);
    }
  }

  /** One turn of delivery: brings up to STREAMS_PER_TURN streams up to date, then yields. */
  private deliver(): void {
    let done = 0;
    while (done < STREAMS_PER_TURN) {
      if (this.next >= this.round.length) {
        this.round = [...this.live.entries()].filter(([, l]) => l.heard < this.seq).map(([id]) => id);
        this.next = 0;
        if (this.round.length === 0) break;
      }
      const live = this.live.get(this.round[this.next++] as string);
      if (live && live.heard < this.seq) {
        this.catchUp(live);
        done++;
      }
    }
    // Forget what every stream has heard of.
    let oldest = this.seq;
    for (const live of this.live.values()) oldest = Math.min(oldest, live.heard);
    const keep = this.log.findIndex((u) => u.seq > oldest);
    this.log = keep < 0 ? [] : this.log.slice(keep);
    if (this.log.length === 0) {
      this.delivering = false;
      this.round = [];
      this.next = 0;
      this.merged.clear();
    } else {
      setTimeout(() => this.deliver(), 0);
    }
  }

  /** Sends a stream everything it has not heard of yet. */
  private catchUp(live: Live): void {
    if (live.heard >= this.seq) return;
    const last = this.log[this.log.length - 1] as Undelivered;
    const changes = this.changesSince(live.heard);
    // Documents targets whose documents now exist are checked again before they hear of them.
    const denied = this.access.restricts(live.caller)
      ? this.revoke(live, live.stream.documentTargetsNaming(changes.filter((c) => c.after !== null).map((c) => c.path)))
      : [];
    live.send([...denied, ...live.stream.commit(changes, last.commitTime, this.reader(live.db))]);
    live.heard = this.seq;
  }

  /** The changes of every logged commit after `seq`, one per document (its latest state). */
  private changesSince(seq: number): readonly ChangedDoc[] {
    if (this.mergedAt !== this.seq) {
      this.merged.clear();
      this.mergedAt = this.seq;
    }
    let changes = this.merged.get(seq);
    if (!changes) {
      changes = mergeChanges(this.log.filter((u) => u.seq > seq).map((u) => u.changes));
      this.merged.set(seq, changes);
    }
    return changes;
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
    this.log = [];
    this.merged.clear();
    this.ctx.storage.sql.exec("DELETE FROM listen_targets");
    this.ctx.storage.sql.exec("DELETE FROM listen_callers");
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

function socketLive(
  ws: WebSocket,
  db: DatabaseRef,
  caller: Caller,
  stream: ListenStream,
  id: string,
  heard: number,
): Live {
  return {
    db,
    caller,
    stream,
    ws,
    stored: id,
    heard,
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
