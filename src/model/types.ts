/**
 * The internal data model: Firestore values in *canonical* proto3 JSON form.
 *
 * Every value that enters the system is normalised by `src/validation/values.ts` into exactly one
 * of these shapes, so equality of canonical forms is cheap and the stored JSON is also what we
 * send back to clients (proto3 JSON, which every official SDK parses).
 *
 * Canonical rules:
 * - `nullValue` is always `null`.
 * - `integerValue` is a decimal string without leading zeros or `+`, in int64 range, `"0"` for zero.
 * - `doubleValue` is a finite JS number other than -0, or one of the strings `"NaN"`, `"Infinity"`,
 *   `"-Infinity"`, `"-0"` (JSON numbers cannot carry those; every SDK reads them via `Number()`).
 * - `timestampValue` is RFC 3339 UTC with exactly six fractional digits (Firestore stores
 *   microseconds; extra precision is truncated), e.g. `"2023-11-14T22:13:20.123000Z"`. Being fixed
 *   width between years 0001 and 9999, canonical timestamps compare correctly as strings.
 * - `bytesValue` is standard base64 with padding.
 * - `referenceValue` is a full document resource name `projects/{p}/databases/{d}/documents/{path}`.
 * - `geoPointValue` always carries both `latitude` and `longitude` (finite numbers, -0 kept as 0).
 * - `arrayValue.values` and `mapValue.fields` are always present (possibly empty).
 */
export type Value =
  | { nullValue: null }
  | { booleanValue: boolean }
  | { integerValue: string }
  | { doubleValue: number | DoubleString }
  | { timestampValue: string }
  | { stringValue: string }
  | { bytesValue: string }
  | { referenceValue: string }
  | { geoPointValue: { latitude: number; longitude: number } }
  | { arrayValue: { values: Value[] } }
  | { mapValue: { fields: Fields } };

export type DoubleString = "NaN" | "Infinity" | "-Infinity" | "-0";

/** A document's (or map's) fields. */
export type Fields = Record<string, Value>;

/** Microseconds since the Unix epoch. Commit, update and read times are all this unit. */
export type Micros = number;

/** A stored document as the Durable Object returns it (path relative to the database root). */
export interface StoredDocument {
  /** Document path relative to `…/documents`, e.g. `"cities/SF/landmarks/1"`. */
  path: string;
  /** The fields map, canonical proto3 JSON, as a JSON string (spliced into responses unparsed). */
  fields: string;
  createTime: Micros;
  updateTime: Micros;
}

/** A dotted field path split into its segments (`a.b` → `["a","b"]`, `` `x.y` `` → `["x.y"]`). */
export type FieldPathSegments = readonly string[];

/** `Precondition` from write.proto / common.proto. */
export type Precondition = { exists: boolean } | { updateTime: Micros };

/** One field transform (`DocumentTransform.FieldTransform`). */
export type FieldTransform =
  | { field: FieldPathSegments; kind: "serverTimestamp" }
  | { field: FieldPathSegments; kind: "increment"; operand: Value }
  | { field: FieldPathSegments; kind: "maximum"; operand: Value }
  | { field: FieldPathSegments; kind: "minimum"; operand: Value }
  | { field: FieldPathSegments; kind: "appendMissingElements"; elements: Value[] }
  | { field: FieldPathSegments; kind: "removeAllFromArray"; elements: Value[] };

/**
 * A validated `Write`. `path` is the document path relative to the database root.
 * - `update`: with `mask === undefined` replaces the document; with a mask (possibly empty) sets or
 *   deletes exactly the masked paths. The legacy `transform` operation arrives as an update with an
 *   empty mask.
 * - `delete`: removes the document.
 * - `verify`: checks the precondition and writes nothing (Firebase SDK transactions).
 */
export type Write =
  | {
      kind: "update";
      path: string;
      fields: Fields;
      mask?: FieldPathSegments[];
      transforms: FieldTransform[];
      precondition?: Precondition;
    }
  | { kind: "delete"; path: string; precondition?: Precondition }
  | { kind: "verify"; path: string; precondition?: Precondition };

/** `WriteResult`: `updateTime` absent for deletes and verifies. */
export interface WriteResult {
  updateTime?: Micros;
  transformResults?: Value[];
}
