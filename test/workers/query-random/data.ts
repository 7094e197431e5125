/**
 * Random documents of mixed types for the differential query test.
 *
 * Values are proto3-JSON `Value`s. The pools deliberately contain the awkward cases of Firestore's
 * value order: int64 extremes and 2^53 / 2^63 neighbours (int vs double), NaN, ±Infinity, -0 vs 0,
 * 1 vs 1.0, non-BMP strings vs U+FFFF (UTF-8 vs UTF-16 order), strings that are prefixes of each
 * other and strings with NUL, bytes with 0x00 / 0xFF, numeric document ids in references,
 * timestamps at both ends of the range and with truncated precision, geopoints, vectors of several
 * lengths, nested maps and arrays.
 */
import type { Rng } from "./prng.js";

/** A proto3-JSON Value. */
export type V = Record<string, unknown>;

export const nul: V = { nullValue: null };
export const bool = (b: boolean): V => ({ booleanValue: b });
export const int = (n: number | string): V => ({ integerValue: String(n) });
export const dbl = (n: number | string): V => ({ doubleValue: n });
export const str = (s: string): V => ({ stringValue: s });
export const bytes = (b64: string): V => ({ bytesValue: b64 });
export const ts = (t: string): V => ({ timestampValue: t });
export const geo = (latitude: number, longitude: number): V => ({ geoPointValue: { latitude, longitude } });
export const arr = (...values: V[]): V => ({ arrayValue: { values } });
export const map = (fields: Record<string, V>): V => ({ mapValue: { fields } });
export const vec = (...n: number[]): V => map({ __type__: str("__vector__"), value: arr(...n.map((x) => dbl(x))) });

export const NUMBERS: V[] = [
  int(0),
  int(1),
  int(-1),
  int(2),
  int(3),
  int(42),
  int("9223372036854775807"),
  int("-9223372036854775808"),
  int("9223372036854775806"),
  int("9007199254740993"),
  int("9007199254740992"),
  dbl(1),
  dbl(2),
  dbl(0.5),
  dbl(-2.5),
  dbl("-0"),
  dbl(0),
  dbl("NaN"),
  dbl("Infinity"),
  dbl("-Infinity"),
  dbl(1e300),
  dbl(-1e-300),
  dbl(2 ** 53),
  dbl(2 ** 63),
  dbl(-(2 ** 63)),
  dbl(41.99999999999999),
];

export const STRINGS: V[] = [
  str(""),
  str("a"),
  str("ab"),
  str("abc"),
  str("abd"),
  str("b"),
  str("B"),
  str("Z"),
  str("é"),
  str("\u{1F600}"),
  str("\u{1F600}x"),
  str("\uFFFF"),
  str("\uFF5E"),
  str("a\u0000"),
  str("a\u0000b"),
  str("10"),
  str("9"),
  str(" "),
];

export const BYTES: V[] = [
  bytes(""),
  bytes("AA=="),
  bytes("AAE="),
  bytes("AQ=="),
  bytes("AQI="),
  bytes("/w=="),
  bytes("//8="),
];

export const TIMESTAMPS: V[] = [
  ts("0001-01-01T00:00:00Z"),
  ts("1969-12-31T23:59:59.999999Z"),
  ts("1970-01-01T00:00:00Z"),
  ts("2023-11-14T22:13:20.123Z"),
  ts("2023-11-14T22:13:20.123456Z"),
  ts("2023-11-14T22:13:20.1234567Z"),
  ts("9999-12-31T23:59:59.999999Z"),
];

export const GEOPOINTS: V[] = [geo(0, 0), geo(-90, -180), geo(90, 180), geo(1.5, -2), geo(0, 1), geo(-0.5, 0)];

export const VECTORS: V[] = [vec(1, 2), vec(1), vec(1, 2, 3), vec(0.5), vec(2, 1), vec(-1, 0)];

export const MAPS: V[] = [
  map({}),
  map({ x: int(1) }),
  map({ x: dbl(1) }),
  map({ x: str("a") }),
  map({ x: int(1), y: int(2) }),
  map({ y: int(1) }),
  map({ x: map({ z: int(1) }) }),
  // Looks like a vector but is not one (wrong __type__ value)… `__type__` is reserved, so use a near miss.
  map({ type: str("__vector__"), value: arr(dbl(1)) }),
];

/** Reference values: document paths under the test database, plus one in another project. */
export function references(root: string): V[] {
  const r = (p: string) => ({ referenceValue: `${root}/${p}` });
  return [
    r("c/d1"),
    r("c/d2"),
    r("c/d1/sub/x"),
    r("other/o1"),
    r("c/__id7__"),
    r("c/__id-3__"),
    r("c/__id10__"),
    r("a/b"),
    r("c/\u{1F600}"),
    { referenceValue: "projects/other/databases/(default)/documents/c/d1" },
  ];
}

