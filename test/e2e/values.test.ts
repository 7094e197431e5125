/**
 * Every Firestore value type written and read back through the official SDKs, in both directions
 * (lite → admin, admin → lite), plus the canonical wire forms the server emits.
 */
import * as admin from "@google-cloud/firestore";
import * as lite from "firebase/firestore/lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { adminClient, type LiteClient, liteClient, rest, uniqueProject } from "./clients.js";

const PROJECT = uniqueProject("values");
let l: LiteClient;
let a: admin.Firestore;
let big: admin.Firestore;

beforeAll(() => {
  l = liteClient(PROJECT);
  a = adminClient(PROJECT);
  big = adminClient(PROJECT, { settings: { useBigInt: true } });
});

afterAll(async () => {
  await l.close();
  await a.terminate();
  await big.terminate();
});

/**
 * An SDK-neutral, exact form of a read value: numbers keep -0 and NaN distinguishable, special
 * types become tagged objects, map keys are sorted.
 */
function plain(v: unknown): unknown {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "bigint") return { $int: v.toString() };
  if (typeof v === "number") return Object.is(v, -0) ? "$-0" : Number.isNaN(v) ? "$NaN" : v;
  if (v instanceof lite.Timestamp || v instanceof admin.Timestamp) return { $ts: [v.seconds, v.nanoseconds] };
  if (v instanceof lite.Bytes) return { $bytes: v.toBase64() };
  if (Buffer.isBuffer(v)) return { $bytes: v.toString("base64") };
  if (v instanceof lite.GeoPoint || v instanceof admin.GeoPoint) return { $geo: [v.latitude, v.longitude] };
  if (v instanceof lite.DocumentReference || v instanceof admin.DocumentReference) return { $ref: v.path };
  if (v instanceof lite.VectorValue || v instanceof admin.VectorValue) return { $vec: v.toArray().map(plain) };
  if (Array.isArray(v)) return v.map(plain);
  if (typeof v === "object") {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, plain(o[k])]),
    );
  }
  throw new Error(`unexpected value ${String(v)}`);
}

/** The expected plain form of the sample document (what both SDKs must read back). */
const EXPECTED = {
  nul: null,
  t: true,
  f: false,
  zero: 0,
  one: 1,
  neg: -42,
  maxSafe: Number.MAX_SAFE_INTEGER,
  minSafe: Number.MIN_SAFE_INTEGER,
  dbl: 3.25159,
  tiny: 5e-324,
  huge: 1.7976931348623157e308,
  nan: "$NaN",
  inf: Number.POSITIVE_INFINITY,
  ninf: Number.NEGATIVE_INFINITY,
  negZero: "$-0",
  // Timestamp(1700000000, 123456789) is stored with microsecond precision.
  tsNanos: { $ts: [1700000000, 123456000] },
  tsDate: { $ts: [1700000000, 123000000] },
  tsPreEpoch: { $ts: [-1, 999999000] },
  tsMin: { $ts: [-62135596800, 0] },
  tsMax: { $ts: [253402300799, 999999000] },
  empty: "",
  str: "héllo wörld",
  nonBmp: "😀 𝄞 𠜎 emoji and astral",
  nulChar: "a\u0000b",
  bytes: { $bytes: Buffer.from([0, 1, 2, 127, 128, 254, 255]).toString("base64") },
  emptyBytes: { $bytes: "" },
  ref: { $ref: "cities/SF" },
  nestedRef: { $ref: "a/b/c/d" },
  geo: { $geo: [37.7749, -122.4194] },
  geoEdge: { $geo: [-90, 180] },
  arr: [1, "two", null, true, { inner: [3, { deep: "x" }] }],
  map: { a: { b: { c: [1, 2, { d: [] }] } }, e: {} },
  emptyMap: {},
  emptyArr: [],
  "key.with.dots": "dotted",
  "ünïcødé key 😀": "unicode key",
  vec: { $vec: [1, 2, 3] },
  vecFrac: { $vec: [0.5, -1.25, 1e-10] },
};

