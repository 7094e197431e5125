/**
 * The watch engine (src/watch/listen.ts) without workerd: the data-driven cases of
 * test/helpers/watch-cases.ts on an in-memory database that keeps every version (commit n happens
 * at time n·1000 µs), then what the cases cannot express (server-assigned ids, the bloom filter's
 * contents, tokens, bad targets, merged commits).
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
import { all, batches, docs, int, query, ROOT, type Step, show, WATCH_CASES } from "../helpers/watch-cases.js";

const DB: DatabaseRef = { project: "p", database: "(default)" };
const T = (commit: number): Micros => commit * 1000;
/** Resume from the snapshot after commit n. */
const resumeFrom = (n: number) => ({ resumeToken: resumeToken(T(n)) });

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

function run(steps: Step[]): void {
  const db = new MemoryDb();
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
      const { resumeFrom, ...addTarget } = step.listen;
      if (resumeFrom !== undefined) addTarget.resumeToken = resumeToken(T(resumeFrom));
      const action = decodeListenRequest({ database: "projects/p/databases/(default)", addTarget }, DB);
      if (action.kind !== "add") throw new Error("not an add");
      got = stream.add(action.target, db, T(db.commits)).messages;
    }
    const shown = got.map((r) => show(r, ROOT, (ts) => Date.parse(ts)));
    expect(batches(shown), label).toEqual(batches(step.expect));
  });
}

const a1 = { a: int(1) };

describe("watch engine: the data-driven cases", () => {
  for (const c of WATCH_CASES) it(c.name, () => run(c.steps));
});

describe("watch engine: listening", () => {
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
