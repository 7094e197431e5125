import { describe, expect, it } from "vitest";
import { Code, FirestoreError } from "../../src/errors/index.js";
import {
  canonicalTimestamp,
  compareTimestampParts,
  formatTimestamp,
  microsToTimestamp,
  parseTimestamp,
  timestampToMicros,
} from "../../src/model/timestamp.js";

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

const W = "writes[0].update.fields.t";

describe("parseTimestamp", () => {
  it.each([
    ["1970-01-01T00:00:00Z", 0n, 0],
    ["1970-01-01T00:00:00.000000001Z", 0n, 1],
    ["1970-01-01T00:00:00.1Z", 0n, 100_000_000],
    ["2023-11-14T22:13:20Z", 1700000000n, 0],
    ["2023-11-14T22:13:20.123Z", 1700000000n, 123_000_000],
    ["2023-11-14T22:13:20.123456Z", 1700000000n, 123_456_000],
    ["2023-11-14T22:13:20.123000000Z", 1700000000n, 123_000_000],
    ["2023-11-14T22:13:20.123456789Z", 1700000000n, 123_456_789],
    ["1969-12-31T23:59:59.999999Z", -1n, 999_999_000],
    ["0001-01-01T00:00:00Z", -62135596800n, 0],
    ["9999-12-31T23:59:59.999999999Z", 253402300799n, 999_999_999],
    ["2000-02-29T12:00:00Z", 951825600n, 0],
  ])("parses %s", (text, seconds, nanos) => {
    expect(parseTimestamp(text, W)).toEqual({ seconds, nanos });
  });

  it("normalises offsets to UTC", () => {
    expect(parseTimestamp("2023-11-15T00:13:20+02:00", W)).toEqual({ seconds: 1700000000n, nanos: 0 });
    expect(parseTimestamp("2023-11-14T17:43:20.5-04:30", W)).toEqual({ seconds: 1700000000n, nanos: 500_000_000 });
    expect(parseTimestamp("2023-11-14T22:13:20-00:00", W)).toEqual({ seconds: 1700000000n, nanos: 0 });
    // An offset can move a date across the year boundary and still be in range.
    expect(parseTimestamp("0001-01-01T01:00:00+01:00", W)).toEqual({ seconds: -62135596800n, nanos: 0 });
    expect(parseTimestamp("9999-12-31T22:59:59-01:00", W)).toEqual({ seconds: 253402300799n, nanos: 0 });
  });

  it("accepts {seconds, nanos} objects", () => {
    expect(parseTimestamp({ seconds: "1700000000", nanos: 5 }, W)).toEqual({ seconds: 1700000000n, nanos: 5 });
    expect(parseTimestamp({ seconds: 1700000000 }, W)).toEqual({ seconds: 1700000000n, nanos: 0 });
    expect(parseTimestamp({ seconds: "-62135596800", nanos: 0 }, W)).toEqual({ seconds: -62135596800n, nanos: 0 });
    expect(parseTimestamp({}, W)).toEqual({ seconds: 0n, nanos: 0 });
    expect(parseTimestamp({ seconds: "10", nanos: "999999999" }, W)).toEqual({ seconds: 10n, nanos: 999_999_999 });
  });

  it.each([
    ["2023-11-14T22:13:20", "must end with 'Z' or have a valid timezone offset"],
    ["2023-11-14T22:13:20+0200", "must end with 'Z' or have a valid timezone offset"],
    ["2023-11-14 22:13:20Z", "Illegal timestamp format"],
    ["2023-11-14t22:13:20z", "Illegal timestamp format"],
    ["2023-11-14T22:13:20.Z", "Illegal timestamp format"],
    ["2023-11-14T22:13:20.1234567891Z", "Illegal timestamp format"],
    ["23-11-14T22:13:20Z", "Illegal timestamp format"],
    ["2023-13-14T22:13:20Z", "invalid date"],
    ["2023-02-29T00:00:00Z", "invalid date"],
    ["1900-02-29T00:00:00Z", "invalid date"],
    ["2023-04-31T00:00:00Z", "invalid date"],
    ["2023-00-10T00:00:00Z", "invalid date"],
    ["0000-01-01T00:00:00Z", "invalid date"],
    ["2023-11-14T24:00:00Z", "invalid time"],
    ["2023-11-14T23:60:00Z", "invalid time"],
    ["2016-12-31T23:59:60Z", "invalid time"],
    ["2023-11-14T22:13:20+24:00", "invalid timezone offset"],
    ["2023-11-14T22:13:20+01:60", "invalid timezone offset"],
    ["0001-01-01T00:00:00+00:01", "between 0001-01-01"],
    ["9999-12-31T23:59:59-00:01", "between 0001-01-01"],
    ["", "Illegal timestamp format"],
  ])("rejects %j", (text, reason) => {
    expectInvalid(() => parseTimestamp(text, W), `'${W}'`, "Field 't'", reason, JSON.stringify(text));
  });

  it.each([
    [{ seconds: "253402300800" }, "between"],
    [{ seconds: "-62135596801" }, "between"],
    [{ seconds: "1.5" }, "'seconds'"],
    [{ seconds: 1.5 }, "'seconds'"],
    [{ seconds: true }, "'seconds'"],
    [{ seconds: "1", nanos: -1 }, "'nanos'"],
    [{ seconds: "1", nanos: 1_000_000_000 }, "'nanos'"],
    [{ seconds: "1", nanos: 0.5 }, "'nanos'"],
    [{ seconds: "1", extra: 1 }, "unknown field 'extra'"],
    [12345, "expected an RFC 3339 string"],
    [null, "expected an RFC 3339 string"],
    [["2023-11-14T22:13:20Z"], "expected an RFC 3339 string"],
  ])("rejects %j", (input, reason) => {
    expectInvalid(() => parseTimestamp(input, W), `'${W}'`, reason);
  });
});

