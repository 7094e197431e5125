/**
 * The watch engine (src/watch/listen.ts) as data-driven cases: steps in (commits, addTarget /
 * removeTarget requests), the ListenResponses out, written compactly:
 *
 *   "ADD 2" "CURRENT 2" "REMOVE 2" "RESET 2"      targetChange of that type for target 2
 *   "snapshot@3"                                   global targetChange (no ids) at commit 3's time
 *   "change c/a v3 +[2,4] -[6]"                     documentChange: c/a as of commit 3, into 2 and 4, out of 6
 *   "remove c/a -[2]"  "delete c/a -[2]"           documentRemove / documentDelete
 *   "filter 2 =3"                                  existence filter: target 2 has 3 documents
 *   "error"                                        the request was rejected (stream-level)
 *
 * Document messages of one batch are compared as a set (their order does not matter to clients).
 * The database is an in-memory reader with every version kept; commit n happens at time n·1000.
 */
import { describe, expect, it } from "vitest";
import type { DatabaseRef } from "../../src/model/path.js";
import type { Fields, Micros } from "../../src/model/types.js";
import { runQuery } from "../../src/query/evaluate.js";
import type { NormalizedQuery, QueryDoc } from "../../src/query/types.js";
import { type BloomFilterJson, mightContain } from "../../src/watch/bloom.js";
import {
  type ChangedDoc,
  type ListenResponse,
  ListenStream,
  mergeChanges,
  type WatchReader,
} from "../../src/watch/listen.js";
import { decodeListenRequest } from "../../src/watch/request.js";
import { decodeResumeToken, resumeToken } from "../../src/watch/tokens.js";

const DB: DatabaseRef = { project: "p", database: "(default)" };
const ROOT = "projects/p/databases/(default)/documents";
const T = (commit: number): Micros => commit * 1000;

interface Version {
  time: Micros;
  fields: Fields | null;
  createTime: Micros;
}

class MemoryDb implements WatchReader {
  private readonly versions = new Map<string, Version[]>();
  commits = 0;
  /** Versions before this time are gone (resume tokens older than it need a reset). */
  keptFrom = 0;

  write(docs: Record<string, Fields | null>): { changes: ChangedDoc[]; time: Micros } {
    const time = T(++this.commits);
    const changes: ChangedDoc[] = [];
    for (const [path, fields] of Object.entries(docs)) {
      const before = this.doc(path);
      const list = this.versions.get(path) ?? [];
      list.push({ time, fields, createTime: before && fields ? before.createTime : time });
      this.versions.set(path, list);
      changes.push({ path, name: `${ROOT}/${path}`, before, after: this.doc(path) });
    }
    return { changes, time };
  }

  private doc(path: string, readTime = Number.MAX_SAFE_INTEGER): QueryDoc | null {
    const v = (this.versions.get(path) ?? []).filter((x) => x.time <= readTime).pop();
    if (!v?.fields) return null;
    return { path, name: `${ROOT}/${path}`, fields: v.fields, createTime: v.createTime, updateTime: v.time };
  }

  query(query: NormalizedQuery, readTime?: Micros): QueryDoc[] {
    const docs = [...this.versions.keys()].map((p) => this.doc(p, readTime)).filter((d): d is QueryDoc => d !== null);
    return runQuery(query, docs);
  }

  get(paths: readonly string[], readTime?: Micros): (QueryDoc | null)[] {
    return paths.map((p) => this.doc(p, readTime));
  }

  canReadAt(readTime: Micros): boolean {
    return readTime >= this.keptFrom;
  }
}

const int = (n: number) => ({ integerValue: String(n) });

