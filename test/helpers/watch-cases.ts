/**
 * The watch engine's data-driven cases: steps in (commits, addTarget / removeTarget requests), the
 * ListenResponses out. Run twice: on the pure engine with an in-memory database
 * (test/unit/watch-listen.test.ts) and through the database's Durable Object over a Listen
 * WebSocket with real commits (test/workers/watch-cases.test.ts). Responses are written compactly:
 *
 *   "ADD 2" "CURRENT 2" "REMOVE 2" "RESET 2"      targetChange of that type for target 2
 *   "snapshot@3"                                   global targetChange (no ids) at or after commit 3
 *                                                  (and before commit 4)
 *   "change c/a v3 +[2,4] -[6]"                     documentChange: c/a as of commit 3, into 2 and 4, out of 6
 *   "remove c/a -[2]"  "delete c/a -[2]"           documentRemove / documentDelete
 *   "filter 2 =3"                                  existence filter: target 2 has 3 documents
 *
 * Document messages of one batch are compared as a set (their order does not matter to clients).
 * Names are under `projects/{project}/databases/(default)/documents`; a runner rewrites the
 * project ("p" here). Commits are numbered from 1 in each case.
 */
import type { Fields } from "../../src/model/types.js";
import type { ListenResponse } from "../../src/watch/listen.js";

export const PROJECT = "p";
export const ROOT = `projects/${PROJECT}/databases/(default)/documents`;

export type Step =
  /** A commit: each document set to these fields, or deleted (null). */
  | { write: Record<string, Fields | null>; expect: string[] }
  /** An addTarget; `resumeFrom: n` resumes from the snapshot after commit n. */
  | { listen: Record<string, unknown> & { resumeFrom?: number }; expect: string[] }
  | { remove: number; expect: string[] }
  /** Versions before commit n are no longer kept (in-memory database only). */
  | { forget: number }
  /** The stream loses its in-memory state and is restored (in-memory database only). */
  | { restart: true };

export interface WatchCase {
  name: string;
  steps: Step[];
  /** Needs control the Durable Object does not give a test (retention, restarts). */
  memoryOnly?: boolean;
}

export const int = (n: number) => ({ integerValue: String(n) });
const a1 = { a: int(1) };
const a2 = { a: int(2) };

export function query(structuredQuery: Record<string, unknown>) {
  return { query: { parent: ROOT, structuredQuery } };
}
export const all = (collectionId = "c") => query({ from: [{ collectionId }] });
export const where = (field: string, op: string, value: unknown, extra: Record<string, unknown> = {}) =>
  query({
    from: [{ collectionId: "c" }],
    where: { fieldFilter: { field: { fieldPath: field }, op, value } },
    ...extra,
  });
export const docs = (...paths: string[]) => ({ documents: { documents: paths.map((p) => `${ROOT}/${p}`) } });
const top2 = () => query({ from: [{ collectionId: "c" }], orderBy: [{ field: { fieldPath: "a" } }], limit: 2 });

/**
 * The compact form of one response. `commitOf` maps a timestamp to the number of the last commit
 * at or before it (0: before the first).
 */