function liteSample(db: lite.Firestore): lite.DocumentData {
  return {
    nul: null,
    t: true,
    f: false,
    zero: 0,
    one: 1,
    neg: -42,
    maxSafe: Number.MAX_SAFE_INTEGER,
    minSafe: Number.MIN_SAFE_INTEGER,
    dbl: 3.25159,
    tiny: 5e-324,
    huge: 1.7976931348623157e308,
    nan: Number.NaN,
    inf: Number.POSITIVE_INFINITY,
    ninf: Number.NEGATIVE_INFINITY,
    negZero: -0,
    tsNanos: new lite.Timestamp(1700000000, 123456789),
    tsDate: new Date(1700000000123),
    tsPreEpoch: new lite.Timestamp(-1, 999999999),
    tsMin: new lite.Timestamp(-62135596800, 0),
    tsMax: new lite.Timestamp(253402300799, 999999999),
    empty: "",
    str: "héllo wörld",
    nonBmp: "😀 𝄞 𠜎 emoji and astral",
    nulChar: "a\u0000b",
    bytes: lite.Bytes.fromUint8Array(new Uint8Array([0, 1, 2, 127, 128, 254, 255])),
    emptyBytes: lite.Bytes.fromUint8Array(new Uint8Array([])),
    ref: lite.doc(db, "cities/SF"),
    nestedRef: lite.doc(db, "a/b/c/d"),
    geo: new lite.GeoPoint(37.7749, -122.4194),
    geoEdge: new lite.GeoPoint(-90, 180),
    arr: [1, "two", null, true, { inner: [3, { deep: "x" }] }],
    map: { a: { b: { c: [1, 2, { d: [] }] } }, e: {} },
    emptyMap: {},
    emptyArr: [],
    "key.with.dots": "dotted",
    "ünïcødé key 😀": "unicode key",
    vec: lite.vector([1, 2, 3]),
    vecFrac: lite.vector([0.5, -1.25, 1e-10]),
  };
}

function adminSample(db: admin.Firestore): admin.DocumentData {
  return {
    nul: null,
    t: true,
    f: false,
    zero: 0,
    one: 1,
    neg: -42,
    maxSafe: Number.MAX_SAFE_INTEGER,
    minSafe: Number.MIN_SAFE_INTEGER,
    dbl: 3.25159,
    tiny: 5e-324,
    huge: 1.7976931348623157e308,
    nan: Number.NaN,
    inf: Number.POSITIVE_INFINITY,
    ninf: Number.NEGATIVE_INFINITY,
    // No -0: the admin SDK over REST serialises it with JSON.stringify, which sends
    // {"doubleValue":0} (a client limitation, captured on the wire). Admin *reading* -0 is covered.
    tsNanos: new admin.Timestamp(1700000000, 123456789),
    tsDate: new Date(1700000000123),
    tsPreEpoch: new admin.Timestamp(-1, 999999999),
    tsMin: new admin.Timestamp(-62135596800, 0),
    tsMax: new admin.Timestamp(253402300799, 999999999),
    empty: "",
    str: "héllo wörld",
    nonBmp: "😀 𝄞 𠜎 emoji and astral",
    nulChar: "a\u0000b",
    bytes: Buffer.from([0, 1, 2, 127, 128, 254, 255]),
    emptyBytes: Buffer.from([]),
    ref: db.doc("cities/SF"),
    nestedRef: db.doc("a/b/c/d"),
    geo: new admin.GeoPoint(37.7749, -122.4194),
    geoEdge: new admin.GeoPoint(-90, 180),
    arr: [1, "two", null, true, { inner: [3, { deep: "x" }] }],
    map: { a: { b: { c: [1, 2, { d: [] }] } }, e: {} },
    emptyMap: {},
    emptyArr: [],
    "key.with.dots": "dotted",
    "ünïcødé key 😀": "unicode key",
    vec: admin.FieldValue.vector([1, 2, 3]),
    vecFrac: admin.FieldValue.vector([0.5, -1.25, 1e-10]),
  };
}

/** What the admin sample reads back as (it has no -0, see adminSample). */
const { negZero: _negZero, ...EXPECTED_ADMIN } = EXPECTED;