/** The compact form of one response (see the file comment). */
function show(r: ListenResponse): string {
  // Commit n is at n ms after the epoch.
  const commitOf = (ts: string) => Date.parse(ts);
  const ids = (l?: number[]) => (l && l.length > 0 ? `[${l.join(",")}]` : "");
  const path = (name: string) => name.slice(ROOT.length + 1);
  if ("targetChange" in r) {
    const tc = r.targetChange as { targetChangeType: string; targetIds: number[]; readTime?: string; cause?: unknown };
    if (tc.targetIds.length === 0) return `snapshot@${commitOf(tc.readTime as string)}`;
    return `${tc.targetChangeType} ${tc.targetIds.join(",")}${tc.cause ? " cause" : ""}`;
  }
  if ("documentChange" in r) {
    const dc = r.documentChange as {
      document: { name: string; updateTime: string };
      targetIds: number[];
      removedTargetIds?: number[];
    };
    const out = dc.removedTargetIds ? ` -${ids(dc.removedTargetIds)}` : "";
    return `change ${path(dc.document.name)} v${commitOf(dc.document.updateTime)} +${ids(dc.targetIds)}${out}`;
  }
  for (const kind of ["documentRemove", "documentDelete"] as const) {
    if (kind in r) {
      const d = r[kind] as { document: string; removedTargetIds: number[] };
      return `${kind === "documentRemove" ? "remove" : "delete"} ${path(d.document)} -${ids(d.removedTargetIds)}`;
    }
  }
  if ("filter" in r) {
    const f = r.filter as { targetId: number; count: number };
    return `filter ${f.targetId} =${f.count}`;
  }
  return JSON.stringify(r);
}

/** Groups a response list into batches ending at each snapshot, sorting the documents within. */
function batches(lines: string[]): string[] {
  const out: string[] = [];
  let docs: string[] = [];
  for (const l of lines) {
    if (/^(change|remove|delete) /.test(l)) docs.push(l);
    else {
      out.push(...docs.sort());
      docs = [];
      out.push(l);
    }
  }
  return [...out, ...docs.sort()];
}

type Step =
  | { write: Record<string, Fields | null>; expect: string[] }
  | { listen: Record<string, unknown>; expect: string[] }
  | { remove: number; expect: string[] }
  | { forget: number }
  | { restart: true };

function query(structuredQuery: Record<string, unknown>) {
  return { query: { parent: ROOT, structuredQuery } };
}
const all = (collectionId = "c") => query({ from: [{ collectionId }] });
const where = (field: string, op: string, value: unknown, extra: Record<string, unknown> = {}) =>
  query({
    from: [{ collectionId: "c" }],
    where: { fieldFilter: { field: { fieldPath: field }, op, value } },
    ...extra,
  });
const docs = (...paths: string[]) => ({ documents: { documents: paths.map((p) => `${ROOT}/${p}`) } });
/** Resume from the snapshot after commit n. */
const resumeFrom = (n: number) => ({ resumeToken: resumeToken(T(n)) });

function run(steps: Step[], db = new MemoryDb()): void {
  let stream = new ListenStream(ROOT);
  steps.forEach((step, i) => {
    const label = `step ${i}: ${JSON.stringify(step).slice(0, 120)}`;
    if ("restart" in step) {
      stream = ListenStream.restore(ROOT, stream.saved(), db);
      return;
    }
    if ("forget" in step) {
      db.keptFrom = T(step.forget);
      return;
    }
    let got: ListenResponse[];
    if ("write" in step) {
      const { changes, time } = db.write(step.write);
      got = stream.commit(changes, time, db);
    } else if ("remove" in step) {
      got = stream.remove(step.remove);
    } else {
      try {
        const action = decodeListenRequest({ database: "projects/p/databases/(default)", addTarget: step.listen }, DB);
        if (action.kind !== "add") throw new Error("not an add");
        got = stream.add(action.target, db, T(db.commits)).messages;
      } catch {
        got = [{ error: true }];
      }
    }
    const shown = got.map((r) => ("error" in r ? "error" : show(r)));
    expect(batches(shown), label).toEqual(batches(step.expect));
  });
}

const a1 = { a: int(1) };
const a2 = { a: int(2) };

