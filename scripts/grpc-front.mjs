/**
 * The port `npm start` listens on, in front of workerd: each connection's first bytes decide.
 *
 * - HTTP/2 with prior knowledge (the connection preface, as gRPC clients speak to an emulator):
 *   native gRPC. Each call is converted to gRPC-Web and sent to the Worker, the way Cloudflare's
 *   edge converts native gRPC for a Worker when gRPC is enabled on a zone: the same data frames
 *   with `application/grpc-web+proto`, and the gRPC-Web trailers frame of the answer sent back as
 *   HTTP/2 trailers. So `FIRESTORE_EMULATOR_HOST=127.0.0.1:8080` is all a gRPC client needs.
 * - Anything else (HTTP/1.1: REST, WebChannel, WebSocket): the bytes are piped to workerd as they
 *   are, both ways, without parsing.
 *
 * The bidirectional Listen and Write calls go over a WebSocket to the Worker instead
 * (src/grpc/bridge.ts): each gRPC message one binary message, both ways, and the call's status one
 * text message at the end.
 */
import http2 from "node:http2";
import net from "node:net";
import { Duplex } from "node:stream";
import WebSocket from "ws";

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const BIDI = new Set(["/google.firestore.v1.Firestore/Listen", "/google.firestore.v1.Firestore/Write"]);
/** Request headers a gRPC call passes on to the Worker. */
const FORWARDED = [
  "authorization",
  "grpc-timeout",
  "x-goog-request-params",
  "google-cloud-resource-prefix",
  "x-goog-api-client",
];

/**
 * Listens on `host:port` in front of the workerd at `upstream` (`{ host, port }`). Resolves to the
 * server once listening.
 */
export function startFront({ host, port, upstream }) {
  const h2 = http2.createServer();
  h2.on("stream", (stream, headers) => {
    grpcCall(stream, headers, upstream).catch((e) => {
      try {
        stream.destroy(e);
      } catch {
        // already gone
      }
    });
  });
  h2.on("sessionError", () => {});

  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let head = Buffer.alloc(0);
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, PREFACE.length);
      const mayBeH2 = head.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (mayBeH2 && head.length < PREFACE.length) return; // wait for the whole preface
      socket.off("data", onData);
      socket.pause();
      if (mayBeH2) h2.emit("connection", wrap(socket, head));
      else pipeTo(socket, head, upstream);
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server);
    });
  });
}

/** HTTP/1.1: the connection piped to workerd as it is, starting with the bytes already read. */
function pipeTo(socket, head, upstream) {
  const up = net.connect(upstream.port, upstream.host);
  up.setNoDelay(true);
  up.write(head);
  socket.pipe(up);
  up.pipe(socket);
  socket.resume();
  const close = () => {
    socket.destroy();
    up.destroy();
  };
  up.on("error", close);
  socket.on("error", close);
  up.on("close", close);
  socket.on("close", close);
}

/** The socket as a stream that first replays `head` (node's HTTP/2 reads a wrapped stream from JS). */
function wrap(socket, head) {
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk, encoding, callback) {
      socket.write(chunk, encoding, callback);
    },
    final(callback) {
      socket.end();
      callback();
    },
    destroy(err, callback) {
      socket.destroy();
      callback(err);
    },
  });
  duplex.push(head);
  socket.on("data", (chunk) => {
    if (!duplex.push(chunk)) socket.pause();
  });
  socket.on("end", () => duplex.push(null));
  socket.on("close", () => duplex.destroy());
  return duplex;
}

/** One native gRPC call, answered through the Worker's gRPC-Web endpoint. */
async function grpcCall(stream, headers, upstream) {
  const path = headers[":path"] ?? "";
  const type = String(headers["content-type"] ?? "");
  if (headers[":method"] !== "POST" || !type.startsWith("application/grpc")) {
    stream.respond({ ":status": 415, "content-type": "text/plain" });
    stream.end("This HTTP/2 port speaks gRPC only (content-type application/grpc); use HTTP/1.1 for REST.");
    return;
  }
  const respond = () =>
    stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
  const finish = (status, message) => {
    if (stream.destroyed || stream.closed) return;
    stream.once("wantTrailers", () => {
      const trailers = { "grpc-status": String(status) };
      if (message) trailers["grpc-message"] = message;
      stream.sendTrailers(trailers);
    });
    stream.end();
  };
  if (BIDI.has(path)) {
    bridge(stream, headers, upstream, respond, finish);
    return;
  }
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  const forwarded = { ...passedOn(headers), "content-type": "application/grpc-web+proto", "x-grpc-web": "1" };
  let res;
  try {
    res = await fetch(`http://${upstream.host}:${upstream.port}${path}`, {
      method: "POST",
      headers: forwarded,
      body: Buffer.concat(chunks),
    });
  } catch (e) {
    respond();
    finish(14, encodeURIComponent(`The Worker could not be reached: ${e.message}`));
    return;
  }
  if (res.status !== 200 || !String(res.headers.get("content-type")).startsWith("application/grpc-web")) {
    respond();
    const text = await res.text().catch(() => "");
    finish(
      res.status === 404 ? 12 : 13,
      encodeURIComponent(`HTTP ${res.status} from the Worker: ${text.slice(0, 200)}`),
    );
    return;
  }
  respond();
  // Data frames go through unchanged; the trailers frame becomes HTTP/2 trailers.
  let trailers = { status: 2, message: encodeURIComponent("The Worker's answer ended without a status.") };
  const read = frameReader((flag, payload, frame) => {
    if (flag & 0x80) trailers = parseTrailers(payload.toString("latin1"));
    else stream.write(frame);
  });
  for await (const chunk of res.body) read(chunk);
  finish(trailers.status, trailers.message);
}

