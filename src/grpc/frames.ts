/**
 * gRPC-Web framing (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md): a body is a
 * sequence of frames, each a flag byte (bit 7: trailers; bit 0: compressed), a 4-byte big-endian
 * length and the payload. Responses end with a trailers frame (`grpc-status`, `grpc-message`,
 * HTTP/1-style header lines). The `-text` variants carry the same bytes in base64, possibly as
 * several base64 chunks one after another. Pure: no I/O.
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, FirestoreError, invalidArgument } from "../errors/index.js";
import { StatusSchema } from "./gen/google/rpc/status_pb.js";

const TRAILERS = 0x80;
const COMPRESSED = 0x01;

/** The content types this server speaks, and whether each is the base64 (`-text`) variant. */
export function grpcWebVariant(contentType: string | null): { text: boolean } | undefined {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (type === "application/grpc-web" || type === "application/grpc-web+proto") return { text: false };
  if (type === "application/grpc-web-text" || type === "application/grpc-web-text+proto") return { text: true };
  return undefined;
}

/** Decodes a `-text` body: base64, possibly several padded chunks concatenated. */
export function decodeTextBody(text: string): Uint8Array {
  const reader = new Base64Reader();
  const out = reader.push(text);
  return concat([out, reader.end()]);
}

/**
 * Decodes `-text` request bodies as they stream in: whole 4-character groups as they complete
 * (each padded chunk on its own, so chunks may be concatenated), the rest kept for the next push.
 */
export class Base64Reader {
  private rest = "";

  push(text: string): Uint8Array {
    const clean = this.rest + text.replace(/\s+/g, "");
    const whole = clean.length - (clean.length % 4);
    this.rest = clean.slice(whole);
    return decodeBase64(clean.slice(0, whole));
  }

  /** What is left at the end of the body (unpadded base64 may end in a partial group). */
  end(): Uint8Array {
    const rest = this.rest;
    this.rest = "";
    return decodeBase64(rest);
  }
}

function decodeBase64(text: string): Uint8Array {
  const parts: Uint8Array[] = [];
  // A chunk ends at its padding; unpadded text is one chunk.
  for (const chunk of text.match(/[^=]+=*/g) ?? []) {
    let binary: string;
    try {
      binary = atob(chunk);
    } catch {
      throw invalidArgument("The gRPC-Web text body is not valid base64.");
    }
    parts.push(Uint8Array.from(binary, (ch) => ch.charCodeAt(0)));
  }
  return concat(parts);
}

export function encodeTextBody(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** The data frames of a whole request body (a trailers frame from a client is ignored). */
export function readFrames(body: Uint8Array): Uint8Array[] {
  const reader = new FrameReader();
  const out = reader.push(body);
  reader.end();
  return out;
}

/**
 * Reads the frames of a request body as its chunks come (a full-duplex call's messages): each
 * push returns the data frames it completed; a client's trailers frame is skipped.
 */
export class FrameReader {
  private buffered: Uint8Array = new Uint8Array(0);

  /** `maxBytes`: the largest message accepted (a larger frame is refused from its header). */
  constructor(private readonly maxBytes = Number.POSITIVE_INFINITY) {}

  push(chunk: Uint8Array): Uint8Array[] {
    const body = this.buffered.length === 0 ? chunk : concat([this.buffered, chunk]);
    const out: Uint8Array[] = [];
    let at = 0;
    while (body.length - at >= 5) {
      const flag = body[at] as number;
      const length = new DataView(body.buffer, body.byteOffset + at + 1, 4).getUint32(0);
      const start = at + 5;
      if (length > this.maxBytes)
        throw invalidArgument(`Request payload size exceeds the limit: ${this.maxBytes} bytes.`);
      if (start + length > body.length) break;
      if (flag & COMPRESSED) {
        throw new FirestoreError(Code.UNIMPLEMENTED, "Compressed gRPC messages are not supported (grpc-encoding).");
      }
      if (!(flag & TRAILERS)) out.push(body.subarray(start, start + length));
      at = start + length;
    }
    this.buffered = body.subarray(at);
    return out;
  }

  /** The body has ended: refuses a frame cut short. */
  end(): void {
    const left = this.buffered;
    if (left.length === 0) return;
    if (left.length < 5) throw invalidArgument("The gRPC-Web body ends inside a frame header.");
    const length = new DataView(left.buffer, left.byteOffset + 1, 4).getUint32(0);
    throw invalidArgument(`A gRPC-Web frame claims ${length} bytes but the body has ${left.length - 5}.`);
  }
}

export function dataFrame(message: Uint8Array): Uint8Array {
  return frame(0, message);
}

/**
 * The trailers frame ending a response: the status, its message (percent-encoded), and for an error
 * the same as a `google.rpc.Status` in `grpc-status-details-bin` (unpadded base64, as gRPC emits it).
 */
export function trailersFrame(code: number, message = ""): Uint8Array {
  let text = `grpc-status:${code}\r\n`;
  if (message !== "") text += `grpc-message:${encodeGrpcMessage(message)}\r\n`;
  if (code !== 0) {
    const details = toBinary(StatusSchema, create(StatusSchema, { code, message }));
    text += `grpc-status-details-bin:${encodeTextBody(details).replace(/=+$/, "")}\r\n`;
  }
  return frame(TRAILERS, new TextEncoder().encode(text));
}

/** `grpc-message` is percent-encoded: everything outside printable ASCII, and `%` itself. */
export function encodeGrpcMessage(message: string): string {
  return Array.from(new TextEncoder().encode(message), (b) =>
    b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`,
  ).join("");
}

function frame(flag: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + payload.length);
  out[0] = flag;
  new DataView(out.buffer).setUint32(1, payload.length);
  out.set(payload, 5);
  return out;
}

/** The parts, one after another, in a fresh buffer. */
export function concat(parts: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `grpc-timeout` (e.g. `100m`, `5S`): milliseconds, or undefined when absent or malformed. */
export function grpcTimeoutMs(header: string | null): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(header ?? "");
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2] as string;
  const perUnit: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
  return n * (perUnit[unit] as number);
}
