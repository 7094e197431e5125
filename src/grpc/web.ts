/**
 * `POST /google.firestore.v1.Firestore/{Method}` as gRPC-Web (`application/grpc-web+proto` and
 * `application/grpc-web-text`): what browsers' gRPC-Web clients speak, and what Cloudflare's edge
 * hands a Worker for native gRPC when gRPC is enabled on a zone. Each message is decoded with the
 * code generated from the official protos (src/grpc/gen).
 *
 * - Unary and server-streaming calls are turned into the REST request Google's HTTP mapping names
 *   (transcode.ts) and answered by the same routes as REST, so every rule lives in one place; the
 *   JSON answer is encoded back one frame per message as it streams in (a REST array is a server
 *   stream).
 * - `Listen` and `Write` are read from a full-duplex request body, each message as its frame
 *   arrives, and answered frame by frame as the database's stream socket answers (stream-call.ts).
 *   Where a hop cannot carry a full-duplex body, the same calls go over the WebSocket bridge
 *   (bridge.ts).
 *
 * Every answer is streamed (no content-length: Cloudflare's edge converts only such answers back
 * to native gRPC) and ends with a `grpc-status` / `grpc-message` / `grpc-status-details-bin`
 * trailers frame with the exact gRPC code. `grpc-timeout` ends a call DEADLINE_EXCEEDED when it
 * runs out.
 */
import { type DescMethod, fromBinary, fromJson, type JsonObject, toBinary, toJson } from "@bufbuild/protobuf";
import type { Context, Hono } from "hono";
import { Code, FirestoreError, invalidArgument, toFirestoreError, unimplemented } from "../errors/index.js";
import { streamCaller } from "../middleware/auth.js";
import { drainReader } from "../middleware/drain.js";
import type { AppEnv } from "../routes/context.js";
import {
  Base64Reader,
  dataFrame,
  encodeTextBody,
  FrameReader,
  grpcTimeoutMs,
  grpcWebVariant,
  trailersFrame,
} from "./frames.js";
import { Firestore } from "./gen/google/firestore/v1/firestore_pb.js";
import { jsonArrayElements } from "./json-stream.js";
import { databaseOf, openStreamCall, requestDatabase, type StreamCall, type StreamKind } from "./stream-call.js";
import { restRequest } from "./transcode.js";

const METHODS = new Map<string, DescMethod>(Firestore.methods.map((m) => [m.name, m]));
/** Headers of the gRPC call that the REST routes see too. */
const FORWARDED = ["authorization", "x-goog-request-params", "google-cloud-resource-prefix"];
const OK = new FirestoreError(Code.OK, "");

/** The handler, calling `app`'s REST routes for each method; messages over `maxBytes` are refused. */
export function grpcWeb(app: Hono<AppEnv>, maxBytes: number) {
  return (c: Context<AppEnv>): Response => {
    const variant = grpcWebVariant(c.req.header("content-type") ?? null);
    if (!variant) {
      return new Response(
        "Expected a gRPC-Web request (application/grpc-web+proto or application/grpc-web-text). Native gRPC " +
          "(application/grpc) needs a gRPC-Web translating front: `npm start` has one, and so has Cloudflare's " +
          "edge with gRPC enabled on the zone.",
        { status: 415, headers: { "content-type": "text/plain; charset=utf-8" } },
      );
    }
    const out = new CallResponse(variant.text);
    const method = METHODS.get(c.req.param("method") ?? "");
    const messages = requestMessages(c.req.raw.body, {
      text: variant.text,
      maxBytes,
      stop: out.ended,
      drain: method?.methodKind !== "bidi_streaming",
    });
    const run = async () => {
      if (!method) throw unimplemented(`Method not found: google.firestore.v1.Firestore/${c.req.param("method")}`);
      const timeout = grpcTimeoutMs(c.req.header("grpc-timeout") ?? null);
      if (timeout !== undefined) {
        // Under a millisecond no call can be answered in time (and the Worker's clock counts whole ms).
        if (timeout < 1) throw deadlineExceeded();
        const timer = setTimeout(() => out.end(deadlineExceeded()), timeout);
        void out.ended.then(() => clearTimeout(timer));
      }
      if (method.name === "Listen" || method.name === "Write") {
        return bidi(c, method.name === "Listen" ? "listen" : "write", messages, out);
      }
      if (method.methodKind !== "unary" && method.methodKind !== "server_streaming") {
        throw unimplemented(`${method.name} is not a Firestore method this server streams.`);
      }
      const request: Uint8Array[] = [];
      for await (const m of messages) {
        request.push(m);
        if (request.length > 1) throw invalidArgument(`${method.name} takes exactly one request message, not more.`);
      }
      if (request.length === 0) throw invalidArgument(`${method.name} takes exactly one request message, not none.`);
      for await (const m of answer(app, c, method, request[0] as Uint8Array)) {
        if (out.isEnded) return;
        out.send(m);
      }
      out.end(OK);
    };
    run().catch((e) => {
      const status = toFirestoreError(e);
      if (status.code === Code.INTERNAL) console.error("gRPC-Web call failed", e);
      out.end(status);
    });
    return out.response;
  };
}

const deadlineExceeded = () => new FirestoreError(Code.DEADLINE_EXCEEDED, "Deadline exceeded.");

