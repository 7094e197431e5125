/**
 * The watch engine of one Listen stream: its targets, what each target's client has, and the
 * `ListenResponse`s that bring the client from there to the database's state — on `addTarget`
 * (initial state, or only what changed since a resume token), after each commit, and on
 * `removeTarget`. Pure: documents come from a `WatchReader` and each commit's changed documents
 * are passed in, so the same engine runs in the database's Durable Object (or a fan-out tier).
 *
 * Protocol (google/firestore/v1/firestore.proto ListenResponse; client-wire-protocol.md §4.4,
 * §5.3): `ADD`, the matching documents, `CURRENT` with a resume token, then a global
 * `targetChange` with empty `targetIds` and a `readTime` — clients raise a snapshot only on that
 * one, so every batch of changes ends with it, and its read time is never before any document
 * sent. Documents leaving a target are `documentDelete` (deleted) or `documentRemove` (no longer
 * matching); a limit query's window is recomputed when a change may touch it, so the next
 * document enters as one leaves. A resume with `expected_count` gets an existence filter: the
 * count and a bloom filter of the target's document names.
 */
import { Code } from "../errors/index.js";
import { microsToTimestamp } from "../model/timestamp.js";
import type { Micros } from "../model/types.js";
import { selects } from "../query/evaluate.js";
import type { NormalizedQuery, QueryDoc } from "../query/types.js";
import { bloomFilter } from "./bloom.js";
import type { AddTarget, TargetSpec } from "./request.js";
import { resumeToken } from "./tokens.js";

/** What the engine reads: the database at a read time (undefined: the latest state). */
export interface WatchReader {
  /** A query's result, whole documents, in query order. */
  query(query: NormalizedQuery, readTime?: Micros): QueryDoc[];
  /** Documents by path; null where none exists. */
  get(paths: readonly string[], readTime?: Micros): (QueryDoc | null)[];
  /** Whether the versions at `readTime` are still kept (older resume tokens need a reset). */
  canReadAt(readTime: Micros): boolean;
}

/** One document a commit changed: its state before and after (null: did not / does not exist). */
export interface ChangedDoc {
  path: string;
  name: string;
  before: QueryDoc | null;
  after: QueryDoc | null;
}

/**
 * Several commits' changes as one: each document once, from its state before the first to its
 * state after the last (a stream that hears of them together sees only the end result).
 */
export function mergeChanges(batches: readonly (readonly ChangedDoc[])[]): readonly ChangedDoc[] {
  if (batches.length === 1) return batches[0] as readonly ChangedDoc[];
  const byPath = new Map<string, ChangedDoc>();
  for (const batch of batches) {
    for (const c of batch) {
      const earlier = byPath.get(c.path);
      byPath.set(c.path, earlier ? { ...c, before: earlier.before } : c);
    }
  }
  return [...byPath.values()];
}

/** A ListenResponse, as proto3 JSON. */
export type ListenResponse = Record<string, unknown>;

/** A target as stored for a stream, enough to rebuild it (`ListenStream.restore`). */
export interface SavedTarget {
  targetId: number;
  spec: TargetSpec;
}

interface TargetState {
  id: number;
  spec: TargetSpec;
  /** A documents target's paths, for lookups. */
  paths?: ReadonlySet<string>;
  /** Path → update time of every document the client has in this target. */
  members: Map<string, Micros>;
}

function stateOf(id: number, spec: TargetSpec, members: Map<string, Micros>): TargetState {
  return { id, spec, members, ...(spec.kind === "documents" ? { paths: new Set(spec.paths) } : {}) };
}

/** Server-assigned target ids (for `target_id` 0) start here, above what clients pick. */
const FIRST_SERVER_TARGET_ID = 1 << 29;

function documentJson(doc: QueryDoc): Record<string, unknown> {
  const out: Record<string, unknown> = { name: doc.name };
  if (Object.keys(doc.fields).length > 0) out.fields = doc.fields;
  out.createTime = microsToTimestamp(doc.createTime);
  out.updateTime = microsToTimestamp(doc.updateTime);
  return out;
}

function targetChange(type: string, ids: number[], extra: Record<string, unknown> = {}): ListenResponse {
  return { targetChange: { targetChangeType: type, targetIds: ids, ...extra } };
}

/** The global snapshot message: the client raises its snapshot here. */
function snapshotAt(readTime: Micros): ListenResponse {
  return targetChange("NO_CHANGE", [], { resumeToken: resumeToken(readTime), readTime: microsToTimestamp(readTime) });
}

/** A window query: its result can change without the changed document matching it. */
function windowed(query: NormalizedQuery): boolean {
  return query.limit !== undefined || query.offset > 0;
}

