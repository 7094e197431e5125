/**
 * The commit pipeline: applies a list of writes at one commit time, inside the caller's
 * `transactionSync` (so an error anywhere rolls back everything).
 *
 * Writes apply in order against an in-memory overlay (a document written twice in one commit sees
 * the first write), preconditions are checked against that overlay, and each touched document is
 * stored once at the end. A document whose content did not change keeps its `updateTime`.
 */
import {
  alreadyExists,
  FirestoreError,
  failedPrecondition,
  invalidArgument,
  notFound,
} from "../../src/errors/index.js";
import { applyUpdate } from "../../src/model/mutation.js";
import { microsToTimestamp } from "../../src/model/timestamp.js";
import type { Fields, Micros, Write, WriteResult } from "../../src/model/types.js";
import { documentSize, valueEquals } from "../../src/model/values.js";
import type { QueryDoc } from "../../src/query/types.js";
import type { ChangedDoc } from "../../src/watch/listen.js";
import type { Image } from "./predicates.js";
import type { DocumentStore } from "./store.js";

/** Firestore's maximum document size (limits.md). */
export const MAX_DOCUMENT_BYTES = 1_048_576;

interface Slot {
  existedBefore: boolean;
  /** The fields before this commit (never mutated: updates build new maps). */
  original: Fields | null;
  originalCreateTime: Micros;
  originalUpdateTime: Micros;
  fields: Fields | null;
  createTime: Micros;
  updateTime: Micros;
  changed: boolean;
}

export class CommitBatch {
  private readonly slots = new Map<string, Slot>();
  /** The documents written (a `verify` only reads). */
  private readonly writtenPaths = new Set<string>();
  private readonly requestTime: string;

  constructor(
    private readonly store: DocumentStore,
    private readonly commitTime: Micros,
    /** Full resource name of a document path, for messages and size computation. */
    private readonly nameOf: (path: string) => string,
  ) {
    this.requestTime = microsToTimestamp(commitTime);
  }

  private slot(path: string): Slot {
    let slot = this.slots.get(path);
    if (!slot) {
      const row = this.store.getLatest(path);
      const original = row ? (JSON.parse(row.fields) as Fields) : null;
      slot = row
        ? {
            existedBefore: true,
            original,
            originalCreateTime: row.createTime,
            originalUpdateTime: row.updateTime,
            fields: original,
            createTime: row.createTime,
            updateTime: row.updateTime,
            changed: false,
          }
        : {
            existedBefore: false,
            original,
            originalCreateTime: 0,
            originalUpdateTime: 0,
            fields: null,
            createTime: 0,
            updateTime: 0,
            changed: false,
          };
      this.slots.set(path, slot);
    }
    return slot;
  }

  /** Applies one write; throws a FirestoreError (leaving this write unapplied) when it fails. */
  apply(write: Write): WriteResult {
    const slot = this.slot(write.path);
    this.checkPrecondition(write, slot);
    if (write.kind !== "verify") this.writtenPaths.add(write.path);
    switch (write.kind) {
      case "verify":
        return {};
      case "delete":
        if (slot.fields !== null) Object.assign(slot, { fields: null, changed: true });
        return {};
      case "update": {
        const { fields, transformResults } = applyUpdate(slot.fields, write, this.requestTime);
        const name = this.nameOf(write.path);
        const size = documentSize(name, fields);
        if (size > MAX_DOCUMENT_BYTES) {
          throw invalidArgument(
            `Document '${name}' cannot be written because its size (${size.toLocaleString("en-US")} bytes) exceeds the maximum allowed size of ${MAX_DOCUMENT_BYTES.toLocaleString("en-US")} bytes.`,
          );
        }
        if (slot.fields === null) {
          Object.assign(slot, { fields, createTime: this.commitTime, updateTime: this.commitTime, changed: true });
        } else if (!sameFields(slot.fields, fields)) {
          Object.assign(slot, { fields, updateTime: this.commitTime, changed: true });
        }
        const result: WriteResult = { updateTime: slot.updateTime };
        if (write.transforms.length > 0) result.transformResults = transformResults;
        return result;
      }
    }
  }

  /**
   * An imported document, with its own create and update times (not this commit's). Returns
   * whether it changes anything: a document held already as it is (same times, same fields) is
   * left alone, so an import run again writes nothing.
   */
  restore(path: string, fields: Fields, createTime: Micros, updateTime: Micros): boolean {
    const slot = this.slot(path);
    this.writtenPaths.add(path);
    if (
      slot.fields !== null &&
      slot.createTime === createTime &&
      slot.updateTime === updateTime &&
      sameFields(slot.fields, fields)
    ) {
      return false;
    }
    const name = this.nameOf(path);
    const size = documentSize(name, fields);
    if (size > MAX_DOCUMENT_BYTES) {
      throw invalidArgument(
        `Document '${name}' cannot be imported because its size (${size.toLocaleString("en-US")} bytes) exceeds the maximum allowed size of ${MAX_DOCUMENT_BYTES.toLocaleString("en-US")} bytes.`,
      );
    }
    Object.assign(slot, { fields, createTime, updateTime, changed: true });
    return true;
  }

