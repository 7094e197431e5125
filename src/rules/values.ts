/**
 * The values security rules compute with, and Firestore's stored values converted to them.
 *
 * null, bool, int (`bigint`, int64), float (`number`), string and list (an array) are plain
 * JavaScript values; the rest are the classes below. Field values of documents come from their
 * proto3 JSON form (`{"integerValue": "1"}`, …).
 */

/** A failed evaluation (an undefined field, a type mismatch, …): the request is denied. */
export class RulesError extends Error {}

export type RValue =
  | null
  | boolean
  | bigint
  | number
  | string
  | readonly RValue[]
  | RMap
  | RSet
  | RBytes
  | RPath
  | RTimestamp
  | RDuration
  | RLatLng
  | RMapDiff
  | RNamespace
  | RUnknown;

export class RMap {
  constructor(readonly entries: ReadonlyMap<string, RValue>) {}

  static of(record: Record<string, RValue>): RMap {
    return new RMap(new Map(Object.entries(record)));
  }
}

export class RSet {
  readonly items: readonly RValue[];

  constructor(items: readonly RValue[]) {
    const unique: RValue[] = [];
    for (const item of items) if (!unique.some((u) => equals(u, item))) unique.push(item);
    this.items = unique;
  }

  has(value: RValue): boolean {
    return this.items.some((i) => equals(i, value));
  }
}

export class RBytes {
  constructor(readonly bytes: Uint8Array) {}
}

/** A path such as `/databases/(default)/documents/users/alice`. */
export class RPath {
  constructor(readonly segments: readonly string[]) {}

  toString(): string {
    return `/${this.segments.join("/")}`;
  }
}

/** A point in time, in nanoseconds since the epoch. */
export class RTimestamp {
  constructor(readonly nanos: bigint) {}
}

export class RDuration {
  constructor(readonly nanos: bigint) {}
}

export class RLatLng {
  constructor(
    readonly lat: number,
    readonly lng: number,
  ) {}
}

/** `map.diff(other)`: what changed from `other` (the left side) to `map`. */
export class RMapDiff {
  constructor(
    readonly before: RMap,
    readonly after: RMap,
  ) {}
}

/**
 * What a query does not pin down: a field of the documents it could return that no filter fixes,
 * or the id of any of them. Using it in an operation is an error (UnknownError), so a condition is
 * true only if it is true for every document the query could return ("rules are not filters").
 */
export class RUnknown {
  constructor(readonly what: string) {}
}

/** A bound of a query's range filter on a field. */
export interface Bound {
  value: RValue;
  inclusive: boolean;
}

/**
 * A field a query bounds but does not fix (`where("age", ">", 18)`): still unknown, except that a
 * comparison the bounds imply holds (`resource.data.age > 18`, `>= 10`).
 */
export class RRange extends RUnknown {
  constructor(
    what: string,
    readonly lower: Bound | undefined,
    readonly upper: Bound | undefined,
  ) {
    super(what);
  }
}

/** A condition depends on something the query leaves open: it is not true for every result. */
export class UnknownError extends RulesError {}

/**
 * The fields of the documents a query could return: the ones its filters fix (equality), and any
 * other is unknown. Listing its keys is unknown too.
 */
export class RPartialMap extends RMap {
  constructor(
    entries: ReadonlyMap<string, RValue>,
    readonly what: string,
  ) {
    super(entries);
  }
}

/** A namespace of functions (`math`, `timestamp`, `duration`, `latlng`, `hashing`, `string`). */
export class RNamespace {
  constructor(readonly name: string) {}
}

export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

export function typeName(v: RValue): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "boolean":
      return "bool";
    case "bigint":
      return "int";
    case "number":
      return "float";
    case "string":
      return "string";
  }
  if (Array.isArray(v)) return "list";
  if (v instanceof RMap) return "map";
  if (v instanceof RSet) return "set";
  if (v instanceof RBytes) return "bytes";
  if (v instanceof RPath) return "path";
  if (v instanceof RTimestamp) return "timestamp";
  if (v instanceof RDuration) return "duration";
  if (v instanceof RLatLng) return "latlng";
  if (v instanceof RMapDiff) return "map_diff";
  if (v instanceof RUnknown) return "unknown";
  return "namespace";
}