/** A call's streamed answer: data frames as they come, then the trailers frame. */
class CallResponse {
  readonly response: Response;
  /** Resolves when the call has ended: answered, failed, or the client went away. */
  readonly ended: Promise<void>;
  isEnded = false;
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private resolveEnded!: () => void;

  constructor(private readonly text: boolean) {
    const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
    this.writer = writable.getWriter();
    this.ended = new Promise((resolve) => {
      this.resolveEnded = resolve;
    });
    // The client went away: its side of the response is cancelled.
    this.writer.closed.catch(() => this.finish());
    this.response = new Response(readable, {
      status: 200,
      headers: {
        "content-type": text ? "application/grpc-web-text+proto" : "application/grpc-web+proto",
        "grpc-accept-encoding": "identity",
      },
    });
  }

  send(message: Uint8Array): void {
    this.put(dataFrame(message));
  }

  end(status: FirestoreError): void {
    if (this.isEnded) return;
    this.put(trailersFrame(status.code, status.message));
    this.writer.close().catch(() => {});
    this.finish();
  }

  private put(frame: Uint8Array): void {
    if (this.isEnded) return;
    // `-text`: each write is base64 on its own (a client decodes the padded pieces one by one).
    this.writer.write(this.text ? new TextEncoder().encode(encodeTextBody(frame)) : frame).catch(() => this.finish());
  }

  private finish(): void {
    if (this.isEnded) return;
    this.isEnded = true;
    this.resolveEnded();
  }
}

/**
 * The request's messages as their frames arrive (a `-text` body decoded as it comes), until the
 * body ends or (a streaming call) `stop` resolves. What a unary call leaves unread (a body too
 * large, a second message) is read and dropped before it answers, which keeps the connection usable
 * (middleware/drain.ts); a streaming call's rest is cancelled (its client may go on sending).
 */
async function* requestMessages(
  body: ReadableStream<Uint8Array> | null,
  options: { text: boolean; maxBytes: number; stop: Promise<void>; drain: boolean },
): AsyncGenerator<Uint8Array> {
  if (!body) return;
  const frames = new FrameReader(options.maxBytes);
  const base64 = options.text ? new Base64Reader() : undefined;
  const decoder = new TextDecoder();
  const reader = body.getReader();
  if (!options.drain) void options.stop.then(() => reader.cancel().catch(() => {}));
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch {
        // The body broke off: the client cancelled or went away (nobody reads the answer now).
        throw new FirestoreError(Code.CANCELLED, "The call was cancelled: its request body broke off.");
      }
      const { done, value } = chunk;
      if (done) break;
      yield* frames.push(base64 ? base64.push(decoder.decode(value, { stream: true })) : value);
    }
    if (base64) yield* frames.push(base64.end());
    frames.end();
  } finally {
    // Before the call answers: a response that ends while the client is still sending resets the connection.
    if (options.drain) await drainReader(reader);
    else reader.cancel().catch(() => {});
  }
}

/**
 * Listen or Write: the database comes from the first message's `database` field (or, before it,
 * from the routing headers gRPC clients send), then every message goes to the stream socket as it
 * arrives. The request body's end is the client's half-close.
 */
async function bidi(c: Context<AppEnv>, kind: StreamKind, messages: AsyncGenerator<Uint8Array>, out: CallResponse) {
  const name = kind === "listen" ? "Listen" : "Write";
  let call: StreamCall | undefined;
  void out.ended.then(() => call?.cancel());
  for await (const message of messages) {
    if (out.isEnded) return;
    if (!call) {
      const db = databaseOf(requestDatabase(kind, message) || headerDatabase(c), name);
      call = await openStreamCall(
        c,
        kind,
        db,
        { send: (m) => out.send(m), end: (status) => out.end(status) },
        await streamCaller(c, db),
      );
    }
    call.push(message);
  }
  if (call) call.halfClose();
  else out.end(OK);
}

/** The database named by `google-cloud-resource-prefix`, or `database=` in `x-goog-request-params`. */
function headerDatabase(c: Context<AppEnv>): string {
  const prefix = c.req.header("google-cloud-resource-prefix");
  if (prefix) return prefix;
  return new URLSearchParams(c.req.header("x-goog-request-params") ?? "").get("database") ?? "";
}

/** Calls the REST route for one request message; yields the response messages, encoded. */
async function* answer(app: Hono<AppEnv>, c: Context<AppEnv>, method: DescMethod, bytes: Uint8Array) {
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
  const encode = (text: string): Uint8Array => {
    let item: unknown;
    try {
      item = JSON.parse(text);
    } catch {
      throw new FirestoreError(Code.INTERNAL, `${method.name}: the REST route answered ${res.status} without JSON.`);
    }
    // An error: the whole answer, or (a server stream that failed after it began) its last element.
    if (!res.ok || (item as { error?: unknown } | null)?.error)
      throw FirestoreError.fromJSON(item, `HTTP ${res.status}`);
    try {
      return toBinary(method.output, fromJson(method.output, item as JsonObject));
    } catch (e) {
      throw new FirestoreError(
        Code.INTERNAL,
        `${method.name}: the answer does not fit ${method.output.typeName}: ${(e as Error).message}`,
      );
    }
  };
  if (res.ok && method.methodKind === "server_streaming" && res.body) {
    for await (const element of jsonArrayElements(res.body)) yield encode(element);
    return;
  }
  yield encode(await res.text());
}