/** Per-document outcome of a batch of changes across one stream's targets. */
class Outcome {
  private readonly docs = new Map<string, { doc: QueryDoc | null; name: string; into: number[]; out: number[] }>();

  into(name: string, path: string, doc: QueryDoc, target: number): void {
    const e = this.entry(path, name);
    e.doc = doc;
    e.into.push(target);
  }

  out(name: string, path: string, target: number, current: QueryDoc | null): void {
    const e = this.entry(path, name);
    e.doc ??= current;
    e.out.push(target);
  }

  private entry(path: string, name: string) {
    let e = this.docs.get(path);
    if (!e) {
      e = { doc: null, name, into: [], out: [] };
      this.docs.set(path, e);
    }
    return e;
  }

  /** documentChange / documentRemove / documentDelete messages, one per document. */
  messages(readTime: Micros): ListenResponse[] {
    const out: ListenResponse[] = [];
    for (const e of this.docs.values()) {
      if (e.into.length > 0 && e.doc) {
        const change: Record<string, unknown> = { document: documentJson(e.doc), targetIds: e.into };
        if (e.out.length > 0) change.removedTargetIds = e.out;
        out.push({ documentChange: change });
      } else if (e.out.length > 0) {
        const kind = e.doc ? "documentRemove" : "documentDelete";
        out.push({ [kind]: { document: e.name, removedTargetIds: e.out, readTime: microsToTimestamp(readTime) } });
      }
    }
    return out;
  }
}

export class ListenStream {
  private readonly targets = new Map<number, TargetState>();
  private nextServerId = FIRST_SERVER_TARGET_ID;

  /** `documentsRoot` is `projects/{p}/databases/{d}/documents`, for document names. */
  constructor(private readonly documentsRoot: string) {}

  /** The targets, to store (specs only: what the client has is the latest state, see restore). */
  saved(): SavedTarget[] {
    return [...this.targets.values()].map((t) => ({ targetId: t.id, spec: t.spec }));
  }

  /**
   * Rebuilds a stream whose state was lost (a restart, a hibernated Durable Object). Every commit
   * is delivered to every stream before the next one, so its clients have the latest state.
   */
  static restore(documentsRoot: string, saved: readonly SavedTarget[], reader: WatchReader): ListenStream {
    const stream = new ListenStream(documentsRoot);
    for (const s of saved) {
      const members = new Map(stream.read(s.spec, reader).map((d) => [d.path, d.updateTime]));
      stream.targets.set(s.targetId, stateOf(s.targetId, s.spec, members));
      if (s.targetId >= stream.nextServerId) stream.nextServerId = s.targetId + 1;
    }
    return stream;
  }

  /** The documents targets that name any of `paths`. */
  documentTargetsNaming(paths: readonly string[]): SavedTarget[] {
    const out: SavedTarget[] = [];
    for (const t of this.targets.values()) {
      if (t.paths && paths.some((p) => t.paths?.has(p))) out.push({ targetId: t.id, spec: t.spec });
    }
    return out;
  }

  get targetCount(): number {
    return this.targets.size;
  }

  has(targetId: number): boolean {
    return this.targets.has(targetId);
  }

  private read(spec: TargetSpec, reader: WatchReader, readTime?: Micros): QueryDoc[] {
    if (spec.kind === "query") return reader.query(spec.query, readTime);
    return reader.get(spec.paths, readTime).filter((d): d is QueryDoc => d !== null);
  }

