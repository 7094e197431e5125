/**
 * The one id rule (src/model/path.ts `validateId`) and the name parsers built on it: the same
 * ids are refused whether a request reads or writes them.
 */
import { describe, expect, it } from "vitest";
import { Code, FirestoreError } from "../../src/errors/index.js";
import {
  isReservedId,
  MAX_ID_BYTES,
  parseDocumentName,
  parseParentName,
  validateId,
  validatePathSegments,
} from "../../src/model/path.js";
import { decodeValue } from "../../src/validation/values.js";

const DB = { project: "p", database: "d" };
const ROOT = "projects/p/databases/d/documents";

function rejection(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(FirestoreError);
    expect((e as FirestoreError).code).toBe(Code.INVALID_ARGUMENT);
    return (e as FirestoreError).message;
  }
  throw new Error("expected INVALID_ARGUMENT");
}

const LONE_HIGH = "a\uD800b";
const LONE_LOW = "\uDC00";

describe("validateId", () => {
  it.each([
    "a",
    "____", // Firestore accepts four underscores: nothing between the two "__"
    "___",
    "__",
    "_",
    "__a",
    "a__",
    "_a_",
    ".a",
    "..a",
    "...",
    "a b",
    "%FF",
    "日本",
    "😀",
    "x".repeat(MAX_ID_BYTES),
    "é".repeat(MAX_ID_BYTES / 2),
  ])("accepts %j", (id) => {
    expect(() => validateId(id, "document", "w")).not.toThrow();
    expect(() => validateId(id, "collection", "w")).not.toThrow();
  });

  it.each<[string, string]>([
    ["", "must not be empty"],
    [".", "is not allowed"],
    ["..", "is not allowed"],
    ["a/b", 'must not contain "/"'],
    ["__x__", "reserved"],
    ["_____", "reserved"],
    ["__.__", "reserved"],
    ["__\n__", "reserved"],
    ["__name__", "reserved"],
    ["x".repeat(MAX_ID_BYTES + 1), `longer than ${MAX_ID_BYTES} bytes`],
    ["é".repeat(MAX_ID_BYTES / 2 + 1), `longer than ${MAX_ID_BYTES} bytes`],
    [LONE_HIGH, "not valid UTF-8"],
    [LONE_LOW, "not valid UTF-8"],
  ])("rejects %j (%s)", (id, fragment) => {
    for (const kind of ["document", "collection"] as const) {
      const message = rejection(() => validateId(id, kind, "where"));
      expect(message).toContain(fragment);
      expect(message.startsWith("where: ")).toBe(true);
      expect(message.length).toBeLessThan(600); // a 1,501-byte id is not echoed in full
    }
  });

  it("numeric ids __id<n>__ are document ids only, in canonical int64 spelling", () => {
    for (const id of ["__id0__", "__id7__", "__id-9223372036854775808__", "__id9223372036854775807__"]) {
      expect(isReservedId(id, "document")).toBe(false);
      expect(isReservedId(id, "collection")).toBe(true);
    }
    for (const id of ["__id07__", "__id-0__", "__id9223372036854775808__", "__idx__"]) {
      expect(isReservedId(id, "document")).toBe(true);
    }
  });
});

describe("names", () => {
  it("document names: the id rule on every segment", () => {
    expect(parseDocumentName(`${ROOT}/c/____`, DB, "name")).toBe("c/____");
    expect(parseDocumentName(`${ROOT}/____/d`, DB, "name")).toBe("____/d");
    expect(parseDocumentName(`${ROOT}/c/__id5__`, DB, "name")).toBe("c/__id5__");
    for (const bad of ["c/__x__", "__x__/d", "c/..", "./d", `c/${"x".repeat(1501)}`, `c/${LONE_HIGH}`, "c/d/e/.."]) {
      expect(rejection(() => parseDocumentName(`${ROOT}/${bad}`, DB, "documents[0]"))).toMatch(/^documents\[0\]: /);
    }
  });

  it("parent names: the same rule", () => {
    expect(parseParentName(`${ROOT}/c/____`, DB, "parent")).toBe("c/____");
    expect(parseParentName(ROOT, DB, "parent")).toBe("");
    expect(rejection(() => parseParentName(`${ROOT}/c/__x__`, DB, "parent"))).toContain('"__x__"');
    expect(rejection(() => parseParentName(`${ROOT}/__x__/d`, DB, "parent"))).toContain("collection id");
  });

  it("relative paths: 100 levels at most, 6 KiB names", () => {
    const deep = Array.from({ length: 201 }, (_, i) => (i % 2 === 0 ? "c" : "d"));
    expect(rejection(() => validatePathSegments(deep, deep.join("/"), "w"))).toContain("nested too deeply");
    const long = Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? "c" : "x".repeat(1500)));
    expect(rejection(() => validatePathSegments(long, `${ROOT}/${long.join("/")}`, "w"))).toContain("6144 bytes");
  });

  it("messages quote at most a bounded part of the input", () => {
    const huge = `${ROOT}/${"c/d/".repeat(100_000)}`;
    expect(rejection(() => parseDocumentName(huge, DB, "name")).length).toBeLessThan(1000);
    expect(rejection(() => parseDocumentName(`x${"y".repeat(100_000)}`, DB, "name")).length).toBeLessThan(1000);
  });

  it("reference values obey the same id rule", () => {
    expect(decodeValue({ referenceValue: `${ROOT}/c/____` }, "f")).toEqual({ referenceValue: `${ROOT}/c/____` });
    expect(rejection(() => decodeValue({ referenceValue: `${ROOT}/c/__x__` }, "f"))).toContain("reserved");
    expect(rejection(() => decodeValue({ referenceValue: "projects/o/databases/e/documents/c/.." }, "f"))).toContain(
      "Invalid value at 'f'",
    );
  });
});
