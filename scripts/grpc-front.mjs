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
 * Every call, the bidirectional Listen and Write included, is one gRPC-Web request whose body
 * carries the client's frames as they arrive (full duplex over HTTP/1.1, which workerd serves).
 * With `bidi: "websocket"` (`FLARESTORE_GRPC_BIDI=websocket`), Listen and Write go over the
 * Worker's WebSocket bridge instead (src/grpc/bridge.ts), for hops that cannot carry a full-duplex
 * body.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { Duplex } from "node:stream";
import WebSocket from "ws";

/** The bridge's half-close message (src/grpc/bridge.ts HALF_CLOSE). */
const HALF_CLOSE = '{"halfClose":true}';
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
 * Listens on `host:port` in front of the workerd at `upstream` (`{ host, port }`); `bidi` is how
 * Listen and Write reach the Worker ("duplex" or "websocket"). Resolves to the server once listening.
 */
export function startFront({ host, port, upstream, bidi = "duplex" }) {
  const agent = new http.Agent({ keepAlive: true });
  const h2 = http2.createServer();
  h2.on("stream", (stream, headers) => {
    grpcCall(stream, headers, { upstream, bidi, agent }).catch((e) => {
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

/**
 * One native gRPC call, answered through the Worker's gRPC-Web endpoint: the request's frames are
 * passed on as they arrive (a full-duplex HTTP/1.1 body, chunked), the answer's data frames come
 * back as they are, and its trailers frame becomes HTTP/2 trailers. Listen and Write go over the
 * WebSocket bridge instead when `bidi` is "websocket".
 */
async function grpcCall(stream, headers, { upstream, bidi, agent }) {
  const path = headers[":path"] ?? "";
  const type = String(headers["content-type"] ?? "");
  if (headers[":method"] !== "POST" || !type.startsWith("application/grpc")) {
    stream.respond({ ":status": 415, "content-type": "text/plain" });
    stream.end("This HTTP/2 port speaks gRPC only (content-type application/grpc); use HTTP/1.1 for REST.");
    return;
  }
  let responded = false;
  const respond = () => {
    if (responded || stream.destroyed) return;
    responded = true;
    stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
  };
  let finished = false;
  const finish = (trailers) => {
    if (finished || stream.destroyed || stream.closed) return;
    finished = true;
    respond();
    stream.once("wantTrailers", () => stream.sendTrailers(trailers));
    stream.end();
  };
  const fail = (status, message) =>
    finish({ "grpc-status": String(status), "grpc-message": encodeURIComponent(message) });
  if (bidi === "websocket" && BIDI.has(path)) {
    bridge(stream, headers, upstream, respond, fail, finish);
    return;
  }
  const req = http.request({
    host: upstream.host,
    port: upstream.port,
    path,
    method: "POST",
    agent,
    headers: { ...passedOn(headers), "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
  });
  req.setNoDelay(true);
  req.on("error", (e) => fail(14, `The Worker could not be reached: ${e.message}`));
  // The client cancelled (or went away): so does the call to the Worker.
  stream.on("close", () => {
    if (!finished) req.destroy();
  });
  stream.pipe(req);
  req.on("response", (res) => {
    if (res.statusCode !== 200 || !String(res.headers["content-type"]).startsWith("application/grpc-web")) {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () =>
        fail(res.statusCode === 404 ? 12 : 13, `HTTP ${res.statusCode} from the Worker: ${text.slice(0, 200)}`),
      );
      return;
    }
    respond();
    let trailers;
    res.on(
      "data",
      frameReader((flag, payload, frame) => {
        if (flag & 0x80) trailers = parseTrailers(payload.toString("latin1"));
        else if (!stream.destroyed) stream.write(frame);
      }),
    );
    res.on("end", () => {
      finish(
        trailers ?? {
          "grpc-status": "13",
          "grpc-message": encodeURIComponent("The Worker's answer ended without a status."),
        },
      );
      // The call is over: a request body still open (a stream the Worker ended) is given up with its connection.
      if (!req.writableFinished) {
        stream.unpipe(req);
        req.destroy();
      }
    });
    res.on("error", () => fail(14, "The Worker's answer was cut off."));
  });
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

/** A gRPC-Web trailers frame's lines as HTTP/2 trailers (names lower-cased, values as sent). */
function parseTrailers(text) {
  const out = {};
  for (const line of text.split("\r\n")) {
    const i = line.indexOf(":");
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  if (out["grpc-status"] === undefined) out["grpc-status"] = "2";
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

/**
 * A bidirectional call (Listen, Write) bridged onto the Worker's WebSocket (src/grpc/bridge.ts):
 * each gRPC message one binary message both ways, the client's half-close one text message, and
 * the call's status one text message at the end.
 */
function bridge(stream, headers, upstream, respond, fail, finish) {
  const path = headers[":path"];
  const query = new URLSearchParams({ database: databaseOf(headers) });
  const ws = new WebSocket(`ws://${upstream.host}:${upstream.port}${path}?${query}`, {
    headers: passedOn(headers),
    perMessageDeflate: false,
  });
  let done = false;
  respond();
  const end = (status, message) => {
    if (done) return;
    done = true;
    fail(status, message);
    ws.terminate();
  };
  // Request messages: gRPC frames from the HTTP/2 stream, each sent as one binary message.
  const queued = [];
  const send = (m) => (ws.readyState === WebSocket.OPEN ? ws.send(m) : queued.push(m));
  stream.on(
    "data",
    frameReader((flag, payload) => {
      if (flag & 0x01) {
        end(12, "Compressed gRPC messages are not supported (grpc-encoding).");
        return false;
      }
      send(Buffer.from(payload));
    }),
  );
  stream.on("end", () => send(HALF_CLOSE));
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
    let status;
    try {
      status = JSON.parse(data.toString());
    } catch {
      return end(13, "The Worker's bridge sent something unreadable.");
    }
    done = true;
    ws.terminate();
    const trailers = { "grpc-status": String(Number(status.grpcStatus)) };
    if (status.grpcMessage) trailers["grpc-message"] = encodeURIComponent(String(status.grpcMessage));
    finish(trailers);
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
  ws.on("close", () => end(14, "The Worker's stream closed without a status."));
}
