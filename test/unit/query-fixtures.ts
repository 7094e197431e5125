/** Shared builders for the query unit tests (proto3-JSON inputs and canonical documents). */
import { expect } from "vitest";
import { Code, FirestoreError } from "../../src/errors/index.js";
import type { DatabaseRef } from "../../src/model/path.js";
import type { Fields, Value } from "../../src/model/types.js";
import { runQuery } from "../../src/query/evaluate.js";
import { decodeStructuredQuery } from "../../src/query/normalize.js";
import type { NormalizedQuery, QueryDoc } from "../../src/query/types.js";

export const DB: DatabaseRef = { project: "p", database: "d" };
export const ROOT = "projects/p/databases/d/documents";

// Canonical values.
export const nul: Value = { nullValue: null };
export const int = (n: number | string): Value => ({ integerValue: String(n) });
export const dbl = (n: number | "NaN" | "Infinity" | "-Infinity" | "-0"): Value => ({ doubleValue: n });
export const str = (s: string): Value => ({ stringValue: s });
export const bool = (b: boolean): Value => ({ booleanValue: b });
export const ref = (path: string): Value => ({ referenceValue: `${ROOT}/${path}` });
export const arr = (...values: Value[]): Value => ({ arrayValue: { values } });
export const map = (fields: Fields): Value => ({ mapValue: { fields } });
export const vec = (...n: number[]): Value => map({ __type__: str("__vector__"), value: arr(...n.map((x) => dbl(x))) });

/** A document at `path` (relative) with the given fields. */
export function doc(path: string, fields: Fields = {}): QueryDoc {
  return { path, name: `${ROOT}/${path}`, fields, createTime: 1, updateTime: 2 };
}

// proto3-JSON query pieces.
export const fieldRef = (fieldPath: string) => ({ fieldPath });
export const fieldFilter = (fieldPath: string, op: string | number, value: unknown) => ({
  fieldFilter: { field: { fieldPath }, op, value },
});
export const unary = (fieldPath: string, op: string) => ({ unaryFilter: { field: { fieldPath }, op } });
export const and = (...filters: unknown[]) => ({ compositeFilter: { op: "AND", filters } });
export const or = (...filters: unknown[]) => ({ compositeFilter: { op: "OR", filters } });
export const order = (fieldPath: string, direction?: string) => ({
  field: { fieldPath },
  ...(direction === undefined ? {} : { direction }),
});
export const arrayJson = (...values: unknown[]) => ({ arrayValue: { values } });

/** Decodes a StructuredQuery over collection `c` at the root unless `from` is given. */
export function decode(query: Record<string, unknown>, parent = ""): NormalizedQuery {
  return decodeStructuredQuery({ from: [{ collectionId: "c" }], ...query }, DB, parent, "structuredQuery");
}

/** Runs a StructuredQuery and returns the result documents' paths. */
export function run(query: Record<string, unknown>, docs: QueryDoc[], parent = ""): string[] {
  return runQuery(decode(query, parent), docs).map((d) => d.path);
}

/** Asserts that `fn` throws INVALID_ARGUMENT whose message contains every fragment. */
export function expectInvalid(fn: () => unknown, ...fragments: string[]): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(FirestoreError);
  const err = caught as FirestoreError;
  expect(err.code).toBe(Code.INVALID_ARGUMENT);
  for (const f of fragments) expect(err.message).toContain(f);
}
