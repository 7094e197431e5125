/**
 * The pure parts of gRPC-Web (src/grpc): framing, `-text`, `grpc-timeout`, the REST mapping of
 * each method, and the generated code matching what scripts/gen-protos.mjs writes from the
 * official protos.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs script without types
import { GEN_DIR, generate } from "../../scripts/gen-protos.mjs";
import { Code, FirestoreError, notFound } from "../../src/errors/index.js";
import {
  dataFrame,
  decodeTextBody,
  encodeGrpcMessage,
  encodeTextBody,
  grpcTimeoutMs,
  grpcWebVariant,
  readFrames,
  trailersFrame,
} from "../../src/grpc/frames.js";
import { Firestore } from "../../src/grpc/gen/google/firestore/v1/firestore_pb.js";
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

  it("trailers carry the status and a percent-encoded message", () => {
    const t = trailersFrame(5, "no 100% café\n");
    expect(t[0]).toBe(0x80);
    expect(new TextDecoder().decode(t.subarray(5))).toBe("grpc-status:5\r\ngrpc-message:no 100%25 caf%C3%A9%0A\r\n");
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
