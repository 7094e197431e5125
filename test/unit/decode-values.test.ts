import { describe, expect, it } from "vitest";
import { Code, FirestoreError } from "../../src/errors/index.js";
import type { Value } from "../../src/model/types.js";
import { decodeFields, decodeValue, MAX_VALUE_DEPTH, validateFieldName } from "../../src/validation/values.js";

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

const W = "writes[0].update.fields.a";
const decode = (json: unknown): Value => decodeValue(json, W);

describe("decodeValue: accepted forms", () => {
  it.each<[unknown, Value]>([
    // null
    [{ nullValue: null }, { nullValue: null }],
    [{ nullValue: "NULL_VALUE" }, { nullValue: null }],
    [{ nullValue: 0 }, { nullValue: null }],
    [{ null_value: null }, { nullValue: null }],
    // boolean
    [{ booleanValue: true }, { booleanValue: true }],
    [{ boolean_value: false }, { booleanValue: false }],
    // integer
    [{ integerValue: "860000" }, { integerValue: "860000" }],
    [{ integerValue: "007" }, { integerValue: "7" }],
    [{ integerValue: "-0" }, { integerValue: "0" }],
    [{ integerValue: "000" }, { integerValue: "0" }],
    [{ integerValue: "+5" }, { integerValue: "5" }],
    [{ integerValue: "-007" }, { integerValue: "-7" }],
    [{ integerValue: "9223372036854775807" }, { integerValue: "9223372036854775807" }],
    [{ integerValue: "-9223372036854775808" }, { integerValue: "-9223372036854775808" }],
    [{ integerValue: "00009223372036854775807" }, { integerValue: "9223372036854775807" }],
    [{ integerValue: 42 }, { integerValue: "42" }],
    [{ integerValue: -0 }, { integerValue: "0" }],
    [{ integerValue: 1e3 }, { integerValue: "1000" }],
    [{ integer_value: "1" }, { integerValue: "1" }],
    // double
    [{ doubleValue: 1.5 }, { doubleValue: 1.5 }],
    [{ doubleValue: 0 }, { doubleValue: 0 }],
    [{ doubleValue: -0 }, { doubleValue: "-0" }],
    [{ doubleValue: "NaN" }, { doubleValue: "NaN" }],
    [{ doubleValue: "Infinity" }, { doubleValue: "Infinity" }],
    [{ doubleValue: "-Infinity" }, { doubleValue: "-Infinity" }],
    [{ doubleValue: "1.5" }, { doubleValue: 1.5 }],
    [{ doubleValue: "1e3" }, { doubleValue: 1000 }],
    [{ doubleValue: "-0" }, { doubleValue: "-0" }],
    [{ doubleValue: "-0.0" }, { doubleValue: "-0" }],
    [{ doubleValue: ".5" }, { doubleValue: 0.5 }],
    [{ doubleValue: "5." }, { doubleValue: 5 }],
    [{ doubleValue: "1.7976931348623157e308" }, { doubleValue: Number.MAX_VALUE }],
    [{ double_value: 2 }, { doubleValue: 2 }],
    // timestamp
    [{ timestampValue: "2023-11-14T22:13:20.123000000Z" }, { timestampValue: "2023-11-14T22:13:20.123000Z" }],
    [{ timestampValue: "2023-11-14T22:13:20.123Z" }, { timestampValue: "2023-11-14T22:13:20.123000Z" }],
    [{ timestampValue: "2023-11-14T22:13:20.123456789Z" }, { timestampValue: "2023-11-14T22:13:20.123456Z" }],
    [{ timestampValue: "2023-11-15T00:13:20+02:00" }, { timestampValue: "2023-11-14T22:13:20.000000Z" }],
    [{ timestampValue: { seconds: "1700000000", nanos: 1000 } }, { timestampValue: "2023-11-14T22:13:20.000001Z" }],
    [{ timestamp_value: "1970-01-01T00:00:00Z" }, { timestampValue: "1970-01-01T00:00:00.000000Z" }],
    // string
    [{ stringValue: "" }, { stringValue: "" }],
    [{ stringValue: "héllo \u{1f600}" }, { stringValue: "héllo \u{1f600}" }],
    [{ string_value: "x" }, { stringValue: "x" }],
    // bytes
    [{ bytesValue: "AQID" }, { bytesValue: "AQID" }],
    [{ bytesValue: "" }, { bytesValue: "" }],
    [{ bytesValue: "AQ==" }, { bytesValue: "AQ==" }],
    [{ bytesValue: "AQ" }, { bytesValue: "AQ==" }],
    [{ bytesValue: "AQI" }, { bytesValue: "AQI=" }],
    [{ bytesValue: "-_8" }, { bytesValue: "+/8=" }],
    [{ bytesValue: "-_8=" }, { bytesValue: "+/8=" }],
    [{ bytesValue: "+/8=" }, { bytesValue: "+/8=" }],
    [{ bytesValue: "QR==" }, { bytesValue: "QQ==" }],
    [{ bytes_value: "AA==" }, { bytesValue: "AA==" }],
    // reference
    [
      { referenceValue: "projects/demo-test/databases/(default)/documents/cities/LA" },
      { referenceValue: "projects/demo-test/databases/(default)/documents/cities/LA" },
    ],
    [
      { referenceValue: "projects/p/databases/d/documents/a/b/c/d" },
      { referenceValue: "projects/p/databases/d/documents/a/b/c/d" },
    ],
    [
      { reference_value: "projects/p/databases/d/documents/a/__id5__" },
      { referenceValue: "projects/p/databases/d/documents/a/__id5__" },
    ],
    // geo point
    [
      { geoPointValue: { latitude: 37.7, longitude: -122.4 } },
      { geoPointValue: { latitude: 37.7, longitude: -122.4 } },
    ],
    [{ geoPointValue: {} }, { geoPointValue: { latitude: 0, longitude: 0 } }],
    [{ geoPointValue: { latitude: -0, longitude: -0 } }, { geoPointValue: { latitude: 0, longitude: 0 } }],
    [{ geoPointValue: { latitude: 90, longitude: -180 } }, { geoPointValue: { latitude: 90, longitude: -180 } }],
    [{ geoPointValue: { latitude: "-90", longitude: "180" } }, { geoPointValue: { latitude: -90, longitude: 180 } }],
    [{ geo_point_value: { longitude: 1 } }, { geoPointValue: { latitude: 0, longitude: 1 } }],
    // array
    [{ arrayValue: {} }, { arrayValue: { values: [] } }],
    [{ arrayValue: { values: [] } }, { arrayValue: { values: [] } }],
    [{ arrayValue: { values: null } }, { arrayValue: { values: [] } }],
    [
      { arrayValue: { values: [{ integerValue: "01" }, { mapValue: { fields: { x: { arrayValue: {} } } } }] } },
      {
        arrayValue: {
          values: [{ integerValue: "1" }, { mapValue: { fields: { x: { arrayValue: { values: [] } } } } }],
        },
      },
    ],
    [{ array_value: { values: [{ nullValue: null }] } }, { arrayValue: { values: [{ nullValue: null }] } }],
    // map
    [{ mapValue: {} }, { mapValue: { fields: {} } }],
    [{ mapValue: { fields: {} } }, { mapValue: { fields: {} } }],
    [{ mapValue: { fields: null } }, { mapValue: { fields: {} } }],
    [
      { mapValue: { fields: { "a.b": { doubleValue: -0 }, "x y": { stringValue: "z" } } } },
      { mapValue: { fields: { "a.b": { doubleValue: "-0" }, "x y": { stringValue: "z" } } } },
    ],
    [{ map_value: { fields: { k: { booleanValue: true } } } }, { mapValue: { fields: { k: { booleanValue: true } } } }],
  ])("%j", (json, expected) => {
    expect(decode(json)).toEqual(expected);
  });

  it("accepts vectors (the one allowed reserved name)", () => {
    const vector = {
      mapValue: {
        fields: {
          __type__: { stringValue: "__vector__" },
          value: { arrayValue: { values: [{ doubleValue: 1 }, { doubleValue: "2.5" }] } },
        },
      },
    };
    expect(decode(vector)).toEqual({
      mapValue: {
        fields: {
          __type__: { stringValue: "__vector__" },
          value: { arrayValue: { values: [{ doubleValue: 1 }, { doubleValue: 2.5 }] } },
        },
      },
    });
    const empty = { mapValue: { fields: { value: { arrayValue: {} }, __type__: { stringValue: "__vector__" } } } };
    expect(decode(empty)).toEqual({
      mapValue: { fields: { value: { arrayValue: { values: [] } }, __type__: { stringValue: "__vector__" } } },
    });
    // Vectors nested in arrays and maps are fine.
    expect(() => decode({ arrayValue: { values: [vector] } })).not.toThrow();
    expect(() => decodeFields({ emb: vector }, "fields")).not.toThrow();
  });

  it("accepts exactly the maximum depth", () => {
    // MAX_VALUE_DEPTH nested maps, like the backend (20 accepted, 21 rejected).
    let json: unknown = { mapValue: {} };
    for (let i = 1; i < MAX_VALUE_DEPTH; i++) json = { mapValue: { fields: { m: json } } };
    expect(() => decodeFields({ m: json }, "fields")).not.toThrow();
    // 19 maps and an array of scalars.
    let mixed: unknown = { arrayValue: { values: [{ integerValue: "1" }] } };
    for (let i = 1; i < MAX_VALUE_DEPTH; i++) mixed = { mapValue: { fields: { m: mixed } } };
    expect(() => decodeFields({ m: mixed }, "fields")).not.toThrow();
  });
});

