/**
 * The bidirectional `Listen` and `Write` of native gRPC over a WebSocket, for a hop that cannot
 * carry a full-duplex gRPC-Web body (web.ts serves them full-duplex where it can):
 * `GET /google.firestore.v1.Firestore/{Listen|Write}?database=projects/{p}/databases/{d}` with
 * `Upgrade: websocket`. `npm start`'s front (scripts/grpc-front.mjs) opens one per call when
 * `FLARESTORE_GRPC_BIDI=websocket`.
 *
 * On that socket each binary message is one gRPC message (protobuf: a ListenRequest or WriteRequest
 * in, a ListenResponse or WriteResponse out), and the call's end is one text message
 * `{"grpcStatus": n, "grpcMessage": "…"}`. The client half-closes with the text message
 * `{"halfClose":true}` (the call then ends once the database has answered), and cancels by closing
 * the socket. The call itself is stream-call.ts, as for gRPC-Web.
 */
import type { MiddlewareHandler } from "hono";
import { Code, FirestoreError } from "../errors/index.js";
import { streamCaller } from "../middleware/auth.js";
import type { AppEnv } from "../routes/context.js";
import { databaseOf, openStreamCall } from "./stream-call.js";

/** The text message that half-closes the call (the client has sent everything). */
export const HALF_CLOSE = '{"halfClose":true}';
const BRIDGE_PATH = /^\/google\.firestore\.v1\.Firestore\/(Listen|Write)$/;

/** The bridge's upgrades (registered before CORS: a 101 response's headers are not to be touched). */
export const grpcBridge: MiddlewareHandler<AppEnv> = async (c, next) => {
  const m = BRIDGE_PATH.exec(new URL(c.req.url).pathname);
  if (!m || c.req.method !== "GET" || c.req.header("upgrade")?.toLowerCase() !== "websocket") return next();
  const name = m[1] as "Listen" | "Write";
  const db = databaseOf(new URL(c.req.url).searchParams.get("database") ?? "", name);
  const caller = await streamCaller(c, db);
  const { 0: client, 1: server } = new WebSocketPair();
  let ended = false;
  const finish = (status: FirestoreError) => {
    if (ended) return;
    ended = true;
    try {
      server.send(JSON.stringify({ grpcStatus: status.code, grpcMessage: status.message }));
      server.close(1000, "call ended");
    } catch {
      // the client is gone
    }
  };
  const call = await openStreamCall(
    c,
    name === "Listen" ? "listen" : "write",
    db,
    {
      send(message) {
        try {
          server.send(message);
        } catch {
          // the client is gone; its close event cancels the call
        }
      },
      end: finish,
    },
    caller,
  );
  server.accept();
  // Binary messages as ArrayBuffers, read synchronously in order (not Blobs).
  (server as WebSocket & { binaryType: string }).binaryType = "arraybuffer";
  server.addEventListener("message", (e) => {
    if (e.data instanceof ArrayBuffer) return call.push(new Uint8Array(e.data));
    if (e.data === HALF_CLOSE) return call.halfClose();
    call.cancel();
    finish(new FirestoreError(Code.INVALID_ARGUMENT, `Expected binary gRPC messages or ${HALF_CLOSE}.`));
  });
  server.addEventListener("close", () => call.cancel());
  return new Response(null, { status: 101, webSocket: client });
};