describe("canonicalTimestamp", () => {
  it.each([
    ["2023-11-14T22:13:20Z", "2023-11-14T22:13:20.000000Z"],
    ["2023-11-14T22:13:20.123Z", "2023-11-14T22:13:20.123000Z"],
    ["2023-11-14T22:13:20.123456789Z", "2023-11-14T22:13:20.123456Z"],
    ["2023-11-14T22:13:20.999999999Z", "2023-11-14T22:13:20.999999Z"],
    ["2023-11-14T22:13:20.0000009Z", "2023-11-14T22:13:20.000000Z"],
    ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000Z"],
    ["0099-03-01T00:00:00Z", "0099-03-01T00:00:00.000000Z"],
    ["9999-12-31T23:59:59.999999999Z", "9999-12-31T23:59:59.999999Z"],
    ["1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.500000Z"],
    ["2024-02-29T23:30:00-01:00", "2024-03-01T00:30:00.000000Z"],
    ["2000-01-01T00:00:00+14:00", "1999-12-31T10:00:00.000000Z"],
  ])("%s → %s", (input, expected) => {
    expect(canonicalTimestamp(input, W)).toBe(expected);
  });

  it("formats {seconds, nanos} objects", () => {
    expect(canonicalTimestamp({ seconds: "1700000000", nanos: 123456789 }, W)).toBe("2023-11-14T22:13:20.123456Z");
    expect(canonicalTimestamp({ seconds: -1, nanos: 1000 }, W)).toBe("1969-12-31T23:59:59.000001Z");
  });

  it("round-trips through Date for many instants", () => {
    for (let ms = -62135596800000; ms < 253402300799000; ms += 9876543210987) {
      const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
      expect(canonicalTimestamp(iso, W)).toBe(`${iso.slice(0, 23)}000Z`);
    }
  });

  it("canonical strings sort chronologically", () => {
    const texts = [
      "0001-01-01T00:00:00Z",
      "0999-06-01T00:00:00Z",
      "1969-12-31T23:59:59.999999Z",
      "1970-01-01T00:00:00Z",
      "9999-01-01T00:00:00Z",
    ];
    const canon = texts.map((t) => canonicalTimestamp(t, W));
    expect([...canon].sort()).toEqual(canon);
  });
});

describe("micros", () => {
  it("converts timestamps to micros, truncating", () => {
    expect(timestampToMicros("1970-01-01T00:00:00Z", W)).toBe(0);
    expect(timestampToMicros("2023-11-14T22:13:20.123456789Z", W)).toBe(1700000000123456);
    expect(timestampToMicros("2026-11-21T22:51:26.057Z", W)).toBe(
      timestampToMicros("2026-11-21T22:51:26.057000000Z", W),
    );
    expect(timestampToMicros({ seconds: "1700000000", nanos: 1999 }, W)).toBe(1700000000000001);
    expect(timestampToMicros("1969-12-31T23:59:59.999999Z", W)).toBe(-1);
  });

  it("formats micros canonically", () => {
    expect(microsToTimestamp(0)).toBe("1970-01-01T00:00:00.000000Z");
    expect(microsToTimestamp(1700000000123456)).toBe("2023-11-14T22:13:20.123456Z");
    expect(microsToTimestamp(-1)).toBe("1969-12-31T23:59:59.999999Z");
    expect(microsToTimestamp(8_000_000_000_000_000)).toBe("2223-07-06T14:13:20.000000Z");
  });

  it("round-trips micros ↔ text", () => {
    for (const us of [0, 1, 999_999, 1_000_000, 1700000000123456, 4102444800000001, 7_258_118_400_000_000]) {
      expect(timestampToMicros(microsToTimestamp(us), W)).toBe(us);
    }
  });
});

describe("formatTimestamp / compareTimestampParts", () => {
  it("formats parts and orders them", () => {
    expect(formatTimestamp({ seconds: 0n, nanos: 999 })).toBe("1970-01-01T00:00:00.000000Z");
    const a = { seconds: 5n, nanos: 1 };
    const b = { seconds: 5n, nanos: 2 };
    const c = { seconds: 6n, nanos: 0 };
    expect(compareTimestampParts(a, b)).toBe(-1);
    expect(compareTimestampParts(c, b)).toBe(1);
    expect(compareTimestampParts(a, { ...a })).toBe(0);
  });
});
