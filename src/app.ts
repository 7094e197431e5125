/**
 * The Worker's HTTP surface: CORS for browsers, the 10 MiB request limit, the emulator endpoints,
 * the documents API, and the same over gRPC-Web (src/grpc); every REST error becomes a
 * `google.rpc.Status` JSON with its HTTP status (gRPC-Web errors are `grpc-status` trailers).
 */
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { Code, FirestoreError, invalidArgument, notFound } from "./errors/index.js";
import { grpcBridge } from "./grpc/bridge.js";
import { grpcWeb } from "./grpc/web.js";
import { authenticateRest } from "./middleware/auth.js";
import { resolveDatabase } from "./middleware/database.js";
import { drainBody } from "./middleware/drain.js";
import type { AppEnv } from "./routes/context.js";
import { emulatorMethods, resetDatabase } from "./routes/emulator.js";
import { dispatch } from "./routes/index.js";
import { channel, websocketStreams } from "./routes/streams.js";

/** Cloud Firestore's API request limit (limits.md). */
export const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

function errorResponse(e: FirestoreError): Response {
  return new Response(JSON.stringify(e.toJSON()), {
    status: e.httpStatus,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  // First, so that it runs last: every answer leaves the connection reusable.
  app.use("*", drainBody);

  // WebSocket upgrades, before CORS (a 101 response's headers are not to be touched).
  app.use("*", websocketStreams);
  app.use("*", grpcBridge);

  // Browsers send credentialed requests (the web SDK's XHR and WebChannel): echo the origin, allow
  // credentials, and echo the requested headers on preflights (`*` does not cover Authorization).
  app.use(
    "*",
    cors({
      origin: (origin) => origin || "*",
      credentials: true,
      allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
      exposeHeaders: [
        "X-HTTP-Session-Id",
        "X-Client-Wire-Protocol",
        "Content-Type",
        "grpc-status",
        "grpc-message",
        "grpc-status-details-bin",
      ],
      maxAge: 86400,
    }),
  );
  // gRPC-Web ends every call with trailers, a body too large included (it checks the size itself).
  app.post("/google.firestore.v1.Firestore/:method", grpcWeb(app, MAX_REQUEST_BYTES));
  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_REQUEST_BYTES,
      onError: () => {
        throw invalidArgument(`Request payload size exceeds the limit: ${MAX_REQUEST_BYTES} bytes.`);
      },
    }),
  );

  app.get("/", (c) => c.json({ service: "flarestore", api: "google.firestore.v1" }));
  app.delete("/emulator/v1/projects/:project/databases/:database/documents", resetDatabase);
  app.on(["GET", "PUT", "DELETE", "POST"], "/emulator/v1/*", emulatorMethods);
  app.on(["GET", "POST"], "/google.firestore.v1.Firestore/:rpc{Listen|Write}/channel", channel);
  app.all("/v1/*", resolveDatabase, authenticateRest, dispatch);
  app.all("/v1beta1/*", resolveDatabase, authenticateRest, dispatch);

  app.notFound((c) =>
    errorResponse(notFound(`${c.req.method} ${c.req.path.slice(0, 200)} is not a Firestore API path.`)),
  );
  app.onError((err) => {
    if (err instanceof FirestoreError) return errorResponse(err);
    console.error("unhandled error", err);
    return errorResponse(new FirestoreError(Code.INTERNAL, `Internal error: ${err.message}`));
  });
  return app;
}
