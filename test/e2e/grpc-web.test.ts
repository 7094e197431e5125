/**
 * gRPC-Web against `npm start`, with Connect's gRPC-Web client (@connectrpc/connect-node, a
 * well-kept independent implementation) and the code generated from the official protos: every
 * unary and server-streaming method of google.firestore.v1.Firestore, the exact codes and messages
 * of errors, the `-text` variant, and bad frames or methods answered with a gRPC status while the
 * server goes on serving.
 */
import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-node";
import { describe, expect, it } from "vitest";
import { type Document, DocumentSchema, ValueSchema } from "../../src/grpc/gen/google/firestore/v1/document_pb.js";
import {
  CommitRequestSchema,
  Firestore,
  GetDocumentRequestSchema,
  type ListenRequestSchema,
  TargetChange_TargetChangeType,
  type WriteRequestSchema,
} from "../../src/grpc/gen/google/firestore/v1/firestore_pb.js";
import { StructuredQuery_Direction } from "../../src/grpc/gen/google/firestore/v1/query_pb.js";
import { StatusSchema } from "../../src/grpc/gen/google/rpc/status_pb.js";
import { grpcFrame as frame, serverPort, uniqueProject } from "./clients.js";

const client = () =>
  createClient(Firestore, createGrpcWebTransport({ baseUrl: `http://127.0.0.1:${serverPort()}`, httpVersion: "1.1" }));
const int = (n: number) => create(ValueSchema, { valueType: { case: "integerValue", value: BigInt(n) } });
const str = (s: string) => create(ValueSchema, { valueType: { case: "stringValue", value: s } });

function database() {
  const db = `projects/${uniqueProject("grpc-web")}/databases/(default)`;
  return { db, root: `${db}/documents`, name: (path: string) => `${db}/documents/${path}` };
}

/** The trailers frame of a gRPC-Web answer, as its lines. */
const trailers = (bytes: Uint8Array): Record<string, string> => {
  let at = 0;
  while (at < bytes.length) {
    const flag = bytes[at] as number;
    const len = new DataView(bytes.buffer, bytes.byteOffset + at + 1, 4).getUint32(0);
    if (flag & 0x80) {
      const text = new TextDecoder().decode(bytes.subarray(at + 5, at + 5 + len));
      return Object.fromEntries(
        text
          .trim()
          .split("\r\n")
          .map((l) => l.split(/:(.*)/s).slice(0, 2) as [string, string]),
      );
    }
    at += 5 + len;
  }
  throw new Error("no trailers");
};

/** Request messages for a streaming call, pushed as the test goes; `close` is the half-close. */
class Queue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private closed = false;
  private wake: (() => void) | undefined;

  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  close(): void {
    this.closed = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      while (this.items.length > 0) yield this.items.shift() as T;
      if (this.closed) return;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
      this.wake = undefined;
    }
  }
}

async function rejection(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (e) {
    return ConnectError.from(e);
  }
  throw new Error("expected the call to fail");
}

