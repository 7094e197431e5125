/**
 * `POST /google.firestore.v1.Firestore/{Method}` as gRPC-Web (`application/grpc-web+proto` and
 * `application/grpc-web-text`): what browsers' gRPC-Web clients speak, and what Cloudflare's edge
 * hands a Worker for native gRPC when gRPC is enabled on a zone. Each call is decoded with the code
 * generated from the official protos (src/grpc/gen), turned into the REST request Google's HTTP
 * mapping names (transcode.ts) and answered by the same routes as REST, so every rule lives in one
 * place; the JSON answer is encoded back, one frame per message (a REST array is a server stream),
 * and the call ends with `grpc-status` / `grpc-message` trailers with the exact gRPC codes.
 *
 * Not yet: Listen and Write (bidirectional) over gRPC-Web, which needs a full-duplex request body;
 * native gRPC clients get them through the WebSocket bridge (bridge.ts, opened by `npm start`'s
 * front), and other clients use the WebSocket or WebChannel transports.
 */
import { type DescMethod, fromBinary, fromJson, type JsonObject, toBinary, toJson } from "@bufbuild/protobuf";
import type { Context, Hono } from "hono";
import { Code, FirestoreError, invalidArgument, toFirestoreError, unimplemented } from "../errors/index.js";
import type { AppEnv } from "../routes/context.js";
import {
  concat,
  dataFrame,
  decodeTextBody,
  encodeTextBody,
  grpcTimeoutMs,
  grpcWebVariant,
  readFrames,
  trailersFrame,
} from "./frames.js";
import { Firestore } from "./gen/google/firestore/v1/firestore_pb.js";
import { restRequest } from "./transcode.js";

const METHODS = new Map<string, DescMethod>(Firestore.methods.map((m) => [m.name, m]));
/** Headers of the gRPC call that the REST routes see too. */
const FORWARDED = ["authorization", "x-goog-request-params", "google-cloud-resource-prefix"];

/** The handler, calling `app`'s REST routes for each method; bodies over `maxBytes` are refused. */
export function grpcWeb(app: Hono<AppEnv>, maxBytes: number) {
  return async (c: Context<AppEnv>): Promise<Response> => {
    const variant = grpcWebVariant(c.req.header("content-type") ?? null);
    if (!variant) {
      return new Response(
        "Expected a gRPC-Web request (application/grpc-web+proto or application/grpc-web-text). Native gRPC " +
          "(application/grpc) needs a gRPC-Web translating front: `npm start` has one, and so has Cloudflare's " +
          "edge with gRPC enabled on the zone.",
        { status: 415, headers: { "content-type": "text/plain; charset=utf-8" } },
      );
    }
    const frames: Uint8Array[] = [];
    let status = new FirestoreError(Code.OK, "");
    try {
      const method = METHODS.get(c.req.param("method") ?? "");
      if (!method) throw unimplemented(`Method not found: google.firestore.v1.Firestore/${c.req.param("method")}`);
      if (method.methodKind === "bidi_streaming" || method.methodKind === "client_streaming") {
        throw unimplemented(
          `${method.name} is not served over gRPC-Web yet: use the WebSocket (…/documents:${method.name.toLowerCase()}) or WebChannel transport.`,
        );
      }
      const raw = new Uint8Array(await c.req.arrayBuffer());
      if (raw.length > maxBytes) throw invalidArgument(`Request payload size exceeds the limit: ${maxBytes} bytes.`);
      const body = variant.text ? decodeTextBody(new TextDecoder().decode(raw)) : raw;
      const messages = readFrames(body);
      if (messages.length !== 1) {
        throw invalidArgument(`${method.name} takes exactly one request message, not ${messages.length}.`);
      }
      const timeout = grpcTimeoutMs(c.req.header("grpc-timeout") ?? null);
      // Under a millisecond no call can be answered in time (and the Worker's clock counts whole ms).
      if (timeout !== undefined && timeout < 1) throw new FirestoreError(Code.DEADLINE_EXCEEDED, "Deadline exceeded.");
      const call = answer(app, c, method, messages[0] as Uint8Array);
      for (const m of await (timeout === undefined ? call : withDeadline(call, timeout))) frames.push(dataFrame(m));
    } catch (e) {
      status = toFirestoreError(e);
      if (status.code === Code.INTERNAL) console.error("gRPC-Web call failed", e);
    }
    frames.push(trailersFrame(status.code, status.message));
    const bytes = concat(frames);
    return new Response(variant.text ? encodeTextBody(bytes) : bytes, {
      status: 200,
      headers: {
        "content-type": variant.text ? "application/grpc-web-text+proto" : "application/grpc-web+proto",
        "grpc-accept-encoding": "identity",
      },
    });
  };
}

/** Calls the REST route for one request message; returns the response messages, encoded. */
async function answer(app: Hono<AppEnv>, c: Context<AppEnv>, method: DescMethod, bytes: Uint8Array) {
  let json: JsonObject;
  try {
    json = toJson(method.input, fromBinary(method.input, bytes)) as JsonObject;
  } catch (e) {
    throw invalidArgument(`The ${method.input.typeName} message could not be read: ${(e as Error).message}`);
  }
  const rest = restRequest(method, json);
  const headers = new Headers({ "content-type": "application/json" });
  for (const name of FORWARDED) {
    const value = c.req.header(name);
    if (value !== undefined) headers.set(name, value);
  }
  const url = new URL(rest.url, new URL(c.req.url).origin);
  const res = await app.fetch(
    new Request(url, { method: rest.method, headers, body: rest.body }),
    c.env,
    c.executionCtx,
  );
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new FirestoreError(Code.INTERNAL, `${method.name}: the REST route answered ${res.status} without JSON.`);
  }
  if (!res.ok) throw FirestoreError.fromJSON(parsed, `HTTP ${res.status}`);
  const items = method.methodKind === "server_streaming" && Array.isArray(parsed) ? parsed : [parsed];
  return items.map((item) => {
    try {
      return toBinary(method.output, fromJson(method.output, item));
    } catch (e) {
      throw new FirestoreError(
        Code.INTERNAL,
        `${method.name}: the answer does not fit ${method.output.typeName}: ${(e as Error).message}`,
      );
    }
  });
}

function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new FirestoreError(Code.DEADLINE_EXCEEDED, "Deadline exceeded.")), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}