describe("watch engine: listening", () => {
  it("a query target: ADD, the matches, CURRENT, snapshot; then each commit's changes", () => {
    run([
      { write: { "c/x": a1, "c/y": a2, "d/z": a1 }, expect: [] },
      {
        listen: { targetId: 2, ...where("a", "EQUAL", int(1)) },
        expect: ["ADD 2", "change c/x v1 +[2]", "CURRENT 2", "snapshot@1"],
      },
      // In scope and matching: a change; not matching: nothing; other collection: nothing.
      { write: { "c/w": a1, "c/v": a2, "d/u": a1 }, expect: ["change c/w v2 +[2]", "snapshot@2"] },
      { write: { "c/v": a2 }, expect: [] },
      // Stops matching (still exists): remove; deleted: delete; starts matching: change.
      {
        write: { "c/x": a2, "c/w": null, "c/y": a1 },
        expect: ["remove c/x -[2]", "delete c/w -[2]", "change c/y v4 +[2]", "snapshot@4"],
      },
      { remove: 2, expect: ["REMOVE 2"] },
      { write: { "c/y": { a: int(1), b: int(1) } }, expect: [] },
    ]);
  });

  it("a documents target: present documents, nothing for missing ones, then creates and deletes", () => {
    run([
      { write: { "c/x": a1 }, expect: [] },
      {
        listen: { targetId: 4, ...docs("c/x", "c/missing") },
        expect: ["ADD 4", "change c/x v1 +[4]", "CURRENT 4", "snapshot@1"],
      },
      { write: { "c/missing": a2, "c/other": a2 }, expect: ["change c/missing v2 +[4]", "snapshot@2"] },
      { write: { "c/x": null }, expect: ["delete c/x -[4]", "snapshot@3"] },
      // Deleting a document the target does not have: nothing.
      { write: { "c/x": null }, expect: [] },
    ]);
  });

  it("several targets: one message per document names every target it enters and leaves", () => {
    run([
      { write: { "c/x": a1 }, expect: [] },
      {
        listen: { targetId: 2, ...where("a", "EQUAL", int(1)) },
        expect: ["ADD 2", "change c/x v1 +[2]", "CURRENT 2", "snapshot@1"],
      },
      { listen: { targetId: 4, ...where("a", "EQUAL", int(2)) }, expect: ["ADD 4", "CURRENT 4", "snapshot@1"] },
      { listen: { targetId: 6, ...all() }, expect: ["ADD 6", "change c/x v1 +[6]", "CURRENT 6", "snapshot@1"] },
      { write: { "c/x": a2 }, expect: ["change c/x v2 +[4,6] -[2]", "snapshot@2"] },
      { write: { "c/x": null }, expect: ["delete c/x -[4,6]", "snapshot@3"] },
    ]);
  });

  it("a limit query: the next document enters when one leaves the window", () => {
    const top2 = query({ from: [{ collectionId: "c" }], orderBy: [{ field: { fieldPath: "a" } }], limit: 2 });
    run([
      { write: { "c/p": { a: int(1) }, "c/q": { a: int(2) }, "c/r": { a: int(3) } }, expect: [] },
      {
        listen: { targetId: 2, ...top2 },
        expect: ["ADD 2", "change c/p v1 +[2]", "change c/q v1 +[2]", "CURRENT 2", "snapshot@1"],
      },
      // Outside the window: nothing.
      { write: { "c/s": { a: int(9) } }, expect: [] },
      // p leaves (deleted): r enters.
      { write: { "c/p": null }, expect: ["delete c/p -[2]", "change c/r v1 +[2]", "snapshot@3"] },
      // A new first document pushes the last one (r) out.
      { write: { "c/o": { a: int(0) } }, expect: ["change c/o v4 +[2]", "remove c/r -[2]", "snapshot@4"] },
      // An update inside the window that keeps its place.
      { write: { "c/o": { a: int(0), b: int(1) } }, expect: ["change c/o v5 +[2]", "snapshot@5"] },
    ]);
  });

  it("once: the target is removed after its first snapshot", () => {
    run([
      { write: { "c/x": a1 }, expect: [] },
      {
        listen: { targetId: 2, once: true, ...all() },
        expect: ["ADD 2", "change c/x v1 +[2]", "CURRENT 2", "snapshot@1", "REMOVE 2"],
      },
      { write: { "c/x": a2 }, expect: [] },
    ]);
  });

  it("target id 0 gets a server-assigned id; an id in use is refused", () => {
    const db = new MemoryDb();
    const stream = new ListenStream(ROOT);
    const add = (targetId: number) => {
      const action = decodeListenRequest({ addTarget: { targetId, ...all() } }, DB);
      if (action.kind !== "add") throw new Error("not an add");
      return stream.add(action.target, db, 0);
    };
    const assigned = add(0).targetId;
    expect(assigned).toBeGreaterThan(1 << 28);
    expect(add(0).targetId).toBe(assigned + 1);
    add(2);
    expect(() => add(2)).toThrow(/already in use/);
    expect(stream.targetCount).toBe(3);
  });
});