export function show(r: ListenResponse, root: string, commitOf: (timestamp: string) => number): string {
  const ids = (l?: number[]) => (l && l.length > 0 ? `[${l.join(",")}]` : "");
  const path = (name: string) => name.slice(root.length + 1);
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
export function batches(lines: string[]): string[] {
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

export const WATCH_CASES: WatchCase[] = [
  {
    name: "a query target: ADD, the matches, CURRENT, snapshot; then each commit's changes",
    steps: [
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
    ],
  },
  {
    name: "a documents target: present documents, nothing for missing ones, then creates and deletes",
    steps: [
      { write: { "c/x": a1 }, expect: [] },
      {
        listen: { targetId: 4, ...docs("c/x", "c/missing") },
        expect: ["ADD 4", "change c/x v1 +[4]", "CURRENT 4", "snapshot@1"],
      },
      { write: { "c/missing": a2, "c/other": a2 }, expect: ["change c/missing v2 +[4]", "snapshot@2"] },
      { write: { "c/x": null }, expect: ["delete c/x -[4]", "snapshot@3"] },
      // Deleting a document the target does not have: nothing.
      { write: { "c/x": null }, expect: [] },
    ],
  },
  {
    name: "several targets: one message per document names every target it enters and leaves",
    steps: [
      { write: { "c/x": a1 }, expect: [] },
      {
        listen: { targetId: 2, ...where("a", "EQUAL", int(1)) },
        expect: ["ADD 2", "change c/x v1 +[2]", "CURRENT 2", "snapshot@1"],
      },
      { listen: { targetId: 4, ...where("a", "EQUAL", int(2)) }, expect: ["ADD 4", "CURRENT 4", "snapshot@1"] },
      { listen: { targetId: 6, ...all() }, expect: ["ADD 6", "change c/x v1 +[6]", "CURRENT 6", "snapshot@1"] },
      { write: { "c/x": a2 }, expect: ["change c/x v2 +[4,6] -[2]", "snapshot@2"] },
      { write: { "c/x": null }, expect: ["delete c/x -[4,6]", "snapshot@3"] },
    ],
  },
  {
    name: "a limit query: the next document enters when one leaves the window",
    steps: [
      { write: { "c/p": { a: int(1) }, "c/q": { a: int(2) }, "c/r": { a: int(3) } }, expect: [] },
      {
        listen: { targetId: 2, ...top2() },
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
    ],
  },
  {
    name: "once: the target is removed after its first snapshot",
    steps: [
      { write: { "c/x": a1 }, expect: [] },
      {
        listen: { targetId: 2, once: true, ...all() },
        expect: ["ADD 2", "change c/x v1 +[2]", "CURRENT 2", "snapshot@1", "REMOVE 2"],
      },
      { write: { "c/x": a2 }, expect: [] },
    ],
  },
  {
    name: "with a resume token, only what changed since: changes, removals, deletions, and a count filter",
    steps: [
      { write: { "c/x": a1, "c/y": a1, "c/z": a1 }, expect: [] },
      { write: { "c/y": { a: int(1), b: int(1) } }, expect: [] },
      // The client had the snapshot after commit 2; then x stopped matching, z was deleted, w added.
      { write: { "c/x": a2, "c/z": null, "c/w": a1 }, expect: [] },
      {
        listen: { targetId: 2, ...where("a", "EQUAL", int(1)), resumeFrom: 2, expectedCount: 3 },
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
      { listen: { targetId: 4, ...all(), resumeFrom: 3 }, expect: ["ADD 4", "CURRENT 4", "snapshot@3"] },
    ],
  },
  {
    name: "a resume token older than the versions kept: RESET, then everything",
    memoryOnly: true,
    steps: [
      { write: { "c/x": a1 }, expect: [] },
      { write: { "c/y": a1 }, expect: [] },
      { forget: 2 },
      {
        listen: { targetId: 2, ...all(), resumeFrom: 1 },
        expect: ["ADD 2", "RESET 2", "change c/x v1 +[2]", "change c/y v2 +[2]", "CURRENT 2", "snapshot@2"],
      },
    ],
  },
  {
    name: "a restored stream (lost in-memory state) goes on from the latest state",
    memoryOnly: true,
    steps: [
      { write: { "c/x": a1, "c/y": a2 }, expect: [] },
      {
        listen: { targetId: 2, ...where("a", "EQUAL", int(1)) },
        expect: ["ADD 2", "change c/x v1 +[2]", "CURRENT 2", "snapshot@1"],
      },
      { listen: { targetId: 4, ...docs("c/y") }, expect: ["ADD 4", "change c/y v1 +[4]", "CURRENT 4", "snapshot@1"] },
      { restart: true },
      { write: { "c/x": a2, "c/y": null }, expect: ["remove c/x -[2]", "delete c/y -[4]", "snapshot@2"] },
    ],
  },
];