const docPath = (name: string) => `projects/${PROJECT}/databases/(default)/documents/${name}`;

describe("value round-trips", () => {
  it("lite writes every value type and reads it back exactly", async () => {
    const ref = lite.doc(l.db, "values/lite");
    await lite.setDoc(ref, liteSample(l.db));
    const snap = await lite.getDoc(ref);
    expect(snap.exists()).toBe(true);
    expect(plain(snap.data())).toEqual(plain(EXPECTED));
    // The special numbers, checked without the plain() encoding too.
    expect(Object.is(snap.get("negZero"), -0)).toBe(true);
    expect(Number.isNaN(snap.get("nan"))).toBe(true);
    expect(snap.get("ref")).toBeInstanceOf(lite.DocumentReference);
    expect(lite.refEqual(snap.get("ref"), lite.doc(l.db, "cities/SF"))).toBe(true);
    expect(snap.get("vec")).toBeInstanceOf(lite.VectorValue);
    expect(snap.get("tsDate")).toBeInstanceOf(lite.Timestamp);
  });

  it("admin writes every value type and reads it back exactly", async () => {
    const ref = a.doc("values/admin");
    await ref.set(adminSample(a));
    const snap = await ref.get();
    expect(snap.exists).toBe(true);
    expect(plain(snap.data())).toEqual(plain(EXPECTED_ADMIN));
    expect(Number.isNaN(snap.get("nan"))).toBe(true);
    expect(Buffer.isBuffer(snap.get("bytes"))).toBe(true);
    expect(snap.get("ref")).toBeInstanceOf(admin.DocumentReference);
    expect((snap.get("ref") as admin.DocumentReference).isEqual(a.doc("cities/SF"))).toBe(true);
    expect(snap.get("vec")).toBeInstanceOf(admin.VectorValue);
  });

  it("what lite writes, admin reads identically, and vice versa", async () => {
    await lite.setDoc(lite.doc(l.db, "values/cross-lite"), liteSample(l.db));
    await a.doc("values/cross-admin").set(adminSample(a));
    const fromLite = await a.doc("values/cross-lite").get();
    const fromAdmin = await lite.getDoc(lite.doc(l.db, "values/cross-admin"));
    expect(plain(fromLite.data())).toEqual(plain(EXPECTED));
    expect(Object.is(fromLite.get("negZero"), -0)).toBe(true);
    expect(plain(fromAdmin.data())).toEqual(plain(EXPECTED_ADMIN));
  });

  it("int64 extremes round-trip exactly through the admin SDK (useBigInt)", async () => {
    const ref = big.doc("values/int64");
    await ref.set({
      max: BigInt("9223372036854775807"),
      min: BigInt("-9223372036854775808"),
      beyondSafe: BigInt("9007199254740993"),
      nested: { arr: [BigInt("-9223372036854775807"), 1] },
    });
    const snap = await ref.get();
    expect(snap.get("max")).toBe(BigInt("9223372036854775807"));
    expect(snap.get("min")).toBe(BigInt("-9223372036854775808"));
    expect(snap.get("beyondSafe")).toBe(BigInt("9007199254740993"));
    expect(snap.get("nested.arr")).toEqual([BigInt("-9223372036854775807"), BigInt(1)]);

    // On the wire they are decimal strings, not rounded doubles.
    const res = await rest("POST", `projects/${PROJECT}/databases/(default)/documents:batchGet`, {
      documents: [docPath("values/int64")],
    });
    expect(res.status).toBe(200);
    const fields = (res.json as [{ found: { fields: Record<string, unknown> } }])[0].found.fields;
    expect(fields.max).toEqual({ integerValue: "9223372036854775807" });
    expect(fields.min).toEqual({ integerValue: "-9223372036854775808" });
    expect(fields.beyondSafe).toEqual({ integerValue: "9007199254740993" });
  });

  it("the server emits canonical proto3 JSON for special doubles, timestamps and integers", async () => {
    const res = await rest("POST", `projects/${PROJECT}/databases/(default)/documents:batchGet`, {
      documents: [docPath("values/lite")],
    });
    expect(res.status).toBe(200);
    const body = res.json as [
      {
        found: { fields: Record<string, Record<string, unknown>>; createTime: string; updateTime: string };
        readTime: string;
      },
    ];
    const f = body[0].found.fields;
    expect(f.nan).toEqual({ doubleValue: "NaN" });
    expect(f.inf).toEqual({ doubleValue: "Infinity" });
    expect(f.ninf).toEqual({ doubleValue: "-Infinity" });
    // -0 may be written as the number -0 or the string "-0"; either must parse to -0.
    expect(Object.is(Number(f.negZero?.doubleValue), -0)).toBe(true);
    expect(f.one).toEqual({ integerValue: "1" });
    expect(f.dbl).toEqual({ doubleValue: 3.25159 });
    expect(f.nul).toEqual({ nullValue: null });
    // Timestamps: RFC 3339 UTC, never more than microsecond precision.
    const ts = String(f.tsNanos?.timestampValue);
    expect(ts).toMatch(/^2023-11-14T22:13:20\.123456(000)?Z$/);
    expect(String(f.tsMin?.timestampValue)).toMatch(/^0001-01-01T00:00:00(\.0+)?Z$/);
    expect(String(f.tsMax?.timestampValue)).toMatch(/^9999-12-31T23:59:59\.999999(000)?Z$/);
    expect(f.bytes).toEqual({ bytesValue: "AAECf4D+/w==" });
    expect(f.ref).toEqual({ referenceValue: docPath("cities/SF") });
    expect(f.geo).toEqual({ geoPointValue: { latitude: 37.7749, longitude: -122.4194 } });
    // Empty containers: `{}` or an explicitly empty `fields`/`values` are both valid proto3 JSON.
    expect([JSON.stringify({ mapValue: {} }), JSON.stringify({ mapValue: { fields: {} } })]).toContain(
      JSON.stringify(f.emptyMap),
    );
    expect([JSON.stringify({ arrayValue: {} }), JSON.stringify({ arrayValue: { values: [] } })]).toContain(
      JSON.stringify(f.emptyArr),
    );
    expect(f.vec).toEqual({
      mapValue: {
        fields: {
          __type__: { stringValue: "__vector__" },
          value: { arrayValue: { values: [{ doubleValue: 1 }, { doubleValue: 2 }, { doubleValue: 3 }] } },
        },
      },
    });
    for (const t of [body[0].found.createTime, body[0].found.updateTime, body[0].readTime]) {
      expect(t).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
    }
  });

  it("a document with no fields round-trips as empty (lite and admin)", async () => {
    await lite.setDoc(lite.doc(l.db, "values/empty"), {});
    const snapL = await lite.getDoc(lite.doc(l.db, "values/empty"));
    expect(snapL.exists()).toBe(true);
    expect(snapL.data()).toEqual({});
    const snapA = await a.doc("values/empty").get();
    expect(snapA.exists).toBe(true);
    expect(snapA.data()).toEqual({});
    expect(snapA.createTime).toBeDefined();
  });

  it("reads of a missing document report it as missing in both SDKs", async () => {
    const snapL = await lite.getDoc(lite.doc(l.db, "values/nope"));
    expect(snapL.exists()).toBe(false);
    expect(snapL.data()).toBeUndefined();
    const snapA = await a.doc("values/nope").get();
    expect(snapA.exists).toBe(false);
    expect(snapA.readTime).toBeInstanceOf(admin.Timestamp);
    const [x, y] = await a.getAll(a.doc("values/lite"), a.doc("values/nope"));
    expect(x?.exists).toBe(true);
    expect(y?.exists).toBe(false);
  });

  it("admin getAll with a field mask returns only the masked fields", async () => {
    const [snap] = await a.getAll(a.doc("values/admin"), {
      fieldMask: ["str", "map.a.b", new admin.FieldPath("key.with.dots")],
    });
    expect(plain(snap?.data())).toEqual(
      plain({ str: EXPECTED.str, map: { a: { b: EXPECTED.map.a.b } }, "key.with.dots": "dotted" }),
    );
  });
});