  private checkPrecondition(write: Write, slot: Slot): void {
    const pre = write.precondition;
    if (pre === undefined) return;
    const exists = slot.fields !== null;
    if ("exists" in pre) {
      if (pre.exists && !exists) {
        const verb = write.kind === "delete" ? "delete" : write.kind === "verify" ? "verify" : "update";
        throw notFound(`No document to ${verb}: ${this.nameOf(write.path)}`);
      }
      if (!pre.exists && exists) throw alreadyExists(`Document already exists: ${this.nameOf(write.path)}`);
      return;
    }
    if (!exists) {
      throw failedPrecondition(
        `The document ${this.nameOf(write.path)} does not exist, but the precondition requires it to have update time ${microsToTimestamp(pre.updateTime)}.`,
      );
    }
    if (slot.updateTime !== pre.updateTime) {
      throw failedPrecondition(
        `The document ${this.nameOf(write.path)} was last updated at ${microsToTimestamp(slot.updateTime)}, not at the precondition's update time ${microsToTimestamp(pre.updateTime)}.`,
      );
    }
  }

  /**
   * Applies a write that must not affect the others (batchWrite): on failure the document's slot
   * is restored. Each document appears at most once in a batchWrite.
   */
  applyIsolated(write: Write, check?: () => void): WriteResult {
    const before = this.slots.get(write.path);
    const snapshot = before ? { ...before } : undefined;
    try {
      const result = this.apply(write);
      // (e.g. security rules, which see the write applied): a refusal undoes it too.
      check?.();
      return result;
    } catch (e) {
      if (snapshot) this.slots.set(write.path, snapshot);
      else this.slots.delete(write.path);
      this.writtenPaths.delete(write.path);
      throw e;
    }
  }

  /** Each document the batch writes: its fields before the commit and after it (null: none). */
  written(): { path: string; before: Fields | null; after: Fields | null }[] {
    return [...this.writtenPaths].map((path) => {
      const slot = this.slots.get(path) as Slot;
      return { path, before: slot.original, after: slot.fields };
    });
  }

  /** Whether the batch holds `path` (then `after(path)` is what the commit leaves). */
  holds(path: string): boolean {
    return this.slots.has(path);
  }

  after(path: string): Fields | null {
    return this.slots.get(path)?.fields ?? null;
  }

  /** The states before and after this batch of every document it changes (for predicate locks). */
  images(): Image[] {
    const out: Image[] = [];
    for (const [path, slot] of this.slots) {
      if (!slot.changed) continue;
      const name = this.nameOf(path);
      out.push({ path, name, fields: slot.original }, { path, name, fields: slot.fields });
    }
    return out;
  }

  /** Every document this batch changes, before and after (for the Listen streams). */
  changes(): ChangedDoc[] {
    const out: ChangedDoc[] = [];
    for (const [path, slot] of this.slots) {
      if (!slot.changed) continue;
      const name = this.nameOf(path);
      const doc = (fields: Fields | null, createTime: Micros, updateTime: Micros): QueryDoc | null =>
        fields === null ? null : { path, name, fields, createTime, updateTime };
      out.push({
        path,
        name,
        before: slot.existedBefore ? doc(slot.original, slot.originalCreateTime, slot.originalUpdateTime) : null,
        after: doc(slot.fields, slot.createTime, slot.updateTime),
      });
    }
    return out;
  }

  /** Persists every changed document. Returns whether anything was written. */
  flush(): boolean {
    let wrote = false;
    for (const [path, slot] of this.slots) {
      if (!slot.changed) continue;
      if (slot.fields === null) {
        if (slot.existedBefore) this.store.delete(path, this.commitTime);
        else continue;
      } else {
        // A written document's update time is this commit's; an imported one keeps its own.
        const json = JSON.stringify(slot.fields);
        this.store.put(path, json, slot.createTime, slot.updateTime, slot.existedBefore, this.commitTime);
      }
      this.store.reindex(path, slot.original, slot.fields);
      wrote = true;
    }
    return wrote;
  }
}

function sameFields(a: Fields, b: Fields): boolean {
  return valueEquals({ mapValue: { fields: a } }, { mapValue: { fields: b } });
}

/** Narrows unknown errors thrown inside a batch to FirestoreErrors (anything else is a bug). */
export function asFirestoreError(e: unknown): FirestoreError {
  if (e instanceof FirestoreError) return e;
  throw e;
}