describe("decodeValue: rejections", () => {
  it.each<[unknown, string]>([
    // Shape of the Value itself.
    [null, "expected a Value object"],
    ["x", "expected a Value object"],
    [[], "expected a Value object"],
    [{}, "sets none"],
    [{ stringValue: "a", integerValue: "1" }, "more than one"],
    [{ stringValue: "a", string_value: "b" }, "more than one"],
    [{ fooValue: 1 }, 'unknown Value field "fooValue"'],
    [{ constructor: 1 }, 'unknown Value field "constructor"'],
    [{ stringValue: "a", extra: 1 }, 'unknown Value field "extra"'],
    [{ fieldReferenceValue: "a" }, "unknown Value field"],
    // null
    [{ nullValue: "NULL" }, "nullValue"],
    [{ nullValue: 1 }, "nullValue"],
    [{ nullValue: false }, "nullValue"],
    // boolean
    [{ booleanValue: "true" }, "booleanValue"],
    [{ booleanValue: 1 }, "booleanValue"],
    [{ booleanValue: null }, "booleanValue"],
    // integer
    [{ integerValue: "1.5" }, "integerValue"],
    [{ integerValue: "1e3" }, "integerValue"],
    [{ integerValue: "abc" }, "integerValue"],
    [{ integerValue: "" }, "integerValue"],
    [{ integerValue: " 1" }, "integerValue"],
    [{ integerValue: "0x10" }, "integerValue"],
    [{ integerValue: "--1" }, "integerValue"],
    [{ integerValue: "9223372036854775808" }, "out of int64 range"],
    [{ integerValue: "-9223372036854775809" }, "out of int64 range"],
    [{ integerValue: "99999999999999999999999" }, "out of int64 range"],
    [{ integerValue: 1.5 }, "integerValue"],
    [{ integerValue: 2 ** 63 }, "integerValue"],
    [{ integerValue: true }, "integerValue"],
    [{ integerValue: null }, "integerValue"],
    // double
    [{ doubleValue: "nan" }, "doubleValue"],
    [{ doubleValue: "inf" }, "doubleValue"],
    [{ doubleValue: "abc" }, "doubleValue"],
    [{ doubleValue: "" }, "doubleValue"],
    [{ doubleValue: "0x1" }, "doubleValue"],
    [{ doubleValue: " 1" }, "doubleValue"],
    [{ doubleValue: "1e400" }, "doubleValue"],
    [{ doubleValue: Number.POSITIVE_INFINITY }, "out of range"],
    [{ doubleValue: true }, "doubleValue"],
    [{ doubleValue: null }, "doubleValue"],
    // timestamp
    [{ timestampValue: "2023-11-14T22:13:20" }, "timezone offset"],
    [{ timestampValue: "yesterday" }, "Illegal timestamp format"],
    [{ timestampValue: 1700000000 }, "Illegal timestamp format"],
    [{ timestampValue: "10000-01-01T00:00:00Z" }, "Illegal timestamp format"],
    // string
    [{ stringValue: 1 }, "stringValue must be a string"],
    [{ stringValue: null }, "stringValue must be a string"],
    [{ stringValue: "a\ud800b" }, "lone surrogate"],
    [{ stringValue: "\udc00" }, "lone surrogate"],
    // bytes
    [{ bytesValue: "A" }, "bytesValue"],
    [{ bytesValue: "AQ=" }, "bytesValue"],
    [{ bytesValue: "AQ===" }, "bytesValue"],
    [{ bytesValue: "A=Q=" }, "bytesValue"],
    [{ bytesValue: "AQ ID" }, "bytesValue"],
    [{ bytesValue: "AQ*D" }, "bytesValue"],
    [{ bytesValue: "AQID\n" }, "bytesValue"],
    [{ bytesValue: 5 }, "bytesValue"],
    [{ bytesValue: [1, 2] }, "bytesValue"],
    // reference
    [{ referenceValue: "cities/LA" }, "not a document name"],
    [{ referenceValue: "projects/p/databases/d/documents" }, "not a document name"],
    [{ referenceValue: "projects/p/databases/d/documents/" }, "not a document name"],
    [{ referenceValue: "projects/p/databases/d/documents/cities" }, "not a document name"],
    [{ referenceValue: "projects/p/databases/d/documents/a/b/c" }, "not a document name"],
    [{ referenceValue: "projects/p/databases/d/documents/a//b/c" }, "not a document name"],
    [{ referenceValue: "projects/p/databases/d/documents/a/b/" }, "not a document name"],
    [{ referenceValue: "projects//databases/d/documents/a/b" }, "not a document name"],
    [{ referenceValue: "projects/p/databases/d/docs/a/b" }, "not a document name"],
    [{ referenceValue: 1 }, "referenceValue must be a string"],
    // geo point
    [{ geoPointValue: { latitude: 91, longitude: 0 } }, "latitude must be within [-90, 90]"],
    [{ geoPointValue: { latitude: -90.5, longitude: 0 } }, "latitude must be within [-90, 90]"],
    [{ geoPointValue: { latitude: 0, longitude: 180.1 } }, "longitude must be within [-180, 180]"],
    [{ geoPointValue: { latitude: "NaN", longitude: 0 } }, "latitude must be a finite number"],
    [{ geoPointValue: { latitude: 0, longitude: "Infinity" } }, "longitude must be a finite number"],
    [{ geoPointValue: { latitude: true } }, "latitude must be a finite number"],
    [{ geoPointValue: { latitude: 1, longitude: 2, altitude: 3 } }, 'unknown field "altitude"'],
    [{ geoPointValue: [1, 2] }, "geoPointValue must be an object"],
    [{ geoPointValue: null }, "geoPointValue must be an object"],
    // array
    [{ arrayValue: [] }, "arrayValue must be an object"],
    [{ arrayValue: null }, "arrayValue must be an object"],
    [{ arrayValue: { values: {} } }, "values must be a JSON array"],
    [{ arrayValue: { values: [], extra: 1 } }, 'unknown field "extra"'],
    [{ arrayValue: { value: [] } }, 'unknown field "value"'],
    // map
    [{ mapValue: [] }, "mapValue must be an object"],
    [{ mapValue: { fields: [] } }, "fields must be an object"],
    [{ mapValue: { fields: {}, other: 1 } }, 'unknown field "other"'],
    [{ mapValue: { fields: { "": { nullValue: null } } } }, "field names must not be empty"],
    [{ mapValue: { fields: { __foo__: { nullValue: null } } } }, "reserved"],
    [{ mapValue: { fields: { ok: { nullValue: null }, __x_y__: { nullValue: null } } } }, "reserved"],
    [{ mapValue: { fields: { ["x".repeat(1501)]: { nullValue: null } } } }, "at most 1500 bytes"],
    [{ mapValue: { fields: { ["\u00e9".repeat(751)]: { nullValue: null } } } }, "at most 1500 bytes"],
    [{ mapValue: { fields: { "a\ud800": { nullValue: null } } } }, "lone surrogate"],
  ])("%j", (json, reason) => {
    expectInvalid(() => decode(json), `'${W}`, reason);
  });

  it("rejects a literal __proto__ key without touching prototypes", () => {
    const json = JSON.parse('{"mapValue":{"fields":{"__proto__":{"nullValue":null}}}}');
    expectInvalid(() => decode(json), "reserved", '"__proto__"');
  });

  it("names nested locations", () => {
    const nested = {
      mapValue: { fields: { b: { arrayValue: { values: [{ nullValue: null }, { integerValue: "x" }] } } } },
    };
    expectInvalid(() => decode(nested), `'${W}.b[1]'`, "integerValue");
    const quoted = { mapValue: { fields: { "weird.key": { booleanValue: 1 } } } };
    expectInvalid(() => decode(quoted), `'${W}.\`weird.key\`'`);
    expectInvalid(
      () => decodeFields({ ok: { nullValue: null }, bad: {} }, "writes[3].update.fields"),
      "'writes[3].update.fields.bad'",
      "sets none",
    );
  });

  it("rejects an array directly inside an array", () => {
    const json = { arrayValue: { values: [{ integerValue: "1" }, { arrayValue: { values: [] } }] } };
    expectInvalid(() => decode(json), `'${W}[1]'`, "Cannot have an array directly inside an array");
    // ...but an array in a map in an array is fine.
    const ok = { arrayValue: { values: [{ mapValue: { fields: { x: { arrayValue: {} } } } }] } };
    expect(() => decode(ok)).not.toThrow();
  });

  it("rejects values nested too deeply", () => {
    let json: unknown = { mapValue: {} };
    for (let i = 0; i < MAX_VALUE_DEPTH; i++) json = { mapValue: { fields: { m: json } } };
    expectInvalid(() => decodeFields({ m: json }, "fields"), "'fields.m.m.m", "nested at most 20 levels");
    // 19 maps, then an array holding a map: 21 containers.
    let mixed: unknown = { arrayValue: { values: [{ integerValue: "1" }, { mapValue: {} }] } };
    for (let i = 1; i < MAX_VALUE_DEPTH; i++) mixed = { mapValue: { fields: { m: mixed } } };
    expectInvalid(() => decodeFields({ m: mixed }, "fields"), "[1]'", "nested at most 20 levels");
    // A deep value passed with a starting depth counts from there.
    expectInvalid(() => decodeValue({ arrayValue: {} }, "x", MAX_VALUE_DEPTH), "'x'", "nested");
    expect(decodeValue({ integerValue: "1" }, "x", MAX_VALUE_DEPTH)).toEqual({ integerValue: "1" });
  });

  it.each<[string, unknown]>([
    ["missing value", { __type__: { stringValue: "__vector__" } }],
    ["extra field", { __type__: { stringValue: "__vector__" }, value: { arrayValue: {} }, x: { nullValue: null } }],
    [
      "non-double element",
      { __type__: { stringValue: "__vector__" }, value: { arrayValue: { values: [{ integerValue: "1" }] } } },
    ],
    ["value not an array", { __type__: { stringValue: "__vector__" }, value: { doubleValue: 1 } }],
  ])("rejects malformed vectors: %s", (_, fields) => {
    expectInvalid(() => decode({ mapValue: { fields } }), `'${W}.__type__'`, "vector");
  });

  it.each<[string, unknown]>([
    ["other __type__", { __type__: { stringValue: "__int32__" }, value: { integerValue: "1" } }],
    ["non-string __type__", { __type__: { integerValue: "1" }, value: { arrayValue: {} } }],
    ["__max__", { __max__: { nullValue: null } }],
  ])("rejects other reserved names: %s", (_, fields) => {
    expectInvalid(() => decode({ mapValue: { fields } }), "reserved");
  });
});

