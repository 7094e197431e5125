/**
 * One bidirectional call (`Listen` or `Write`) on the database's stream socket, whatever carries
 * the call to the Worker: a full-duplex gRPC-Web body (web.ts) or the WebSocket bridge (bridge.ts).
 *
 * Each request message (protobuf) is decoded with the generated code and sent to the Durable
 * Object as proto3 JSON, the protocol of `…/documents:listen` and `:write`; each JSON answer is
 * encoded back. A stream-level error from the Durable Object (`{"error": {…}}`) ends the call with
 * that status. When the client half-closes, the call ends OK once the Durable Object has answered
 * what it was sent; a socket that closes otherwise ends it UNAVAILABLE (the client opens it again).
 */
import { type DescMessage, fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import type { Context } from "hono";
import type { Caller } from "../../durable-objects/database/access.js";
import { Code, FirestoreError, invalidArgument } from "../errors/index.js";
import type { AppEnv } from "../routes/context.js";
import { openStreamSocket } from "../routes/streams.js";
import {
  ListenRequestSchema,
  ListenResponseSchema,
  WriteRequestSchema,
  WriteResponseSchema,
} from "./gen/google/firestore/v1/firestore_pb.js";

export type StreamKind = "listen" | "write";

/** Where a call's answers go. `end` is called once. */
export interface CallSink {
  send(message: Uint8Array): void;
  end(status: FirestoreError): void;
}

export interface StreamCall {
  /** One request message, as protobuf bytes. */
  push(message: Uint8Array): void;
  /** The client has sent everything. */
  halfClose(): void;
  /** The client is gone: the call ends without a status. */
  cancel(): void;
}

const SCHEMAS = {
  listen: [ListenRequestSchema, ListenResponseSchema],
  write: [WriteRequestSchema, WriteResponseSchema],
} as const satisfies Record<StreamKind, readonly [DescMessage, DescMessage]>;

const DATABASE = /^projects\/([^/]+)\/databases\/([^/]+)$/;

/** `projects/{p}/databases/{d}` as its parts; INVALID_ARGUMENT naming the call otherwise. */
export function databaseOf(name: string, call: string): { project: string; database: string } {
  const m = DATABASE.exec(name);
  if (!m) throw invalidArgument(`A ${call} call needs its database (projects/{project}/databases/{database}).`);
  return { project: m[1] as string, database: m[2] as string };
}

/** The `database` field of a Listen or Write request message ("" when unset or unreadable). */
export function requestDatabase(kind: StreamKind, message: Uint8Array): string {
  try {
    return fromBinary(SCHEMAS[kind][0], message).database;
  } catch {
    return "";
  }
}

/** Opens the stream socket of `db` and returns the call; throws if the Durable Object refuses. */
export async function openStreamCall(
  c: Context<AppEnv>,
  kind: StreamKind,
  db: { project: string; database: string },
  sink: CallSink,
  caller: Caller,
): Promise<StreamCall> {
  const [requestSchema, responseSchema] = SCHEMAS[kind];
  const upstream = await openStreamSocket(c, db, kind, caller);
  upstream.accept();
  let ended = false;
  let halfClosed = false;
  const close = (reason: string) => {
    try {
      upstream.close(1000, reason);
    } catch {
      // already closed
    }
  };
  const end = (status: FirestoreError) => {
    if (ended) return;
    ended = true;
    sink.end(status);
    close("call ended");
  };

  upstream.addEventListener("message", (e) => {
    if (ended) return;
    let json: { error?: unknown };
    try {
      json = JSON.parse(typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer));
    } catch {
      return end(new FirestoreError(Code.INTERNAL, "The stream answered something that is not JSON."));
    }
    if (json.error) return end(FirestoreError.fromJSON(json, "The stream failed."));
    let bytes: Uint8Array;
    try {
      bytes = toBinary(responseSchema, fromJson(responseSchema, json as never));
    } catch (err) {
      return end(
        new FirestoreError(
          Code.INTERNAL,
          `A ${responseSchema.typeName} could not be encoded: ${(err as Error).message}`,
        ),
      );
    }
    sink.send(bytes);
  });
  upstream.addEventListener("close", (e) => {
    end(
      halfClosed
        ? new FirestoreError(Code.OK, "")
        : new FirestoreError(
            Code.UNAVAILABLE,
            `The stream closed (${e.code}${e.reason ? `: ${e.reason}` : ""}); open it again.`,
          ),
    );
  });
  upstream.addEventListener("error", () => {
    end(new FirestoreError(Code.UNAVAILABLE, "The stream failed; open it again."));
  });

  return {
    push(message) {
      if (ended || halfClosed) return;
      let json: unknown;
      try {
        json = toJson(requestSchema, fromBinary(requestSchema, message));
      } catch (err) {
        return end(invalidArgument(`The ${requestSchema.typeName} could not be read: ${(err as Error).message}`));
      }
      upstream.send(JSON.stringify(json));
    },
    halfClose() {
      if (ended || halfClosed) return;
      halfClosed = true;
      close("client done");
    },
    cancel() {
      if (ended) return;
      ended = true;
      close("client gone");
    },
  };
}