describe("watch engine: resuming", () => {
  it("with a resume token, only what changed since: changes, removals, deletions, and a count filter", () => {
    const db = new MemoryDb();
    run(
      [
        { write: { "c/x": a1, "c/y": a1, "c/z": a1 }, expect: [] },
        { write: { "c/y": { a: int(1), b: int(1) } }, expect: [] },
        // The client had the snapshot after commit 2; then x stopped matching, z was deleted, w added.
        { write: { "c/x": a2, "c/z": null, "c/w": a1 }, expect: [] },
        {
          listen: { targetId: 2, ...where("a", "EQUAL", int(1)), ...resumeFrom(2), expectedCount: 3 },
          expect: [
            "ADD 2",
            "remove c/x -[2]",
            "delete c/z -[2]",
            "change c/w v3 +[2]",
            "filter 2 =2",
            "CURRENT 2",
            "snapshot@3",
          ],
        },
        // Resuming at the present: nothing to send but the markers.
        { listen: { targetId: 4, ...all(), ...resumeFrom(3) }, expect: ["ADD 4", "CURRENT 4", "snapshot@3"] },
      ],
      db,
    );
  });

  it("the existence filter's bloom filter holds the target's names and not the ones it lost", () => {
    const db = new MemoryDb();
    db.write({ "c/x": a1, "c/y": a1 });
    db.write({ "c/y": null, "c/z": a1 });
    const action = decodeListenRequest(
      { addTarget: { targetId: 2, ...all(), ...resumeFrom(1), expectedCount: 2 } },
      DB,
    );
    if (action.kind !== "add") throw new Error("not an add");
    const { messages } = new ListenStream(ROOT).add(action.target, db, T(2));
    const filter = messages.find((m) => "filter" in m)?.filter as { count: number; unchangedNames: BloomFilterJson };
    expect(filter.count).toBe(2);
    expect(mightContain(filter.unchangedNames, `${ROOT}/c/x`)).toBe(true);
    expect(mightContain(filter.unchangedNames, `${ROOT}/c/z`)).toBe(true);
    expect(mightContain(filter.unchangedNames, `${ROOT}/c/y`)).toBe(false);
  });

  it("a resume token older than the versions kept: RESET, then everything", () => {
    run([
      { write: { "c/x": a1 }, expect: [] },
      { write: { "c/y": a1 }, expect: [] },
      { forget: 2 },
      {
        listen: { targetId: 2, ...all(), ...resumeFrom(1) },
        expect: ["ADD 2", "RESET 2", "change c/x v1 +[2]", "change c/y v2 +[2]", "CURRENT 2", "snapshot@2"],
      },
    ]);
  });

  it("a restored stream (lost in-memory state) goes on from the latest state", () => {
    run([
      { write: { "c/x": a1, "c/y": a2 }, expect: [] },
      {
        listen: { targetId: 2, ...where("a", "EQUAL", int(1)) },
        expect: ["ADD 2", "change c/x v1 +[2]", "CURRENT 2", "snapshot@1"],
      },
      { listen: { targetId: 4, ...docs("c/y") }, expect: ["ADD 4", "change c/y v1 +[4]", "CURRENT 4", "snapshot@1"] },
      { restart: true },
      { write: { "c/x": a2, "c/y": null }, expect: ["remove c/x -[2]", "delete c/y -[4]", "snapshot@2"] },
    ]);
  });

  it("resume tokens name a read time and reject what this server did not issue", () => {
    expect(decodeResumeToken(resumeToken(1795301893477000), "t")).toBe(1795301893477000);
    expect(resumeToken(1795301893477000)).toBe("cnQ6MTc5NTMwMTg5MzQ3NzAwMA==");
    for (const bad of ["", "cnQ6", btoa("rt:abc"), btoa("xx:12")])
      expect(() => decodeResumeToken(bad, "t")).toThrow(/resume token/);
  });
});

