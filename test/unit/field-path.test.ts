import { describe, expect, it } from "vitest";
import { Code, FirestoreError } from "../../src/errors/index.js";
import {
  deleteField,
  fieldPathKey,
  formatFieldPath,
  getField,
  isPrefixPath,
  parseFieldPath,
  projectFields,
  setField,
} from "../../src/model/field-path.js";
import type { Fields, Value } from "../../src/model/types.js";

function expectInvalid(fn: () => unknown, ...fragments: string[]): void {
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

const W = "updateMask.fieldPaths[0]";
const int = (n: number): Value => ({ integerValue: String(n) });
const map = (fields: Fields): Value => ({ mapValue: { fields } });
const str = (s: string): Value => ({ stringValue: s });

describe("parseFieldPath", () => {
  it.each([
    ["a", ["a"]],
    ["a.b.c", ["a", "b", "c"]],
    ["_x9.Y_", ["_x9", "Y_"]],
    ["__name__", ["__name__"]],
    ["a.`weird.key`.b", ["a", "weird.key", "b"]],
    ["`a`", ["a"]],
    ["`0foo`", ["0foo"]],
    ["`x&y`", ["x&y"]],
    ["`bak\\`tik`", ["bak`tik"]],
    ["`back\\\\slash`", ["back\\slash"]],
    ["`\\`\\\\\\``", ["`\\`"]],
    ["`a b`.`c-d`.e", ["a b", "c-d", "e"]],
    ["`café`", ["café"]],
    ["`😀`.x", ["😀", "x"]],
    ["`.`", ["."]],
    ["` `", [" "]],
  ])("parses %s", (text, segments) => {
    expect(parseFieldPath(text, W)).toEqual(segments);
  });

  it.each([
    ["", "must not be empty"],
    [".", "empty segments"],
    ["a.", "must not end with '.'"],
    [".a", "empty segments"],
    ["a..b", "empty segments"],
    ["``", "field names must not be empty"],
    ["a.``", "field names must not be empty"],
    ["`a``b`", "followed by '.'"],
    ["`a`b", "followed by '.'"],
    ["`abc", "unterminated"],
    ["a.`b", "unterminated"],
    ["`a\\`", "unterminated"],
    ["`a\\", "trailing escape"],
    ["`a\\nb`", "invalid escape"],
    ["0foo", "must be back-quoted"],
    ["a.1", "must be back-quoted"],
    ["Calling-Station-Name", "must be back-quoted"],
    ["a b", "must be back-quoted"],
    ["a`b`", "must be back-quoted"],
    ["café", "must be back-quoted"],
    [`\`${"x".repeat(1501)}\``, "at most 1500 bytes"],
  ])("rejects %j", (text, reason) => {
    expectInvalid(() => parseFieldPath(text, W), `"${text}"`, `'${W}'`, reason);
  });

  it("allows a 1500-byte segment", () => {
    expect(parseFieldPath("x".repeat(1500), W)).toEqual(["x".repeat(1500)]);
    expect(parseFieldPath(`\`${"é".repeat(750)}\``, W)).toEqual(["é".repeat(750)]);
    expectInvalid(() => parseFieldPath(`\`${"é".repeat(751)}\``, W), "1500 bytes");
  });
});

describe("formatFieldPath", () => {
  it.each([
    [["a"], "a"],
    [["a", "b"], "a.b"],
    [["weird.key"], "`weird.key`"],
    [["0foo"], "`0foo`"],
    [["bak`tik"], "`bak\\`tik`"],
    [["back\\slash"], "`back\\\\slash`"],
    [["a`b`c\\\\d"], "`a\\`b\\`c\\\\\\\\d`"],
    [["__name__"], "__name__"],
    [["café", "x y"], "`café`.`x y`"],
  ])("formats %j as %s", (segments, text) => {
    expect(formatFieldPath(segments)).toBe(text);
    expect(parseFieldPath(text, W)).toEqual(segments);
    expect(fieldPathKey(segments)).toBe(text);
  });

  it("round-trips awkward segments", () => {
    const names = ["a", "_", "A1", "1", "", "`", "\\", "``", "\\`", "a.b", ".", "..", " ", "ü", "😀", "\u0000", "x\ny"];
    for (const a of names) {
      for (const b of names) {
        if (a === "" || b === "") continue;
        const segs = [a, b];
        expect(parseFieldPath(formatFieldPath(segs), W)).toEqual(segs);
      }
    }
  });

  it("gives distinct keys for distinct paths", () => {
    expect(fieldPathKey(["a.b"])).not.toBe(fieldPathKey(["a", "b"]));
    expect(fieldPathKey(["a", "b"])).toBe(fieldPathKey(parseFieldPath("`a`.`b`", W)));
  });
});

describe("isPrefixPath", () => {
  it("checks segment prefixes", () => {
    expect(isPrefixPath(["a"], ["a", "b"])).toBe(true);
    expect(isPrefixPath(["a", "b"], ["a", "b"])).toBe(true);
    expect(isPrefixPath([], ["a"])).toBe(true);
    expect(isPrefixPath(["a", "b"], ["a"])).toBe(false);
    expect(isPrefixPath(["a"], ["ab"])).toBe(false);
    expect(isPrefixPath(["a.b"], ["a", "b"])).toBe(false);
  });
});

describe("getField / setField / deleteField", () => {
  const doc = (): Fields => ({ a: map({ b: map({ c: int(1) }), s: str("x") }), top: int(2) });

  it("gets nested values", () => {
    const f = doc();
    expect(getField(f, ["top"])).toEqual(int(2));
    expect(getField(f, ["a", "b", "c"])).toEqual(int(1));
    expect(getField(f, ["a", "b"])).toEqual(map({ c: int(1) }));
    expect(getField(f, ["a", "s", "x"])).toBeUndefined();
    expect(getField(f, ["missing"])).toBeUndefined();
    expect(getField(f, ["a", "missing", "x"])).toBeUndefined();
    expect(getField(f, [])).toBeUndefined();
  });

  it("never reads Object.prototype", () => {
    const f = doc();
    expect(getField(f, ["__proto__"])).toBeUndefined();
    expect(getField(f, ["constructor"])).toBeUndefined();
    expect(getField(f, ["a", "toString"])).toBeUndefined();
  });

  it("sets values, creating and replacing intermediates", () => {
    const f = doc();
    setField(f, ["a", "b", "d"], int(3));
    expect(getField(f, ["a", "b"])).toEqual(map({ c: int(1), d: int(3) }));
    setField(f, ["x", "y", "z"], int(4));
    expect(f.x).toEqual(map({ y: map({ z: int(4) }) }));
    setField(f, ["a", "s", "t"], int(5)); // "s" was a string
    expect(getField(f, ["a", "s"])).toEqual(map({ t: int(5) }));
    setField(f, ["top"], str("replaced"));
    expect(f.top).toEqual(str("replaced"));
  });

  it("sets a literal __proto__ field without touching the prototype", () => {
    const f: Fields = {};
    setField(f, ["__proto__", "x"], int(1));
    expect(Object.getPrototypeOf(f)).toBe(Object.prototype);
    expect(Object.keys(f)).toEqual(["__proto__"]);
    expect(getField(f, ["__proto__", "x"])).toEqual(int(1));
    expect(JSON.parse(JSON.stringify(f))).toEqual(
      JSON.parse('{"__proto__":{"mapValue":{"fields":{"x":{"integerValue":"1"}}}}}'),
    );
  });

  it("deletes values and ignores absent paths", () => {
    const f = doc();
    deleteField(f, ["a", "b", "c"]);
    expect(getField(f, ["a", "b"])).toEqual(map({}));
    deleteField(f, ["a", "s", "x"]);
    deleteField(f, ["nope", "x"]);
    deleteField(f, ["constructor"]);
    deleteField(f, []);
    expect(getField(f, ["a", "s"])).toEqual(str("x"));
    deleteField(f, ["top"]);
    expect("top" in f).toBe(false);
  });
});

describe("projectFields", () => {
  const source = (): Fields => ({
    a: map({ b: int(1), c: int(2), d: map({ e: int(3) }) }),
    f: str("x"),
    g: int(4),
  });

  it("keeps only masked paths, nested", () => {
    expect(projectFields(source(), [["a", "b"], ["g"]])).toEqual({ a: map({ b: int(1) }), g: int(4) });
    expect(projectFields(source(), [["a", "d", "e"]])).toEqual({ a: map({ d: map({ e: int(3) }) }) });
    expect(projectFields(source(), [])).toEqual({});
  });

  it("drops paths that do not exist", () => {
    expect(projectFields(source(), [["missing"], ["a", "zz"], ["f", "sub"]])).toEqual({});
    expect(
      projectFields(source(), [
        ["a", "zz"],
        ["a", "c"],
      ]),
    ).toEqual({ a: map({ c: int(2) }) });
  });

  it("lets a prefix cover longer paths, in any order, without mutating the source", () => {
    const src = source();
    const before = JSON.stringify(src);
    const out = projectFields(src, [["a", "b"], ["a"], ["a", "d", "e"]]);
    expect(out).toEqual({ a: src.a });
    expect(JSON.stringify(src)).toBe(before);
  });

  it("masking a whole map returns it intact", () => {
    expect(projectFields(source(), [["a", "d"], ["f"]])).toEqual({ a: map({ d: map({ e: int(3) }) }), f: str("x") });
  });
});
