import { describe, expect, it } from "vitest";
import { jsonDepth, MAX_JSON_DEPTH } from "../../src/routes/body.js";

describe("jsonDepth", () => {
  it.each<[string, number]>([
    ["1", 0],
    ["{}", 1],
    ["[[]]", 2],
    ['{"a":[{"b":{}}]}', 4],
    ['{"a":"[[[[{{{{"}', 1], // brackets inside strings do not count
    ['{"a":"\\"[[["}', 1], // nor after an escaped quote
    ['["\\\\",[[]]]', 3], // an escaped backslash ends before the quote
    ["[[[", 3], // truncated text still measures
    ["]]]{", 0], // unbalanced text (JSON.parse refuses it) never counts as deep
  ])("%s → %i", (text, depth) => {
    expect(jsonDepth(text)).toBe(depth);
  });

  it("stops counting just past the limit", () => {
    expect(jsonDepth("[".repeat(1_000_000))).toBe(MAX_JSON_DEPTH + 1);
    expect(jsonDepth("[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH))).toBe(MAX_JSON_DEPTH);
  });
});