describe("decodeFields", () => {
  it("decodes a document's fields", () => {
    expect(
      decodeFields(
        { a: { integerValue: "01" }, b: { mapValue: { fields: { c: { nullValue: "NULL_VALUE" } } } } },
        "document.fields",
      ),
    ).toEqual({ a: { integerValue: "1" }, b: { mapValue: { fields: { c: { nullValue: null } } } } });
    expect(decodeFields({}, "document.fields")).toEqual({});
  });

  it.each<[unknown, string]>([
    [null, "fields must be an object"],
    [[], "fields must be an object"],
    ["x", "fields must be an object"],
    [{ "": { nullValue: null } }, "must not be empty"],
    [{ __name__: { nullValue: null } }, "reserved"],
    [{ __type__: { stringValue: "__vector__" }, value: { arrayValue: {} } }, "reserved"],
    [{ a: { nullValue: null }, b: null }, "expected a Value object"],
  ])("rejects %j", (json, reason) => {
    expectInvalid(() => decodeFields(json, "document.fields"), "'document.fields", reason);
  });
});

describe("validateFieldName", () => {
  it("accepts ordinary and unusual names", () => {
    for (const name of [
      "a",
      "a.b",
      "`",
      "_",
      "__",
      "___",
      "__a",
      "a__",
      "_a_",
      "x".repeat(1500),
      "\u{1f600}",
      "__id5",
    ]) {
      expect(() => validateFieldName(name, "w")).not.toThrow();
    }
  });

  it.each([
    ["", "must not be empty"],
    ["____", "reserved"],
    ["__a__", "reserved"],
    ["__name__", "reserved"],
    ["__type__", "reserved"],
    ["__x\ny__", "reserved"],
    ["x".repeat(1501), "1500 bytes"],
    ["\u{1f600}".repeat(376), "1500 bytes"],
    ["\udfff", "lone surrogate"],
  ])("rejects %j", (name, reason) => {
    expectInvalid(() => validateFieldName(name, "writes[0].update.fields"), "'writes[0].update.fields'", reason);
  });
});
