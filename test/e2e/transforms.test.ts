/**
 * Field transforms through both SDKs (serverTimestamp, increment, maximum, minimum, arrayUnion,
 * arrayRemove) and the write-result / updateTime rules: a write that changes nothing keeps the
 * previous updateTime.
 */
import * as admin from "@google-cloud/firestore";
import * as lite from "firebase/firestore/lite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  adminClient,
  docName,
  type LiteClient,
  liteClient,
  parseTs,
  rawCommit,
  rawGet,
  uniqueProject,
} from "./clients.js";

const PROJECT = uniqueProject("transforms");
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

const ldoc = (path: string) => lite.doc(l.db, path);
const raw = async (path: string) => (await rawGet(PROJECT, path))?.fields ?? {};

describe("serverTimestamp", () => {
  it("all server timestamps of one write get the same time, equal to its updateTime (lite)", async () => {
    await lite.setDoc(ldoc("st/lite"), {
      a: lite.serverTimestamp(),
      m: { b: lite.serverTimestamp(), c: 1 },
      plain: "x",
    });
    const snap = await lite.getDoc(ldoc("st/lite"));
    const t = snap.get("a") as lite.Timestamp;
    expect(t).toBeInstanceOf(lite.Timestamp);
    expect(t.isEqual(snap.get("m.b"))).toBe(true);
    expect(snap.get("m.c")).toBe(1);
    const adminSnap = await a.doc("st/lite").get();
    expect(adminSnap.updateTime?.seconds).toBe(t.seconds);
    expect(adminSnap.updateTime?.nanoseconds).toBe(t.nanoseconds);
    expect(Math.abs(t.toMillis() - Date.now())).toBeLessThan(60_000);
  });

  it("all documents of one batch get the same server time, equal to each writeTime (admin)", async () => {
    const batch = a.batch();
    batch.set(a.doc("st/b1"), { at: admin.FieldValue.serverTimestamp() });
    batch.set(a.doc("st/b2"), {
      at: admin.FieldValue.serverTimestamp(),
      n: { at: admin.FieldValue.serverTimestamp() },
    });
    batch.update(a.doc("st/b1"), { again: admin.FieldValue.serverTimestamp() });
    const results = await batch.commit();
    expect(results).toHaveLength(3);
    const [s1, s2] = await a.getAll(a.doc("st/b1"), a.doc("st/b2"));
    const t = s1?.get("at") as admin.Timestamp;
    for (const v of [s1?.get("again"), s2?.get("at"), s2?.get("n.at"), s1?.updateTime, s2?.updateTime]) {
      expect((v as admin.Timestamp).isEqual(t)).toBe(true);
    }
    for (const r of results) expect(r.writeTime.isEqual(t)).toBe(true);
  });

  it("serverTimestamp in update of a nested path; the result is reported in transformResults", async () => {
    await lite.setDoc(ldoc("st/nested"), { m: { keep: 1 } });
    await lite.updateDoc(ldoc("st/nested"), { "m.at": lite.serverTimestamp() });
    const snap = await lite.getDoc(ldoc("st/nested"));
    expect(snap.get("m.keep")).toBe(1);
    expect(snap.get("m.at")).toBeInstanceOf(lite.Timestamp);

    // Wire: one transformResult per transform, in order; serverTimestamp gives the commit time.
    const res = await rawCommit(PROJECT, [
      {
        update: { name: docName(PROJECT, "st/raw"), fields: { x: { integerValue: "1" } } },
        updateTransforms: [
          { fieldPath: "t", setToServerValue: "REQUEST_TIME" },
          { fieldPath: "x", increment: { integerValue: "2" } },
          { fieldPath: "arr", appendMissingElements: { values: [{ stringValue: "a" }] } },
          { fieldPath: "t2", setToServerValue: 1 },
        ],
      },
    ]);
    expect(res.status).toBe(200);
    const body = res.json as {
      writeResults: [{ updateTime: string; transformResults: Record<string, unknown>[] }];
      commitTime: string;
    };
    const wr = body.writeResults[0];
    expect(wr.transformResults).toHaveLength(4);
    expect(parseTs(String(wr.transformResults[0]?.timestampValue))).toEqual(parseTs(body.commitTime));
    expect(wr.transformResults[1]).toEqual({ integerValue: "3" });
    expect(wr.transformResults[2]).toEqual({ nullValue: null });
    expect(parseTs(String(wr.transformResults[3]?.timestampValue))).toEqual(parseTs(body.commitTime));
    expect(parseTs(wr.updateTime)).toEqual(parseTs(body.commitTime));
  });
});