/** Scalars (and small compounds) that appear inside arrays and as array-contains operands. */
export function elementPool(root: string): V[] {
  return [
    nul,
    bool(true),
    bool(false),
    int(1),
    int(2),
    dbl(1),
    dbl(2.5),
    dbl("NaN"),
    dbl("-0"),
    int("9223372036854775807"),
    str("a"),
    str("b"),
    str("\u{1F600}"),
    bytes("AQ=="),
    ts("1970-01-01T00:00:00Z"),
    geo(0, 0),
    map({ x: int(1) }),
    ...references(root).slice(0, 2),
    vec(1, 2),
  ];
}

export function randomArray(rng: Rng, root: string): V {
  const pool = elementPool(root);
  const n = rng.weighted([
    [2, 0],
    [4, 1],
    [4, 2],
    [2, 3],
    [1, 5],
  ] as const);
  return arr(...Array.from({ length: n }, () => rng.pick(pool)));
}

/** Every value kind, for fields of unconstrained type. */
export function anyValue(rng: Rng, root: string): V {
  return rng.weighted<() => V>([
    [3, () => nul],
    [3, () => bool(rng.chance(0.5))],
    [14, () => rng.pick(NUMBERS)],
    [4, () => rng.pick(TIMESTAMPS)],
    [12, () => rng.pick(STRINGS)],
    [3, () => rng.pick(BYTES)],
    [4, () => rng.pick(references(root))],
    [3, () => rng.pick(GEOPOINTS)],
    [5, () => randomArray(rng, root)],
    [3, () => rng.pick(VECTORS)],
    [4, () => rng.pick(MAPS)],
  ])();
}

/** A generated document: relative path and fields. */
export interface GenDoc {
  path: string;
  fields: Record<string, V>;
}

/** Fields of a "rich" document: every field optional, mixed types, biased per field. */
export function richFields(rng: Rng, root: string): Record<string, V> {
  const f: Record<string, V> = {};
  if (rng.chance(0.85)) f.a = anyValue(rng, root);
  if (rng.chance(0.8)) f.b = rng.chance(0.65) ? rng.pick(NUMBERS) : anyValue(rng, root);
  if (rng.chance(0.75)) f.c = rng.chance(0.6) ? rng.pick(STRINGS) : anyValue(rng, root);
  if (rng.chance(0.75)) {
    if (rng.chance(0.75)) {
      const m: Record<string, V> = {};
      if (rng.chance(0.8)) m.x = rng.chance(0.5) ? rng.pick(NUMBERS.slice(0, 12)) : anyValue(rng, root);
      if (rng.chance(0.3)) m.y = anyValue(rng, root);
      f.m = map(m);
    } else {
      f.m = anyValue(rng, root);
    }
  }
  if (rng.chance(0.7)) f.arr = rng.chance(0.8) ? randomArray(rng, root) : anyValue(rng, root);
  if (rng.chance(0.15)) f["x.y"] = int(rng.int(3));
  return f;
}

/** Fields of a document of the large collection: few distinct values per field. */
export function bigFields(rng: Rng, i: number): Record<string, V> {
  const f: Record<string, V> = {};
  f.a = rng.weighted([
    [85, int(1)],
    [9, int(2)],
    [3, dbl(1)],
    [2, str("s")],
    [1, nul],
  ] as const);
  if (rng.chance(0.95)) f.b = rng.chance(0.8) ? int(rng.int(200)) : dbl(rng.int(400) / 2);
  if (rng.chance(0.97)) f.c = bool(rng.chance(0.9));
  if (rng.chance(0.95)) f.m = map({ x: str(rng.chance(0.9) ? "p" : "q") });
  if (rng.chance(0.9)) f.arr = arr(...Array.from({ length: rng.int(4) }, () => int(rng.int(4))));
  if (i % 500 === 0) f.b = rng.pick([dbl("NaN"), nul, str("z"), dbl("Infinity")]);
  return f;
}

/** Document ids with awkward orderings (UTF-8 order, digits, non-BMP, numeric ids) plus plain ones. */
const SPECIAL_IDS = [
  "a",
  "A",
  "aa",
  "a b",
  "é",
  "\u{1F600}",
  "\uFFFF",
  "10",
  "9",
  "~",
  "d1",
  "d2",
  "__x",
  // Numeric ids: before every string id, in numeric order.
  "__id7__",
  "__id-3__",
  "__id10__",
  "__id9223372036854775807__",
  "__id-9223372036854775808__",
];

export interface Dataset {
  docs: GenDoc[];
  /** Relative paths of documents usable as URL parents (ASCII ids). */
  parents: string[];
  /** Paths of the missing parent documents (their subcollections exist). */
  missingParents: string[];
}