/** `==`: values of different types are unequal (an int and a float compare as numbers). */
export function equals(a: RValue, b: RValue): boolean {
  if (a === null || b === null) return a === b;
  if ((typeof a === "bigint" || typeof a === "number") && (typeof b === "bigint" || typeof b === "number")) {
    return typeof a === typeof b ? a === b : Number(a) === Number(b);
  }
  if (typeof a !== "object" || typeof b !== "object") return a === b;
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => equals(x, b[i] as RValue));
  if (a instanceof RMap) {
    if (!(b instanceof RMap) || a.entries.size !== b.entries.size) return false;
    for (const [k, v] of a.entries) if (!b.entries.has(k) || !equals(v, b.entries.get(k) as RValue)) return false;
    return true;
  }
  if (a instanceof RSet)
    return b instanceof RSet && a.items.length === b.items.length && a.items.every((x) => b.has(x));
  if (a instanceof RBytes) {
    return b instanceof RBytes && a.bytes.length === b.bytes.length && a.bytes.every((x, i) => x === b.bytes[i]);
  }
  if (a instanceof RPath) return b instanceof RPath && a.toString() === b.toString();
  if (a instanceof RTimestamp) return b instanceof RTimestamp && a.nanos === b.nanos;
  if (a instanceof RDuration) return b instanceof RDuration && a.nanos === b.nanos;
  if (a instanceof RLatLng) return b instanceof RLatLng && a.lat === b.lat && a.lng === b.lng;
  return false;
}

/** `<` and friends: numbers, strings, bytes, timestamps, durations (and lists of those); else an error. */
export function compare(a: RValue, b: RValue): number {
  const num = (x: RValue) => typeof x === "bigint" || typeof x === "number";
  if (num(a) && num(b)) {
    if (typeof a === "bigint" && typeof b === "bigint") return a < b ? -1 : a > b ? 1 : 0;
    const x = Number(a);
    const y = Number(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return Number.NaN;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === "string" && typeof b === "string") return compareCodePoints(a, b);
  if (a instanceof RTimestamp && b instanceof RTimestamp) return a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0;
  if (a instanceof RDuration && b instanceof RDuration) return a.nanos < b.nanos ? -1 : a.nanos > b.nanos ? 1 : 0;
  if (a instanceof RBytes && b instanceof RBytes) {
    for (let i = 0; i < Math.min(a.bytes.length, b.bytes.length); i++) {
      const d = (a.bytes[i] as number) - (b.bytes[i] as number);
      if (d !== 0) return Math.sign(d);
    }
    return Math.sign(a.bytes.length - b.bytes.length);
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const d = compare(a[i] as RValue, b[i] as RValue);
      if (d !== 0) return d;
    }
    return Math.sign(a.length - b.length);
  }
  throw new RulesError(`Cannot compare ${typeName(a)} with ${typeName(b)}.`);
}

/** `compare`, with NaN for values that cannot be compared (instead of an error). */
export function compareOrNaN(a: RValue, b: RValue): number {
  try {
    return compare(a, b);
  } catch {
    return Number.NaN;
  }
}

function compareCodePoints(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = (x[i] as string).codePointAt(0)! - (y[i] as string).codePointAt(0)!;
    if (d !== 0) return Math.sign(d);
  }
  return Math.sign(x.length - y.length);
}

/** A Firestore value in proto3 JSON (`{"stringValue": "x"}`, …) as a rules value. */
export function fromFirestore(value: unknown): RValue {
  const v = value as Record<string, unknown>;
  if ("nullValue" in v) return null;
  if ("booleanValue" in v) return v.booleanValue === true;
  if ("integerValue" in v) return BigInt(v.integerValue as string);
  if ("doubleValue" in v) return Number(v.doubleValue);
  if ("stringValue" in v) return v.stringValue as string;
  if ("timestampValue" in v) return timestampFromText(v.timestampValue as string);
  if ("bytesValue" in v) return new RBytes(Uint8Array.from(atob(v.bytesValue as string), (c) => c.charCodeAt(0)));
  if ("referenceValue" in v) {
    // projects/{p}/databases/{d}/documents/… → /databases/{d}/documents/…
    const segments = (v.referenceValue as string).split("/");
    return new RPath(segments.slice(2));
  }
  if ("geoPointValue" in v) {
    const g = v.geoPointValue as { latitude?: number; longitude?: number };
    return new RLatLng(g.latitude ?? 0, g.longitude ?? 0);
  }
  if ("arrayValue" in v) return ((v.arrayValue as { values?: unknown[] }).values ?? []).map(fromFirestore);
  if ("mapValue" in v) return fieldsToMap((v.mapValue as { fields?: Record<string, unknown> }).fields ?? {});
  throw new RulesError(`Unknown Firestore value ${JSON.stringify(value).slice(0, 80)}.`);
}

export function fieldsToMap(fields: Record<string, unknown>): RMap {
  return new RMap(new Map(Object.entries(fields).map(([k, v]) => [k, fromFirestore(v)])));
}

/** RFC 3339 (as Firestore renders timestamps) to nanoseconds since the epoch. */
export function timestampFromText(text: string): RTimestamp {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(text);
  if (!m) throw new RulesError(`Not a timestamp: ${text}.`);
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) throw new RulesError(`Not a timestamp: ${text}.`);
  const fraction = BigInt((m[2] ?? "").padEnd(9, "0") || "0");
  return new RTimestamp(BigInt(ms) * 1_000_000n + fraction);
}