describe("increment", () => {
  it("int + int stays an integer; any double makes the result a double", async () => {
    await lite.setDoc(ldoc("inc/types"), { i: 5, d: 1.5, mixedToInt: 2.5, s: "str", m: { i: 1 } });
    await lite.updateDoc(ldoc("inc/types"), {
      i: lite.increment(3),
      d: lite.increment(2),
      mixedToInt: lite.increment(0.5),
      s: lite.increment(7),
      missing: lite.increment(4),
      missingDbl: lite.increment(0.25),
      "m.i": lite.increment(-10),
    });
    const f = await raw("inc/types");
    expect(f.i).toEqual({ integerValue: "8" });
    expect(f.d).toEqual({ doubleValue: 3.5 });
    // 2.5 + 0.5 is a double 3, not the integer 3.
    expect(f.mixedToInt).toEqual({ doubleValue: 3 });
    // A non-numeric or missing field becomes the operand.
    expect(f.s).toEqual({ integerValue: "7" });
    expect(f.missing).toEqual({ integerValue: "4" });
    expect(f.missingDbl).toEqual({ doubleValue: 0.25 });
    expect(f.m).toEqual({ mapValue: { fields: { i: { integerValue: "-9" } } } });
    const snap = await lite.getDoc(ldoc("inc/types"));
    expect(snap.data()).toEqual({ i: 8, d: 3.5, mixedToInt: 3, s: 7, missing: 4, missingDbl: 0.25, m: { i: -9 } });
  });

  it("int + double is a double (admin), on a missing document with set-merge too", async () => {
    await a.doc("inc/admin").set({ n: admin.FieldValue.increment(2) }, { merge: true });
    await a.doc("inc/admin").update({ n: admin.FieldValue.increment(0.5) });
    expect((await raw("inc/admin")).n).toEqual({ doubleValue: 2.5 });
    expect((await a.doc("inc/admin").get()).get("n")).toBe(2.5);
  });

  it("integer increments saturate at the int64 bounds", async () => {
    const ref = big.doc("inc/saturate");
    await ref.set({
      hi: BigInt("9223372036854775807"),
      lo: BigInt("-9223372036854775808"),
      near: BigInt("9223372036854775800"),
    });
    await ref.update({
      hi: admin.FieldValue.increment(1),
      lo: admin.FieldValue.increment(-1),
      near: admin.FieldValue.increment(100),
    });
    const snap = await ref.get();
    expect(snap.get("hi")).toBe(BigInt("9223372036854775807"));
    expect(snap.get("lo")).toBe(BigInt("-9223372036854775808"));
    expect(snap.get("near")).toBe(BigInt("9223372036854775807"));
  });

  it("NaN and Infinity follow IEEE 754", async () => {
    await lite.setDoc(ldoc("inc/ieee"), { nan: Number.NaN, inf: Number.POSITIVE_INFINITY, x: 1 });
    await lite.updateDoc(ldoc("inc/ieee"), {
      nan: lite.increment(1),
      inf: lite.increment(-1),
      x: lite.increment(Number.NEGATIVE_INFINITY),
    });
    const snap = await lite.getDoc(ldoc("inc/ieee"));
    expect(Number.isNaN(snap.get("nan"))).toBe(true);
    expect(snap.get("inf")).toBe(Number.POSITIVE_INFINITY);
    expect(snap.get("x")).toBe(Number.NEGATIVE_INFINITY);
  });

  it("20 concurrent increments (admin) are all applied", async () => {
    const ref = a.doc("inc/concurrent");
    await ref.set({ n: 0 });
    await Promise.all(Array.from({ length: 20 }, () => ref.update({ n: admin.FieldValue.increment(1) })));
    expect((await ref.get()).get("n")).toBe(20);
  });
});