/** The whole dataset: ~`rich` rich documents across collections, and `big` documents in `big`. */
export function generateDataset(rng: Rng, root: string, rich = 150, big = 3000): Dataset {
  const docs: GenDoc[] = [];
  const add = (path: string, fields: Record<string, V>) => docs.push({ path, fields });
  const ids = new Set<string>(SPECIAL_IDS);
  while (ids.size < rich) ids.add(`d${rng.int(100000)}`);
  const cIds = [...ids];
  for (const id of cIds) add(`c/${id}`, richFields(rng, root));
  const asciiC = cIds.filter((id) => /^[a-z0-9]+$/.test(id));
  const parents: string[] = [];
  // Subcollections `sub` under some c documents, and a deeper `c` group below them.
  for (const id of rng.sample(asciiC, 25)) {
    parents.push(`c/${id}`);
    const n = rng.range(1, 4);
    for (let j = 0; j < n; j++) {
      const subId = rng.pick(["s1", "s2", "s3", "s4", "a", "d1", `s${rng.int(50)}`]);
      add(`c/${id}/sub/${subId}`, richFields(rng, root));
      if (rng.chance(0.3)) add(`c/${id}/sub/${subId}/c/${rng.pick(["x", "y", "d1"])}`, richFields(rng, root));
    }
  }
  // `other` with its own `sub` subcollections.
  for (let i = 0; i < 30; i++) {
    const id = `o${i}`;
    add(`other/${id}`, richFields(rng, root));
    if (rng.chance(0.3)) {
      parents.push(`other/${id}`);
      add(`other/${id}/sub/${rng.pick(["s1", "s2", "a"])}`, richFields(rng, root));
    }
  }
  // Subcollections under documents that do not exist.
  const missingParents = ["missing/m1", "missing/m2", "c/nodoc"];
  for (const p of missingParents) {
    for (let j = 0; j < 4; j++) add(`${p}/sub/s${j}`, richFields(rng, root));
  }
  // A root collection with the group's id.
  for (let i = 0; i < 6; i++) add(`sub/r${i}`, richFields(rng, root));
  // The large collection (ordered-scan plans).
  for (let i = 0; i < big; i++) add(`big/k${String(i).padStart(5, "0")}`, bigFields(rng, i));
  // Dedupe by path (random ids may repeat): last write wins on the server, so keep the last.
  const byPath = new Map<string, GenDoc>();
  for (const d of docs) byPath.set(d.path, d);
  return { docs: [...byPath.values()], parents: [...new Set(parents)], missingParents };
}

/**
 * Writes that change the dataset after it was first written, so the indexes are checked after
 * replacements, masked updates (fields set, changed type, or removed), transforms and deletes,
 * not only after inserts. Returns the writes (proto3 JSON, names relative) in commit order.
 */
export function modifications(
  rng: Rng,
  dataset: Dataset,
  root: string,
): { path: string; write: Record<string, unknown> }[] {
  const out: { path: string; write: Record<string, unknown> }[] = [];
  const maskable = ["a", "b", "c", "m", "m.x", "m.y", "arr", "`x.y`"];
  for (const doc of dataset.docs) {
    const big = doc.path.startsWith("big/");
    if (!rng.chance(big ? 0.06 : 0.25)) continue;
    const kind = rng.weighted([
      [3, "replace"],
      [4, "mask"],
      [big ? 3 : 1, "transform"],
      [2, "delete"],
    ] as const);
    if (kind === "delete") {
      out.push({ path: doc.path, write: { delete: doc.path } });
    } else if (kind === "replace") {
      out.push({
        path: doc.path,
        write: { update: { name: doc.path, fields: big ? bigFields(rng, 1) : richFields(rng, root) } },
      });
    } else if (kind === "mask") {
      // Masked paths absent from `fields` are deleted; present ones are set.
      const source = big ? bigFields(rng, 1) : richFields(rng, root);
      let paths = rng.sample(big ? ["a", "b", "c", "m.x", "arr"] : maskable, rng.range(1, 3));
      // Mask paths must not overlap (`m` and `m.x`).
      if (paths.includes("m")) paths = paths.filter((p) => !p.startsWith("m."));
      const fields: Record<string, V> = {};
      for (const p of paths) {
        if (p === "m.x" || p === "m.y") {
          if (rng.chance(0.7)) {
            const inner =
              (fields.m as { mapValue?: { fields: Record<string, V> } } | undefined)?.mapValue?.fields ?? {};
            inner[p.slice(2)] = anyValue(rng, root);
            fields.m = map(inner);
          }
        } else {
          const key = p === "`x.y`" ? "x.y" : p;
          const v = source[key];
          if (v !== undefined && rng.chance(0.8)) fields[key] = v;
        }
      }
      out.push({ path: doc.path, write: { update: { name: doc.path, fields }, updateMask: { fieldPaths: paths } } });
    } else {
      out.push({
        path: doc.path,
        write: {
          update: { name: doc.path, fields: {} },
          updateMask: { fieldPaths: [] },
          updateTransforms: [
            rng.chance(0.5)
              ? { fieldPath: "b", increment: rng.chance(0.5) ? int(1) : dbl(0.5) }
              : { fieldPath: "arr", appendMissingElements: { values: [int(rng.int(5))] } },
          ],
        },
      });
    }
  }
  return out;
}