  /**
   * Adds a target (its id must be free, or 0 for a server-assigned one) and answers with its
   * state at `now`: everything, or, resuming, only what changed since then. Returns the id used.
   */
  add(add: AddTarget, reader: WatchReader, now: Micros): { targetId: number; messages: ListenResponse[] } {
    let id = add.targetId;
    if (id === 0) {
      while (this.targets.has(this.nextServerId)) this.nextServerId++;
      id = this.nextServerId++;
    }
    if (this.targets.has(id)) throw new Error(`target ${id} is already in use`);
    const current = this.read(add.spec, reader);
    const messages: ListenResponse[] = [targetChange("ADD", [id])];
    const outcome = new Outcome();
    const resumable = add.resumeAfter !== undefined && add.resumeAfter <= now && reader.canReadAt(add.resumeAfter);
    if (add.resumeAfter !== undefined && resumable) {
      const before = new Map(this.read(add.spec, reader, add.resumeAfter).map((d) => [d.path, d.updateTime]));
      const present = new Set<string>();
      for (const doc of current) {
        present.add(doc.path);
        if (before.get(doc.path) !== doc.updateTime) outcome.into(doc.name, doc.path, doc, id);
      }
      this.left(
        [...before.keys()].filter((p) => !present.has(p)),
        id,
        reader,
        outcome,
      );
    } else {
      // A first listen, or a resume point too old to diff from: the client starts over.
      if (add.resumeAfter !== undefined) messages.push(targetChange("RESET", [id]));
      for (const doc of current) outcome.into(doc.name, doc.path, doc, id);
    }
    messages.push(...outcome.messages(now));
    if (add.expectedCount !== undefined) {
      // The client checks its own documents against the names (those it cannot find are gone).
      const unchangedNames = bloomFilter(current.map((d) => d.name));
      messages.push({ filter: { targetId: id, count: current.length, unchangedNames } });
    }
    messages.push(targetChange("CURRENT", [id], { resumeToken: resumeToken(now) }), snapshotAt(now));
    if (add.once) {
      messages.push(targetChange("REMOVE", [id]));
    } else {
      this.targets.set(id, stateOf(id, add.spec, new Map(current.map((d) => [d.path, d.updateTime]))));
    }
    return { targetId: id, messages };
  }

  /** Removes a target; REMOVE acknowledges it (an unknown id is answered the same way). */
  remove(targetId: number): ListenResponse[] {
    this.targets.delete(targetId);
    return [targetChange("REMOVE", [targetId])];
  }

  /** A target that failed: REMOVE with the error as its cause (the stream stays open). */
  static rejected(targetId: number, code: number, message: string): ListenResponse {
    return targetChange("REMOVE", [targetId], { cause: { code: code || Code.INVALID_ARGUMENT, message } });
  }

  /**
   * What one commit changes for this stream's clients: the document messages, then the global
   * snapshot at `commitTime` — or nothing, when no target is affected.
   */
  commit(changes: readonly ChangedDoc[], commitTime: Micros, reader: WatchReader): ListenResponse[] {
    if (this.targets.size === 0 || changes.length === 0) return [];
    const outcome = new Outcome();
    let touched = false;
    for (const target of this.targets.values()) {
      touched = this.apply(target, changes, outcome, reader) || touched;
    }
    if (!touched) return [];
    return [...outcome.messages(commitTime), snapshotAt(commitTime)];
  }

  /** Applies changes to one target, recording its outcome; returns whether anything changed. */
  private apply(target: TargetState, changes: readonly ChangedDoc[], outcome: Outcome, reader: WatchReader): boolean {
    const { spec, members, id } = target;
    if (spec.kind === "query" && windowed(spec.query)) {
      const mayTouch = changes.some((c) => members.has(c.path) || (c.after !== null && selects(spec.query, c.after)));
      if (!mayTouch) return false;
      return this.rewindow(target, reader, outcome);
    }
    let touched = false;
    for (const c of changes) {
      const was = members.has(c.path);
      const is =
        c.after !== null &&
        (spec.kind === "documents" ? target.paths?.has(c.path) === true : selects(spec.query, c.after));
      if (is && c.after) {
        if (members.get(c.path) === c.after.updateTime) continue;
        members.set(c.path, c.after.updateTime);
        outcome.into(c.name, c.path, c.after, id);
        touched = true;
      } else if (was) {
        members.delete(c.path);
        outcome.out(c.name, c.path, id, c.after);
        touched = true;
      }
    }
    return touched;
  }

  /** Recomputes a limit/offset query's result and records the difference. */
  private rewindow(target: TargetState, reader: WatchReader, outcome: Outcome): boolean {
    const spec = target.spec as Extract<TargetSpec, { kind: "query" }>;
    const now = reader.query(spec.query);
    const next = new Map(now.map((d) => [d.path, d.updateTime]));
    let touched = false;
    for (const doc of now) {
      if (target.members.get(doc.path) === doc.updateTime) continue;
      outcome.into(doc.name, doc.path, doc, target.id);
      touched = true;
    }
    const gone = [...target.members.keys()].filter((p) => !next.has(p));
    if (gone.length > 0) {
      this.left(gone, target.id, reader, outcome);
      touched = true;
    }
    target.members = next;
    return touched;
  }

  /** Records that documents left a target: removed if they still exist, else deleted. */
  private left(paths: readonly string[], targetId: number, reader: WatchReader, outcome: Outcome): void {
    const existing = reader.get(paths);
    paths.forEach((path, i) => {
      outcome.out(this.nameOf(path), path, targetId, existing[i] ?? null);
    });
  }

  private nameOf(path: string): string {
    return `${this.documentsRoot}/${path}`;
  }
}