describe("transforms-only writes", () => {
  it("an update with only transforms (empty mask) keeps every other field", async () => {
    const ref = a.doc("tonly/update");
    await ref.set({ keep: "me", m: { k: 1 }, n: 1 });
    await ref.update({ n: admin.FieldValue.increment(1) });
    await ref.update("m.t", admin.FieldValue.serverTimestamp());
    const snap = await ref.get();
    expect(snap.get("keep")).toBe("me");
    expect(snap.get("n")).toBe(2);
    expect(snap.get("m.k")).toBe(1);
    expect((snap.get("m.t") as admin.Timestamp).isEqual(snap.updateTime as admin.Timestamp)).toBe(true);
  });

  it("a set (no merge) with only transforms replaces the document with the transformed fields", async () => {
    await lite.setDoc(ldoc("tonly/set"), { old: true, n: 5 });
    await lite.setDoc(ldoc("tonly/set"), { n: lite.increment(1), tags: lite.arrayUnion("a") });
    expect((await lite.getDoc(ldoc("tonly/set"))).data()).toEqual({ n: 1, tags: ["a"] });
  });

  it("transforms on dotted and escaped field paths", async () => {
    const ref = a.doc("tonly/paths");
    await ref.set({ "a.b": 1, a: { b: 10 }, "we`ird": { "x y": 1 } });
    await ref.update(
      new admin.FieldPath("a.b"),
      admin.FieldValue.increment(1),
      "a.b",
      admin.FieldValue.increment(100),
      new admin.FieldPath("we`ird", "x y"),
      admin.FieldValue.increment(2),
    );
    expect((await ref.get()).data()).toEqual({ "a.b": 2, a: { b: 110 }, "we`ird": { "x y": 3 } });
  });
});

describe("maximum / minimum", () => {
  it("keep the larger/smaller value, set missing fields, and follow the mixed-type rules", async () => {
    await lite.setDoc(ldoc("ext/lite"), { hi: 5, lo: 5, hiD: 2, loD: 2, eq: 3, s: "x", nan: 1 });
    await lite.updateDoc(ldoc("ext/lite"), {
      hi: lite.maximum(3),
      lo: lite.minimum(3),
      hiD: lite.maximum(2.5),
      loD: lite.minimum(1.5),
      eq: lite.maximum(3),
      s: lite.minimum(4),
      missing: lite.maximum(9),
      nan: lite.maximum(Number.NaN),
    });
    const f = await raw("ext/lite");
    expect(f.hi).toEqual({ integerValue: "5" });
    expect(f.lo).toEqual({ integerValue: "3" });
    // The winner keeps its own type.
    expect(f.hiD).toEqual({ doubleValue: 2.5 });
    expect(f.loD).toEqual({ doubleValue: 1.5 });
    expect(f.eq).toEqual({ integerValue: "3" });
    expect(f.s).toEqual({ integerValue: "4" });
    expect(f.missing).toEqual({ integerValue: "9" });
    expect(f.nan).toEqual({ doubleValue: "NaN" });
  });

  it("admin FieldValue.maximum/minimum", async () => {
    const ref = a.doc("ext/admin");
    await ref.set({ a: 10, b: 10 });
    await ref.update({ a: admin.FieldValue.maximum(20), b: admin.FieldValue.minimum(-0.5) });
    expect((await ref.get()).data()).toEqual({ a: 20, b: -0.5 });
  });
});

describe("arrayUnion / arrayRemove", () => {
  it("arrayUnion appends only missing elements, deduplicating the operand too", async () => {
    await lite.setDoc(ldoc("arr/union"), { a: [1, 2, { m: 1 }, null], s: "not an array" });
    await lite.updateDoc(ldoc("arr/union"), {
      a: lite.arrayUnion(2, 3, 3, { m: 1 }, { m: 2 }, null, Number.NaN, Number.NaN),
      s: lite.arrayUnion("x"),
      missing: lite.arrayUnion("y", "y"),
    });
    const snap = await lite.getDoc(ldoc("arr/union"));
    expect(snap.get("a")).toEqual([1, 2, { m: 1 }, null, 3, { m: 2 }, Number.NaN]);
    expect(snap.get("s")).toEqual(["x"]);
    expect(snap.get("missing")).toEqual(["y"]);
  });

  it("arrayRemove removes every equal element; missing or non-array fields become []", async () => {
    await a.doc("arr/remove").set({ a: [1, 2, 1, "1", { m: 1 }, null, 2], s: "str", keep: [1] });
    await a.doc("arr/remove").update({
      a: admin.FieldValue.arrayRemove(1, { m: 1 }, null, 99),
      s: admin.FieldValue.arrayRemove(1),
      missing: admin.FieldValue.arrayRemove(1),
    });
    expect((await a.doc("arr/remove").get()).data()).toEqual({ a: [2, "1", 2], s: [], missing: [], keep: [1] });
  });

  it("3 and 3.0 are equal for arrayUnion and arrayRemove", async () => {
    // The SDKs cannot write a double 3.0 directly (JS 3 is sent as an integer): set it up over REST.
    const setup = await rawCommit(PROJECT, [
      {
        update: {
          name: docName(PROJECT, "arr/numeq"),
          fields: {
            u: { arrayValue: { values: [{ doubleValue: 3 }, { doubleValue: 4.5 }] } },
            r: {
              arrayValue: {
                values: [{ doubleValue: 3 }, { integerValue: "3" }, { doubleValue: 4.5 }, { integerValue: "7" }],
              },
            },
          },
        },
      },
    ]);
    expect(setup.status).toBe(200);
    await lite.updateDoc(ldoc("arr/numeq"), { u: lite.arrayUnion(3, 7), r: lite.arrayRemove(3) });
    const f = await raw("arr/numeq");
    expect(f.u).toEqual({ arrayValue: { values: [{ doubleValue: 3 }, { doubleValue: 4.5 }, { integerValue: "7" }] } });
    expect(f.r).toEqual({ arrayValue: { values: [{ doubleValue: 4.5 }, { integerValue: "7" }] } });
  });
});

