/**
 * The bidirectional `Listen` and `Write` of native gRPC, bridged onto the realtime WebSocket
 * protocol (an HTTP/1.1 hop cannot carry a full-duplex gRPC-Web body):
 * `GET /google.firestore.v1.Firestore/{Listen|Write}?database=projects/{p}/databases/{d}` with
 * `Upgrade: websocket`, which `npm start`'s front (scripts/grpc-front.mjs) opens for each such call.
 *
 * On that socket each binary message is one gRPC message (protobuf: a ListenRequest or WriteRequest
 * in, a ListenResponse or WriteResponse out), and the call's end is one text message
 * `{"grpcStatus": n, "grpcMessage": "…"}`. The Worker decodes each message with the generated code
 * and passes it, as proto3 JSON, to the database's stream socket (the same Durable Object protocol
 * as `…/documents:listen` and `:write`), and encodes what comes back. A stream-level error from the
 * Durable Object (`{"error": {…}}`) ends the call with that status.
 */
import { fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import type { MiddlewareHandler } from "hono";
import { Code, FirestoreError, invalidArgument } from "../errors/index.js";
import type { AppEnv } from "../routes/context.js";
import { forward } from "../routes/streams.js";
import {
  ListenRequestSchema,
  ListenResponseSchema,
  WriteRequestSchema,
  WriteResponseSchema,
} from "./gen/google/firestore/v1/firestore_pb.js";

const BRIDGE_PATH = /^\/google\.firestore\.v1\.Firestore\/(Listen|Write)$/;
const DATABASE = /^projects\/([^/]+)\/databases\/([^/]+)$/;

/** The bridge's upgrades (registered before CORS: a 101 response's headers are not to be touched). */
export const grpcBridge: MiddlewareHandler<AppEnv> = async (c, next) => {
  const m = BRIDGE_PATH.exec(new URL(c.req.url).pathname);
  if (!m || c.req.method !== "GET" || c.req.header("upgrade")?.toLowerCase() !== "websocket") return next();
  const kind = m[1] === "Listen" ? "listen" : "write";
  const database = new URL(c.req.url).searchParams.get("database") ?? "";
  const d = DATABASE.exec(database);
  if (!d) throw invalidArgument(`A ${m[1]} call needs its database (projects/{project}/databases/{database}).`);
  const upstreamResponse = await forward(c, { project: d[1] as string, database: d[2] as string }, undefined, kind);
  const upstream = upstreamResponse.webSocket;
  if (!upstream) return upstreamResponse;
  upstream.accept();
  const { 0: client, 1: server } = new WebSocketPair();
  server.accept();
  // Binary messages as ArrayBuffers, read synchronously in order (not Blobs).
  (server as WebSocket & { binaryType: string }).binaryType = "arraybuffer";
  const [requestSchema, responseSchema] =
    kind === "listen" ? [ListenRequestSchema, ListenResponseSchema] : [WriteRequestSchema, WriteResponseSchema];

  let ended = false;
  const end = (code: number, message: string) => {
    if (ended) return;
    ended = true;
    try {
      server.send(JSON.stringify({ grpcStatus: code, grpcMessage: message }));
      server.close(1000, "call ended");
    } catch {
      // the client is gone
    }
    try {
      upstream.close(1000, "call ended");
    } catch {
      // already closed
    }
  };

  server.addEventListener("message", (e) => {
    if (ended) return;
    if (!(e.data instanceof ArrayBuffer)) return end(Code.INVALID_ARGUMENT, "Expected binary gRPC messages.");
    let json: unknown;
    try {
      json = toJson(requestSchema, fromBinary(requestSchema, new Uint8Array(e.data)));
    } catch (err) {
      return end(Code.INVALID_ARGUMENT, `The ${requestSchema.typeName} could not be read: ${(err as Error).message}`);
    }
    upstream.send(JSON.stringify(json));
  });
  upstream.addEventListener("message", (e) => {
    if (ended) return;
    let json: { error?: { status?: unknown; message?: unknown } };
    try {
      json = JSON.parse(typeof e.data === "string" ? e.data : new TextDecoder().decode(e.data as ArrayBuffer));
    } catch {
      return end(Code.INTERNAL, "The stream answered something that is not JSON.");
    }
    if (json.error) {
      const error = FirestoreError.fromJSON(json, "");
      return end(error.code, error.message);
    }
    try {
      server.send(toBinary(responseSchema, fromJson(responseSchema, json as never)));
    } catch (err) {
      end(Code.INTERNAL, `A ${responseSchema.typeName} could not be encoded: ${(err as Error).message}`);
    }
  });
  server.addEventListener("close", () => {
    ended = true;
    try {
      upstream.close(1000, "client closed");
    } catch {
      // already closed
    }
  });
  upstream.addEventListener("close", (e) => {
    end(Code.UNAVAILABLE, `The stream closed (${e.code}${e.reason ? `: ${e.reason}` : ""}); open it again.`);
  });
  return new Response(null, { status: 101, webSocket: client });
};