describe("gRPC-Web", () => {
  it("writes and reads documents: commit, get, create, update with a mask, list, delete", async () => {
    const fs = client();
    const { db, root, name } = database();
    const when = new Date("2026-01-02T03:04:05.678Z");
    const fields = {
      n: int(7),
      s: str("hé"),
      t: create(ValueSchema, { valueType: { case: "timestampValue", value: timestampFromDate(when) } }),
      b: create(ValueSchema, { valueType: { case: "bytesValue", value: new Uint8Array([0, 1, 255]) } }),
      m: create(ValueSchema, {
        valueType: {
          case: "mapValue",
          value: { fields: { a: create(ValueSchema, { valueType: { case: "booleanValue", value: true } }) } },
        },
      }),
      l: create(ValueSchema, { valueType: { case: "arrayValue", value: { values: [int(1), str("x")] } } }),
      g: create(ValueSchema, { valueType: { case: "geoPointValue", value: { latitude: 1.5, longitude: -2 } } }),
      r: create(ValueSchema, { valueType: { case: "referenceValue", value: name("rooms/other") } }),
      z: create(ValueSchema, { valueType: { case: "nullValue", value: 0 } }),
      d: create(ValueSchema, { valueType: { case: "doubleValue", value: 2.5 } }),
    };
    const commit = await fs.commit({
      database: db,
      writes: [{ operation: { case: "update", value: { name: name("rooms/a"), fields } } }],
    });
    expect(commit.commitTime).toBeDefined();
    expect(commit.writeResults).toHaveLength(1);

    const doc = await fs.getDocument({ name: name("rooms/a") });
    expect(doc.name).toBe(name("rooms/a"));
    expect(toBinary(DocumentSchema, create(DocumentSchema, { name: doc.name, fields: doc.fields }))).toEqual(
      toBinary(DocumentSchema, create(DocumentSchema, { name: name("rooms/a"), fields })),
    );
    expect(doc.updateTime).toEqual(commit.commitTime);

    // A field mask (a query parameter of GET in the REST mapping).
    const masked = await fs.getDocument({ name: name("rooms/a"), mask: { fieldPaths: ["n", "s"] } });
    expect(Object.keys(masked.fields).sort()).toEqual(["n", "s"]);

    const created = await fs.createDocument({
      parent: root,
      collectionId: "rooms",
      documentId: "b",
      document: { fields: { n: int(2) } },
    });
    expect(created.name).toBe(name("rooms/b"));
    const updated = await fs.updateDocument({
      document: { name: name("rooms/b"), fields: { k: str("v") } },
      updateMask: { fieldPaths: ["k"] },
    });
    expect(Object.keys(updated.fields).sort()).toEqual(["k", "n"]);

    const listed = await fs.listDocuments({ parent: root, collectionId: "rooms", orderBy: "n desc" });
    expect(listed.documents.map((d: Document) => d.name)).toEqual([name("rooms/a"), name("rooms/b")]);
    const ids = await fs.listCollectionIds({ parent: root });
    expect(ids.collectionIds).toEqual(["rooms"]);

    await fs.deleteDocument({ name: name("rooms/b") });
    expect((await rejection(fs.getDocument({ name: name("rooms/b") }))).code).toBe(Code.NotFound);
  });

  it("server streams: batchGet (found and missing) and runQuery; aggregations; partitions; batchWrite", async () => {
    const fs = client();
    const { db, root, name } = database();
    await fs.batchWrite({
      database: db,
      writes: [1, 2, 3].map((n) => ({
        operation: { case: "update" as const, value: { name: name(`c/d${n}`), fields: { n: int(n) } } },
      })),
    });
    const got: string[] = [];
    for await (const r of fs.batchGetDocuments({ database: db, documents: [name("c/d1"), name("c/none")] })) {
      got.push(r.result.case === "found" ? `found ${r.result.value.name}` : `missing ${r.result.value}`);
    }
    expect(got).toEqual([`found ${name("c/d1")}`, `missing ${name("c/none")}`]);

    const rows: bigint[] = [];
    for await (const r of fs.runQuery({
      parent: root,
      queryType: {
        case: "structuredQuery",
        value: {
          from: [{ collectionId: "c" }],
          orderBy: [{ field: { fieldPath: "n" }, direction: StructuredQuery_Direction.DESCENDING }],
          limit: 2,
        },
      },
    })) {
      const v = r.document?.fields.n?.valueType;
      if (v?.case === "integerValue") rows.push(v.value);
    }
    expect(rows).toEqual([3n, 2n]);

    const aggregations: unknown[] = [];
    for await (const r of fs.runAggregationQuery({
      parent: root,
      queryType: {
        case: "structuredAggregationQuery",
        value: {
          queryType: { case: "structuredQuery", value: { from: [{ collectionId: "c" }] } },
          aggregations: [
            { alias: "count", operator: { case: "count", value: {} } },
            { alias: "total", operator: { case: "sum", value: { field: { fieldPath: "n" } } } },
          ],
        },
      },
    })) {
      if (r.result)
        aggregations.push(r.result.aggregateFields.count?.valueType, r.result.aggregateFields.total?.valueType);
    }
    expect(aggregations).toEqual([
      { case: "integerValue", value: 3n },
      { case: "integerValue", value: 6n },
    ]);

    const parts = await fs.partitionQuery({
      parent: root,
      queryType: {
        case: "structuredQuery",
        value: { from: [{ collectionId: "c", allDescendants: true }], orderBy: [{ field: { fieldPath: "__name__" } }] },
      },
      partitionCount: 2n,
    });
    expect(Array.isArray(parts.partitions)).toBe(true);
  });

  it("transactions: begin, read in it, commit; rollback; a conflicting commit is ABORTED (10)", async () => {
    const fs = client();
    const { db, name } = database();
    await fs.commit({
      database: db,
      writes: [{ operation: { case: "update", value: { name: name("c/x"), fields: { n: int(1) } } } }],
    });
    const { transaction } = await fs.beginTransaction({ database: db });
    expect(transaction.length).toBeGreaterThan(0);
    const read = await fs.getDocument({
      name: name("c/x"),
      consistencySelector: { case: "transaction", value: transaction },
    });
    expect(read.fields.n?.valueType).toEqual({ case: "integerValue", value: 1n });
    await fs.commit({
      database: db,
      transaction,
      writes: [{ operation: { case: "update", value: { name: name("c/x"), fields: { n: int(2) } } } }],
    });
    const second = await fs.beginTransaction({ database: db });
    await fs.rollback({ database: db, transaction: second.transaction });
    const gone = await rejection(fs.commit({ database: db, transaction: second.transaction, writes: [] }));
    expect([Code.InvalidArgument, Code.Aborted, Code.FailedPrecondition]).toContain(gone.code);

    // A deadlock: the younger transaction loses with ABORTED (10), the older one commits.
    await fs.commit({
      database: db,
      writes: [{ operation: { case: "update", value: { name: name("c/y"), fields: { n: int(0) } } } }],
    });
    const older = (await fs.beginTransaction({ database: db })).transaction;
    const younger = (await fs.beginTransaction({ database: db })).transaction;
    await fs.getDocument({ name: name("c/x"), consistencySelector: { case: "transaction", value: older } });
    await fs.getDocument({ name: name("c/y"), consistencySelector: { case: "transaction", value: younger } });
    const both = (tx: Uint8Array, n: number) =>
      fs.commit({
        database: db,
        transaction: tx,
        writes: ["c/x", "c/y"].map((p) => ({
          operation: { case: "update" as const, value: { name: name(p), fields: { n: int(n) } } },
        })),
      });
    const olderCommit = both(older, 1);
    await new Promise((r) => setTimeout(r, 50));
    const aborted = await rejection(both(younger, 2));
    expect(aborted.code).toBe(Code.Aborted);
    expect(aborted.rawMessage.length).toBeGreaterThan(0);
    expect((await olderCommit).writeResults).toHaveLength(2);
  });

  it("errors carry Firestore's codes and messages", async () => {
    const fs = client();
    const { db, name } = database();
    const missing = await rejection(fs.getDocument({ name: name("c/none") }));
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.rawMessage).toMatch(/no entity|not found/i);
    const bad = await rejection(fs.getDocument({ name: `${db}/documents/c` }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage.length).toBeGreaterThan(0);
    const exists = await rejection(
      fs.commit({
        database: db,
        writes: [
          {
            operation: { case: "update", value: { name: name("c/none"), fields: {} } },
            currentDocument: { conditionType: { case: "exists", value: true } },
          },
        ],
      }),
    );
    expect(exists.code).toBe(Code.NotFound);
    // A Listen call whose first message names no database.
    const listen = await rejection(
      (async () => {
        for await (const _ of fs.listen(
          (async function* () {
            yield { targetChange: { case: "addTarget" as const, value: { targetId: 1 } } };
          })(),
        )) {
          // nothing
        }
      })(),
    );
    expect(listen.code).toBe(Code.InvalidArgument);
    expect(listen.rawMessage).toMatch(/database/);
  });

  it("a deadline that runs out while a write waits for a transaction's lock: DEADLINE_EXCEEDED (4) on time, and the write goes on once the lock is free", async () => {
    const fs = client();
    const { db, name } = database();
    const write = (n: number) => ({
      database: db,
      writes: [{ operation: { case: "update" as const, value: { name: name("c/locked"), fields: { n: int(n) } } } }],
    });
    await fs.commit(write(1));
    const { transaction } = await fs.beginTransaction({ database: db });
    await fs.getDocument({ name: name("c/locked"), consistencySelector: { case: "transaction", value: transaction } });
    // A plain POST with `grpc-timeout` (Connect's own timer would end the call on the client side).
    const started = Date.now();
    const late = await fetch(`http://127.0.0.1:${serverPort()}/google.firestore.v1.Firestore/Commit`, {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto", "grpc-timeout": "400m" },
      body: frame(toBinary(CommitRequestSchema, create(CommitRequestSchema, write(2)))) as BodyInit,
    });
    const status = trailers(new Uint8Array(await late.arrayBuffer()));
    const took = Date.now() - started;
    expect(status["grpc-status"]).toBe("4");
    expect(took).toBeGreaterThanOrEqual(390);
    expect(took).toBeLessThan(3000);
    // As in Firestore, DEADLINE_EXCEEDED does not say the write was not applied: it waits on.
    await fs.rollback({ database: db, transaction });
    const deadline = Date.now() + 10_000;
    for (;;) {
      const n = (await fs.getDocument({ name: name("c/locked") })).fields.n?.valueType.value;
      if (n === 2n) break;
      expect(Date.now()).toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it("Listen over a full-duplex body: a target's document, a change as it is committed, and the half-close ending the call", async () => {
    const fs = client();
    const { db, name } = database();
    await fs.commit({
      database: db,
      writes: [{ operation: { case: "update", value: { name: name("rooms/a"), fields: { n: int(1) } } } }],
    });
    const requests = new Queue<MessageInitShape<typeof ListenRequestSchema>>();
    requests.push({
      database: db,
      targetChange: {
        case: "addTarget",
        value: { targetId: 7, targetType: { case: "documents", value: { documents: [name("rooms/a")] } } },
      },
    });
    const seen: number[] = [];
    const responses = fs.listen(requests, { timeoutMs: 20_000 });
    let current = false;
    for await (const r of responses) {
      if (r.responseType.case === "documentChange") {
        const v = r.responseType.value.document?.fields.n?.valueType;
        seen.push(Number(v?.value));
        if (seen.length === 2) requests.close();
      }
      if (
        r.responseType.case === "targetChange" &&
        r.responseType.value.targetChangeType === TargetChange_TargetChangeType.CURRENT
      ) {
        current = true;
        // The first snapshot is whole: change the document while the call is open.
        await fs.commit({
          database: db,
          writes: [{ operation: { case: "update", value: { name: name("rooms/a"), fields: { n: int(2) } } } }],
        });
      }
    }
    // The loop ended without an error: the half-close ended the call OK.
    expect(current).toBe(true);
    expect(seen).toEqual([1, 2]);
  });

  it("Write over a full-duplex body: handshake, writes answered one by one, and a stream error's exact code", async () => {
    const fs = client();
    const { db, name } = database();
    const requests = new Queue<MessageInitShape<typeof WriteRequestSchema>>();
    requests.push({ database: db });
    const results: string[] = [];
    for await (const r of fs.write(requests, { timeoutMs: 20_000 })) {
      expect(r.streamToken.length).toBeGreaterThan(0);
      if (results.length === 0 && r.writeResults.length === 0) {
        results.push("handshake");
        requests.push({
          streamToken: r.streamToken,
          writes: [{ operation: { case: "update", value: { name: name("w/1"), fields: { n: int(1) } } } }],
        });
        continue;
      }
      results.push(`wrote ${r.writeResults.length}`);
      if (results.length === 2) {
        requests.push({
          streamToken: r.streamToken,
          writes: [{ operation: { case: "update", value: { name: name("w/2"), fields: { n: int(2) } } } }],
        });
      } else {
        requests.close();
      }
    }
    expect(results).toEqual(["handshake", "wrote 1", "wrote 1"]);
    expect((await fs.getDocument({ name: name("w/2") })).fields.n?.valueType.value).toBe(2n);

    // A write the stream refuses: the call ends with its code, the document untouched.
    const bad = new Queue<MessageInitShape<typeof WriteRequestSchema>>();
    bad.push({ database: db });
    const error = await rejection(
      (async () => {
        for await (const r of fs.write(bad, { timeoutMs: 20_000 })) {
          bad.push({
            streamToken: r.streamToken,
            writes: [
              {
                operation: { case: "update", value: { name: name("w/1"), fields: { n: int(9) } } },
                currentDocument: { conditionType: { case: "exists", value: false } },
              },
            ],
          });
        }
      })(),
    );
    expect(error.code).toBe(Code.AlreadyExists);
    expect((await fs.getDocument({ name: name("w/1") })).fields.n?.valueType.value).toBe(1n);
  });

  it("the -text variant, and bad frames, bodies or methods answered with a status while the server goes on", async () => {
    const { name } = database();
    const url = (method: string) => `http://127.0.0.1:${serverPort()}/google.firestore.v1.Firestore/${method}`;
    const post = async (method: string, body: Uint8Array | string, type = "application/grpc-web+proto") => {
      const res = await fetch(url(method), {
        method: "POST",
        headers: { "content-type": type },
        body: body as BodyInit,
      });
      expect(res.status).toBe(200);
      return new Uint8Array(await res.arrayBuffer());
    };
    const request = toBinary(GetDocumentRequestSchema, create(GetDocumentRequestSchema, { name: name("c/none") }));

    // -text: base64 both ways.
    const text = await post("GetDocument", btoa(String.fromCharCode(...frame(request))), "application/grpc-web-text");
    const decoded = Uint8Array.from(atob(new TextDecoder().decode(text)), (c) => c.charCodeAt(0));
    expect(trailers(decoded)["grpc-status"]).toBe("5");

    const unknown = trailers(await post("NoSuchMethod", frame(request)));
    expect(unknown["grpc-status"]).toBe("12");
    // The same status as a google.rpc.Status, in unpadded base64.
    const details = fromBinary(
      StatusSchema,
      Uint8Array.from(atob(unknown["grpc-status-details-bin"] ?? ""), (c) => c.charCodeAt(0)),
    );
    expect(details.code).toBe(12);
    expect(details.message).toBe(decodeURIComponent(unknown["grpc-message"] ?? ""));
    const truncated = trailers(await post("GetDocument", frame(request).subarray(0, 8)));
    expect(truncated["grpc-status"]).toBe("3");
    expect(decodeURIComponent(truncated["grpc-message"] ?? "")).toMatch(/frame/);
    expect(trailers(await post("GetDocument", frame(new Uint8Array([0xff, 0xff, 0xff]))))["grpc-status"]).toBe("3");
    expect(trailers(await post("GetDocument", new Uint8Array()))["grpc-status"]).toBe("3");
    expect(trailers(await post("GetDocument", frame(request, 1)))["grpc-status"]).toBe("12");
    const wrongType = await fetch(url("GetDocument"), {
      method: "POST",
      headers: { "content-type": "application/grpc" },
      body: frame(request) as BodyInit,
    });
    expect(wrongType.status).toBe(415);

    // A deadline shorter than any call: DEADLINE_EXCEEDED (4).
    const late = await fetch(url("GetDocument"), {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto", "grpc-timeout": "1n" },
      body: frame(request) as BodyInit,
    });
    expect(trailers(new Uint8Array(await late.arrayBuffer()))["grpc-status"]).toBe("4");

    // A body over the 10 MiB request limit: INVALID_ARGUMENT in the trailers too.
    const huge = frame(new Uint8Array(10 * 1024 * 1024 + 1));
    expect(trailers(await post("GetDocument", huge))["grpc-status"]).toBe("3");

    // Still serving.
    const fs = client();
    expect((await rejection(fs.getDocument({ name: name("c/none") }))).code).toBe(Code.NotFound);
    expect(fromBinary(GetDocumentRequestSchema, request).name).toBe(name("c/none"));
  });
});