describe("write results and updateTime", () => {
  it("a write that does not change the document keeps the previous updateTime (admin)", async () => {
    const ref = a.doc("wr/noop");
    const w1 = await ref.set({ a: 1, arr: [1, 2], m: { x: 1 } });
    // Identical set, update with the same values, arrayUnion of present elements, arrayRemove of
    // absent ones, increment by zero, delete of an absent field: none changes the document.
    const noops = [
      await ref.set({ a: 1, arr: [1, 2], m: { x: 1 } }),
      await ref.update({ a: 1 }),
      await ref.update({ arr: admin.FieldValue.arrayUnion(2, 1) }),
      await ref.update({ arr: admin.FieldValue.arrayRemove(3) }),
      await ref.update({ a: admin.FieldValue.increment(0) }),
      await ref.update({ nope: admin.FieldValue.delete() }),
      await ref.set({ m: { x: 1 } }, { merge: true }),
    ];
    for (const w of noops) expect(w.writeTime.isEqual(w1.writeTime)).toBe(true);
    const snap = await ref.get();
    expect(snap.updateTime?.isEqual(w1.writeTime)).toBe(true);
    expect(snap.createTime?.isEqual(w1.writeTime)).toBe(true);
    // A real change moves it.
    const w2 = await ref.update({ a: 2 });
    expect(w2.writeTime > w1.writeTime).toBe(true);
    expect((await ref.get()).updateTime?.isEqual(w2.writeTime)).toBe(true);
  });

  it("a serverTimestamp always changes the document", async () => {
    const ref = a.doc("wr/st");
    const w1 = await ref.set({ at: admin.FieldValue.serverTimestamp() });
    const w2 = await ref.set({ at: admin.FieldValue.serverTimestamp() });
    expect(w2.writeTime > w1.writeTime).toBe(true);
    expect(((await ref.get()).get("at") as admin.Timestamp).isEqual(w2.writeTime)).toBe(true);
  });

  it("a no-op write in a batch reports the old updateTime while the other writes get the commit time", async () => {
    const w0 = await a.doc("wr/batch-same").set({ v: 1 });
    const batch = a.batch();
    batch.set(a.doc("wr/batch-same"), { v: 1 });
    batch.set(a.doc("wr/batch-new"), { v: 2 });
    const [r1, r2] = await batch.commit();
    expect(r1?.writeTime.isEqual(w0.writeTime)).toBe(true);
    expect(r2?.writeTime.isEqual(w0.writeTime)).toBe(false);
    expect((await a.doc("wr/batch-new").get()).updateTime?.isEqual(r2?.writeTime as admin.Timestamp)).toBe(true);
  });

  it("commit times are strictly increasing across commits", async () => {
    const times: admin.Timestamp[] = [];
    for (let i = 0; i < 10; i++) times.push((await a.doc(`wr/seq${i % 2}`).set({ i })).writeTime);
    for (let i = 1; i < times.length; i++) {
      expect((times[i] as admin.Timestamp).valueOf() > (times[i - 1] as admin.Timestamp).valueOf()).toBe(true);
    }
  });

  it("a read's readTime is not before the updateTime of what it returns", async () => {
    const w = await a.doc("wr/readtime").set({ x: 1 });
    const snap = await a.doc("wr/readtime").get();
    expect(snap.readTime.valueOf() >= w.writeTime.valueOf()).toBe(true);
  });
});
