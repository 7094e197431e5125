/**
 * The pure parts of gRPC-Web (src/grpc): framing, `-text`, `grpc-timeout`, the REST mapping of
 * each method, and the generated code matching what scripts/gen-protos.mjs writes from the
 * official protos.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without types
import { GEN_DIR, generate } from "../../scripts/gen-protos.mjs";
import { Code, FirestoreError, notFound } from "../../src/errors/index.js";
import {
  Base64Reader,
  concat,
  dataFrame,
  decodeTextBody,
  encodeGrpcMessage,
  encodeTextBody,
  FrameReader,
  grpcTimeoutMs,
  grpcWebVariant,
  readFrames,
  trailersFrame,
} from "../../src/grpc/frames.js";
import { Firestore } from "../../src/grpc/gen/google/firestore/v1/firestore_pb.js";
import { StatusSchema } from "../../src/grpc/gen/google/rpc/status_pb.js";
import { jsonArrayElements } from "../../src/grpc/json-stream.js";
import { restRequest } from "../../src/grpc/transcode.js";

const method = (name: string) => {
  const m = Firestore.methods.find((x) => x.name === name);
  if (!m) throw new Error(name);
  return m;
};
const DB = "projects/p/databases/(default)";

describe("gRPC-Web frames", () => {
  it("reads data frames, skips a client's trailers, and refuses truncated or compressed frames", () => {
    const a = dataFrame(new Uint8Array([1, 2]));
    const b = dataFrame(new Uint8Array([]));
    const body = new Uint8Array([...a, ...b, ...trailersFrame(0)]);
    expect(readFrames(body).map((f) => [...f])).toEqual([[1, 2], []]);
    expect(() => readFrames(a.subarray(0, 6))).toThrow(/claims 2 bytes/);
    expect(() => readFrames(a.subarray(0, 3))).toThrow(/inside a frame header/);
    const compressed = dataFrame(new Uint8Array([1]));
    compressed[0] = 1;
    expect(() => readFrames(compressed)).toThrow(/Compressed/);
  });

  it("reads frames as a stream's chunks come, whatever the cuts, and refuses a frame over the limit from its header", () => {
    const frames = [
      dataFrame(new Uint8Array([1, 2, 3])),
      dataFrame(new Uint8Array(300).fill(9)),
      dataFrame(new Uint8Array()),
    ];
    const body = concat(frames);
    for (const cut of [1, 2, 4, 5, 6, 7, 150, 307, body.length]) {
      const reader = new FrameReader();
      const out: number[][] = [];
      for (let at = 0; at < body.length; at += cut)
        out.push(...reader.push(body.slice(at, at + cut)).map((f) => [...f]));
      reader.end();
      expect(out).toEqual([[1, 2, 3], Array(300).fill(9), []]);
    }
    const open = new FrameReader();
    open.push(body.slice(0, 14));
    expect(() => open.end()).toThrow(/claims 300 bytes but the body has 1/);
    const small = new FrameReader(100);
    expect(small.push(frames[0] as Uint8Array)).toHaveLength(1);
    // The header alone is enough to refuse (nothing of the 300 bytes needs to be buffered).
    expect(() => small.push((frames[1] as Uint8Array).subarray(0, 5))).toThrow(/exceeds the limit: 100 bytes/);
  });

  it("-text bodies decode as they stream, cut anywhere, padded pieces one after another", () => {
    const a = encodeTextBody(new Uint8Array([1, 2, 3, 4]));
    const b = encodeTextBody(new Uint8Array([5]));
    const text = `${a}${b}`;
    for (let cut = 1; cut <= text.length; cut++) {
      const reader = new Base64Reader();
      const out: number[] = [];
      for (let at = 0; at < text.length; at += cut) out.push(...reader.push(text.slice(at, at + cut)));
      out.push(...reader.end());
      expect(out).toEqual([1, 2, 3, 4, 5]);
    }
  });

  it("trailers carry the status, a percent-encoded message and, for errors, the google.rpc.Status", () => {
    const t = trailersFrame(5, "no 100% café\n");
    expect(t[0]).toBe(0x80);
    const lines = new TextDecoder().decode(t.subarray(5)).split("\r\n");
    expect(lines.slice(0, 2)).toEqual(["grpc-status:5", "grpc-message:no 100%25 caf%C3%A9%0A"]);
    const details = /^grpc-status-details-bin:([A-Za-z0-9+/]+)$/.exec(lines[2] as string)?.[1] as string;
    const status = fromBinary(StatusSchema, decodeTextBody(details));
    expect([status.code, status.message]).toEqual([5, "no 100% café\n"]);
    expect(new TextDecoder().decode(trailersFrame(0).subarray(5))).toBe("grpc-status:0\r\n");
    expect(encodeGrpcMessage("plain")).toBe("plain");
  });

  it("-text bodies are base64, also as several padded chunks", () => {
    const bytes = new Uint8Array([0, 255, 7, 8, 9]);
    expect([...decodeTextBody(encodeTextBody(bytes))]).toEqual([...bytes]);
    const chunks = encodeTextBody(bytes.subarray(0, 1)) + encodeTextBody(bytes.subarray(1));
    expect([...decodeTextBody(chunks)]).toEqual([...bytes]);
    expect(() => decodeTextBody("!!!")).toThrow(/base64/);
  });

  it("content types and timeouts", () => {
    expect(grpcWebVariant("application/grpc-web+proto")).toEqual({ text: false });
    expect(grpcWebVariant("application/grpc-web-text; charset=x")).toEqual({ text: true });
    expect(grpcWebVariant("application/grpc")).toBeUndefined();
    expect(grpcTimeoutMs("1500m")).toBe(1500);
    expect(grpcTimeoutMs("2S")).toBe(2000);
    expect(grpcTimeoutMs("1H")).toBe(3_600_000);
    expect(grpcTimeoutMs("12x")).toBeUndefined();
    expect(grpcTimeoutMs(null)).toBeUndefined();
  });
});

describe("REST errors back to gRPC codes", () => {
  it("a google.rpc.Status body gives its code and message; anything else is UNKNOWN", () => {
    const back = FirestoreError.fromJSON(notFound("no such document").toJSON(), "HTTP 404");
    expect([back.code, back.message]).toEqual([Code.NOT_FOUND, "no such document"]);
    expect(FirestoreError.fromJSON({ error: { status: "toString" } }, "HTTP 500").code).toBe(Code.UNKNOWN);
    const bare = FirestoreError.fromJSON("<html>", "HTTP 502");
    expect([bare.code, bare.message]).toEqual([Code.UNKNOWN, "HTTP 502"]);
  });
});

describe("gRPC to REST (google.api.http)", () => {
  it("path fields, a body of every other field, or query parameters", () => {
    expect(restRequest(method("Commit"), { database: DB, writes: [] })).toEqual({
      method: "POST",
      url: `/v1/${DB}/documents:commit`,
      body: '{"writes":[]}',
    });
    expect(
      restRequest(method("GetDocument"), { name: `${DB}/documents/c/a b`, mask: { fieldPaths: ["x", "y.z"] } }),
    ).toEqual({
      method: "GET",
      url: `/v1/projects/p/databases/(default)/documents/c/a%20b?mask.fieldPaths=x&mask.fieldPaths=y.z`,
      body: undefined,
    });
    const update = restRequest(method("UpdateDocument"), {
      document: { name: `${DB}/documents/c/d`, fields: {} },
      updateMask: { fieldPaths: ["a"] },
    });
    expect(update.method).toBe("PATCH");
    expect(update.url).toBe(`/v1/${DB}/documents/c/d?updateMask.fieldPaths=a`);
    expect(JSON.parse(update.body as string)).toEqual({ name: `${DB}/documents/c/d`, fields: {} });
    expect(
      restRequest(method("ListDocuments"), { parent: `${DB}/documents`, collectionId: "rooms", pageSize: 2 }).url,
    ).toBe(`/v1/${DB}/documents/rooms?pageSize=2`);
  });

  it("refuses a missing path field or a name of the wrong kind", () => {
    expect(() => restRequest(method("GetDocument"), {})).toThrow(/name is required/);
    expect(() => restRequest(method("GetDocument"), { name: `${DB}/documents/c` })).toThrow(/not a document name/);
    expect(() => restRequest(method("DeleteDocument"), { name: "c/d" })).toThrow(/not a resource name/);
    expect(() => restRequest(method("ListDocuments"), { parent: `${DB}/documents/c`, collectionId: "d" })).toThrow(
      /not a valid parent/,
    );
  });
});

describe("generated protobuf code", () => {
  it("is exactly what scripts/gen-protos.mjs writes from the official protos", () => {
    const out = mkdtempSync(join(tmpdir(), "flarestore-gen-"));
    try {
      generate(out);
      const files = (dir: string): string[] =>
        readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
      const fresh = files(out)
        .map((f) => relative(out, f))
        .sort();
      expect(
        files(GEN_DIR)
          .map((f) => relative(GEN_DIR, f))
          .sort(),
      ).toEqual(fresh);
      for (const f of fresh) expect(readFileSync(join(GEN_DIR, f), "utf8"), f).toBe(readFileSync(join(out, f), "utf8"));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("JSON array elements as the REST answer streams", () => {
  const elements = async (text: string, cut: number) => {
    const bytes = new TextEncoder().encode(text);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let at = 0; at < bytes.length; at += cut) controller.enqueue(bytes.slice(at, at + cut));
        controller.close();
      },
    });
    const out: unknown[] = [];
    for await (const e of jsonArrayElements(body)) out.push(JSON.parse(e));
    return out;
  };

  it("splits elements at the top level only, whatever the cuts (strings with brackets, commas, escapes, multi-byte text)", async () => {
    const items = [
      { document: { name: "a", fields: { s: { stringValue: 'x,]}[{"\\' } } } },
      { readTime: "2026-01-01T00:00:00Z", n: [1, [2, { k: "é😀" }]] },
      { error: { code: 10, message: "aborted, retry", status: "ABORTED" } },
    ];
    const text = ` [ ${items.map((i) => JSON.stringify(i)).join(" ,\n")} ] `;
    for (const cut of [1, 2, 3, 7, 64, text.length]) expect(await elements(text, cut)).toEqual(items);
    expect(await elements("[]", 1)).toEqual([]);
  });
});