/**
 * Reads gRPC(-Web) frames out of a byte stream as its chunks come: `onFrame(flag, payload, frame)`
 * for each whole frame, until it returns false.
 */
function frameReader(onFrame) {
  let buffered = Buffer.alloc(0);
  let stopped = false;
  return (chunk) => {
    if (stopped) return;
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 5) {
      const length = buffered.readUInt32BE(1);
      if (buffered.length < 5 + length) break;
      const frame = buffered.subarray(0, 5 + length);
      buffered = buffered.subarray(5 + length);
      if (onFrame(frame[0], frame.subarray(5), frame) === false) {
        stopped = true;
        return;
      }
    }
  };
}

/** A gRPC data frame (uncompressed) holding `payload`. */
function dataFrame(payload) {
  const frame = Buffer.alloc(5 + payload.length);
  frame.writeUInt32BE(payload.length, 1);
  payload.copy(frame, 5);
  return frame;
}

function parseTrailers(text) {
  const out = { status: 2, message: "" };
  for (const line of text.split("\r\n")) {
    const i = line.indexOf(":");
    if (i < 0) continue;
    const key = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    if (key === "grpc-status") out.status = Number(value);
    if (key === "grpc-message") out.message = value;
  }
  return out;
}

/** The call's headers that the Worker sees too (FORWARDED). */
function passedOn(headers) {
  const out = {};
  for (const name of FORWARDED) if (headers[name] !== undefined) out[name] = String(headers[name]);
  return out;
}

/** The database a call names: `google-cloud-resource-prefix`, or `database=` in `x-goog-request-params`. */
function databaseOf(headers) {
  const prefix = headers["google-cloud-resource-prefix"];
  if (typeof prefix === "string" && prefix !== "") return prefix;
  const params = new URLSearchParams(String(headers["x-goog-request-params"] ?? ""));
  return params.get("database") ?? "";
}

/** A bidirectional call (Listen, Write) bridged onto the Worker's WebSocket (src/grpc/bridge.ts). */
function bridge(stream, headers, upstream, respond, finish) {
  const path = headers[":path"];
  const query = new URLSearchParams({ database: databaseOf(headers) });
  const forwarded = passedOn(headers);
  const ws = new WebSocket(`ws://${upstream.host}:${upstream.port}${path}?${query}`, {
    headers: forwarded,
    perMessageDeflate: false,
  });
  let done = false;
  respond();
  const end = (status, message) => {
    if (done) return;
    done = true;
    finish(status, message ? encodeURIComponent(message) : "");
    ws.terminate();
  };
  // Request messages: gRPC frames from the HTTP/2 stream, each sent as one binary message.
  const queued = [];
  stream.on(
    "data",
    frameReader((flag, payload) => {
      if (flag & 0x01) {
        end(12, "Compressed gRPC messages are not supported (grpc-encoding).");
        return false;
      }
      const message = Buffer.from(payload);
      if (ws.readyState === WebSocket.OPEN) ws.send(message);
      else queued.push(message);
    }),
  );
  // The client half-closes: the call ends when the Worker has answered what it sent.
  stream.on("end", () => {
    if (ws.readyState === WebSocket.OPEN) ws.close(1000, "client done");
  });
  stream.on("close", () => {
    done = true;
    ws.terminate();
  });
  ws.on("open", () => {
    for (const m of queued.splice(0)) ws.send(m);
  });
  ws.on("message", (data, isBinary) => {
    if (done) return;
    if (isBinary) {
      stream.write(dataFrame(Buffer.isBuffer(data) ? data : Buffer.concat(data)));
      return;
    }
    try {
      const status = JSON.parse(data.toString());
      end(Number(status.grpcStatus), String(status.grpcMessage ?? ""));
    } catch {
      end(13, "The Worker's bridge sent something unreadable.");
    }
  });
  ws.on("unexpected-response", (_req, res) => {
    let body = "";
    res.on("data", (d) => (body += d));
    res.on("end", () => {
      let status = res.statusCode === 400 ? 3 : 14;
      let message = `HTTP ${res.statusCode} from the Worker`;
      try {
        const error = JSON.parse(body).error;
        message = error.message;
        if (error.status === "INVALID_ARGUMENT") status = 3;
      } catch {}
      end(status, message);
    });
  });
  ws.on("error", (e) => end(14, `The Worker's stream failed: ${e.message}`));
  ws.on("close", () => end(0, ""));
}