describe("watch engine: bad targets are refused with a reason", () => {
  const refused = (addTarget: unknown) => () => decodeListenRequest({ addTarget }, DB);
  it.each([
    ["no target", { targetId: 2 }, /One of query, documents/],
    ["both kinds", { targetId: 2, ...all(), ...docs("c/x") }, /Only one of/],
    ["an empty documents target", { targetId: 2, documents: { documents: [] } }, /at least one/],
    ["an odd document path", { targetId: 2, documents: { documents: [`${ROOT}/c`] } }, /not a document name/],
    [
      "another database",
      { targetId: 2, documents: { documents: ["projects/q/databases/(default)/documents/c/x"] } },
      /database|project/i,
    ],
    ["a bad query", { targetId: 2, ...query({ from: [{ collectionId: "c" }], limit: -1 }) }, /limit/],
    [
      "a vector query",
      {
        targetId: 2,
        ...query({
          from: [{ collectionId: "c" }],
          findNearest: {
            vectorField: { fieldPath: "v" },
            queryVector: {
              mapValue: {
                fields: {
                  __type__: { stringValue: "__vector__" },
                  value: { arrayValue: { values: [{ doubleValue: 1 }] } },
                },
              },
            },
            distanceMeasure: "EUCLIDEAN",
            limit: 1,
          },
        }),
      },
      /vector|find_nearest/,
    ],
    [
      "a select",
      { targetId: 2, ...query({ from: [{ collectionId: "c" }], select: { fields: [{ fieldPath: "a" }] } }) },
      /select/,
    ],
    ["a forged resume token", { targetId: 2, ...all(), resumeToken: "AAAA" }, /resume token/],
    ["an unknown field", { targetId: 2, ...all(), extra: 1 }, /Unknown name "extra"/],
    ["a negative id", { targetId: -2, ...all() }, /negative/],
  ])("%s", (_, target, message) => {
    expect(refused(target)).toThrow(message);
  });

  it("a request for another database, or with neither add nor remove", () => {
    expect(() => decodeListenRequest({ database: "projects/q/databases/(default)", removeTarget: 2 }, DB)).toThrow(
      /does not match/,
    );
    expect(() => decodeListenRequest({ labels: {} }, DB)).toThrow(/One of addTarget, removeTarget/);
    expect(decodeListenRequest({ removeTarget: 2 }, DB)).toEqual({ kind: "remove", targetId: 2 });
  });
});

describe("watch engine: commits heard together", () => {
  const version = (path: string, n: number, at: Micros): QueryDoc => ({
    path,
    name: `projects/p/databases/(default)/documents/${path}`,
    fields: { n: { integerValue: String(n) } },
    createTime: 1,
    updateTime: at,
  });
  const change = (path: string, before: QueryDoc | null, after: QueryDoc | null): ChangedDoc => ({
    path,
    name: `projects/p/databases/(default)/documents/${path}`,
    before,
    after,
  });

  it("each document once, from before the first commit to after the last, in first-change order", () => {
    const a1 = version("c/a", 1, 10);
    const a2 = version("c/a", 2, 20);
    const b1 = version("c/b", 1, 20);
    const a3 = version("c/a", 3, 30);
    const merged = mergeChanges([
      [change("c/a", null, a1)],
      [change("c/a", a1, a2), change("c/b", null, b1)],
      [change("c/b", b1, null), change("c/a", a2, a3)],
    ]);
    expect(merged).toEqual([change("c/a", null, a3), change("c/b", null, null)]);
  });

  it("one commit's changes pass through as they are", () => {
    const batch = [change("c/a", null, version("c/a", 1, 10))];
    expect(mergeChanges([batch])).toBe(batch);
  });
});
