/**
 * gRPC-Web framing (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-WEB.md): a body is a
 * sequence of frames, each a flag byte (bit 7: trailers; bit 0: compressed), a 4-byte big-endian
 * length and the payload. Responses end with a trailers frame (`grpc-status`, `grpc-message`,
 * HTTP/1-style header lines). The `-text` variants carry the same bytes in base64, possibly as
 * several base64 chunks one after another. Pure: no I/O.
 */
import { Code, FirestoreError, invalidArgument } from "../errors/index.js";

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
  const parts: Uint8Array[] = [];
  const clean = text.replace(/\s+/g, "");
  // A chunk ends at its padding; unpadded text is one chunk.
  for (const chunk of clean.match(/[^=]+=*/g) ?? []) {
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

/** The data frames of a request body (a trailers frame from a client is ignored). */
export function readFrames(body: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 5) throw invalidArgument("The gRPC-Web body ends inside a frame header.");
    const flag = body[at] as number;
    const length = new DataView(body.buffer, body.byteOffset + at + 1, 4).getUint32(0);
    const start = at + 5;
    if (start + length > body.length) {
      throw invalidArgument(`A gRPC-Web frame claims ${length} bytes but the body has ${body.length - start}.`);
    }
    if (flag & COMPRESSED) {
      throw new FirestoreError(Code.UNIMPLEMENTED, "Compressed gRPC messages are not supported (grpc-encoding).");
    }
    if (!(flag & TRAILERS)) out.push(body.subarray(start, start + length));
    at = start + length;
  }
  return out;
}

export function dataFrame(message: Uint8Array): Uint8Array {
  return frame(0, message);
}

/** The trailers frame ending a response: the status and, if any, its message (percent-encoded). */
export function trailersFrame(code: number, message = ""): Uint8Array {
  let text = `grpc-status:${code}\r\n`;
  if (message !== "") text += `grpc-message:${encodeGrpcMessage(message)}\r\n`;
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
