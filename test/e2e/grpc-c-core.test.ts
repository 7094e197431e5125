/**
 * Native gRPC from gRPC's C core (python3-grpcio; `.ci/run` installs it), the core under the
 * Firestore SDKs for iOS, C++, Unity and Python: another HTTP/2 and gRPC implementation than the
 * Node clients. Unary, server-streaming and bidirectional (Listen) calls, and errors with their
 * exact codes, against `npm start`'s port. Requests are encoded and answers decoded here with the
 * code generated from the official protos; `grpc-c-core/client.py` moves raw bytes.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { create, type DescMessage, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { DocumentSchema } from "../../src/grpc/gen/google/firestore/v1/document_pb.js";
import {
  CommitRequestSchema,
  CommitResponseSchema,
  GetDocumentRequestSchema,
  ListenRequestSchema,
  ListenResponseSchema,
  RunQueryRequestSchema,
  RunQueryResponseSchema,
  TargetChange_TargetChangeType,
} from "../../src/grpc/gen/google/firestore/v1/firestore_pb.js";
import { serverPort, uniqueProject } from "./clients.js";

const PYTHON = "/usr/bin/python3";
// Skipped only outside CI when python3-grpcio is absent (CI installs it, and fails without it).
const RUN = Boolean(process.env.CI) || spawnSync(PYTHON, ["-c", "import grpc"]).status === 0;

type Call =
  | { kind: "unary" | "server_stream"; method: string; request: string; timeout?: number }
  | { kind: "bidi"; method: string; requests: string[]; responses: number };
type Result = { ok: true; responses: string[] } | { ok: false; code: number; details: string };

function run(calls: Call[]): Result[] {
  const out = execFileSync(PYTHON, [join(import.meta.dirname, "grpc-c-core", "client.py")], {
    input: JSON.stringify({
      target: `127.0.0.1:${serverPort()}`,
      metadata: [["authorization", "Bearer owner"]],
      calls,
    }),
    timeout: 60_000,
  });
  return JSON.parse(out.toString()) as Result[];
}

const hex = <T extends DescMessage>(schema: T, init: MessageInitShape<T>) =>
  Buffer.from(toBinary(schema, create(schema, init))).toString("hex");
const decode = <T extends DescMessage>(schema: T, h: string) => fromBinary(schema, Buffer.from(h, "hex"));
const int = (n: number) => ({ valueType: { case: "integerValue" as const, value: BigInt(n) } });

describe.skipIf(!RUN)("native gRPC from gRPC's C core (python3-grpcio)", () => {
  it("commit, get, a query's stream, a Listen call's snapshot, and errors with their exact codes", () => {
    const db = `projects/${uniqueProject("c-core")}/databases/(default)`;
    const name = (p: string) => `${db}/documents/${p}`;
    const write = (p: string, n: number) => ({
      operation: { case: "update" as const, value: { name: name(p), fields: { n: int(n) } } },
    });
    const [commit, got, missing, query, listen, bad, late] = run([
      {
        kind: "unary",
        method: "Commit",
        request: hex(CommitRequestSchema, { database: db, writes: [write("c/a", 1), write("c/b", 2)] }),
      },
      { kind: "unary", method: "GetDocument", request: hex(GetDocumentRequestSchema, { name: name("c/a") }) },
      { kind: "unary", method: "GetDocument", request: hex(GetDocumentRequestSchema, { name: name("c/none") }) },
      {
        kind: "server_stream",
        method: "RunQuery",
        request: hex(RunQueryRequestSchema, {
          parent: `${db}/documents`,
          queryType: { case: "structuredQuery", value: { from: [{ collectionId: "c" }] } },
        }),
      },
      {
        kind: "bidi",
        method: "Listen",
        requests: [
          hex(ListenRequestSchema, {
            database: db,
            targetChange: {
              case: "addTarget",
              value: {
                targetId: 2,
                targetType: {
                  case: "query",
                  value: {
                    parent: `${db}/documents`,
                    queryType: { case: "structuredQuery", value: { from: [{ collectionId: "c" }] } },
                  },
                },
              },
            },
          }),
        ],
        // ADD, two documents, CURRENT, and the global snapshot (NO_CHANGE with a read time).
        responses: 5,
      },
      { kind: "unary", method: "GetDocument", request: hex(GetDocumentRequestSchema, { name: "not a name" }) },
      {
        kind: "unary",
        method: "GetDocument",
        request: hex(GetDocumentRequestSchema, { name: name("c/a") }),
        timeout: 0.000001,
      },
    ]);

    expect(commit?.ok, JSON.stringify(commit)).toBe(true);
    expect(
      decode(CommitResponseSchema, (commit as { responses: string[] }).responses[0] as string).writeResults,
    ).toHaveLength(2);
    const doc = decode(DocumentSchema, (got as { responses: string[] }).responses[0] as string);
    expect([doc.name, doc.fields.n?.valueType.value]).toEqual([name("c/a"), 1n]);
    expect(missing).toMatchObject({ ok: false, code: 5, details: expect.stringMatching(/not found/) });
    const rows = (query as { responses: string[] }).responses.map(
      (r) => decode(RunQueryResponseSchema, r).document?.name,
    );
    expect(rows.filter(Boolean)).toEqual([name("c/a"), name("c/b")]);

    const events = (listen as { responses: string[] }).responses.map(
      (r) => decode(ListenResponseSchema, r).responseType,
    );
    expect(events.filter((e) => e.case === "documentChange").map((e) => e.value.document?.name)).toEqual([
      name("c/a"),
      name("c/b"),
    ]);
    expect(
      events.some(
        (e) => e.case === "targetChange" && e.value.targetChangeType === TargetChange_TargetChangeType.CURRENT,
      ),
    ).toBe(true);

    expect(bad).toMatchObject({ ok: false, code: 3 });
    expect(late).toMatchObject({ ok: false, code: 4 });
  });
});
