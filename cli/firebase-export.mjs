/**
 * Reads a folder written by `firebase emulators:export` (or `--export-on-exit`): the seed data
 * teams keep in their repositories. Its Firestore part is a Cloud Datastore export:
 *
 *   DIR/firebase-export-metadata.json            {"firestore": {"path": "firestore_export", …}}
 *   DIR/firestore_export/all_namespaces/all_kinds/output-0, output-1, …
 *
 * Each output file is a LevelDB log (32 KiB blocks of records, each with a masked CRC-32C, a
 * length and a type: FULL, or FIRST/MIDDLE…/LAST pieces of one record), and each record one
 * `EntityProto` (App Engine's storage format, proto2 with groups): the document's key (its path as
 * kind/name pairs, kind being the collection id) and its properties. Values follow the Datastore
 * encoding: `multiple` properties of one name are an array, meaning GD_WHEN an int64 of
 * microseconds a timestamp, ENTITY_PROTO a nested EntityProto a map, BLOB/BYTESTRING bytes,
 * EMPTY_LIST an empty array, a PointValue a geo point, a ReferenceValue a reference, and no value
 * null. An export carries no create or update times.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import CRC32C from "crc-32/crc32c.js";
import { CliError } from "./client.mjs";

const BLOCK = 32 * 1024;
const HEADER = 7;
const FULL = 1;
const FIRST = 2;
const MIDDLE = 3;
const LAST = 4;

/** Datastore's Property.Meaning values that change how a value reads. */
const GD_WHEN = 7;
const BLOB = 14;
const BYTESTRING = 16;
const ENTITY_PROTO = 19;
const EMPTY_LIST = 24;

/** Whether `dir` holds a Firebase emulator export with Firestore data. */
export function isFirebaseExport(dir) {
  return existsSync(join(dir, "firebase-export-metadata.json"));
}

/** The Firestore export folder of a Firebase emulator export, and its output files in order. */
export function firebaseExportFiles(dir) {
  let meta;
  try {
    meta = JSON.parse(readFileSync(join(dir, "firebase-export-metadata.json"), "utf8"));
  } catch (e) {
    throw new CliError(`${dir}/firebase-export-metadata.json: ${e.message}`);
  }
  if (!meta.firestore) throw new CliError(`${dir} is a Firebase export without Firestore data.`);
  const root = join(dir, meta.firestore.path ?? "firestore_export");
  const files = [];
  const walk = (folder) => {
    for (const entry of readdirSync(folder, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.isDirectory()) walk(join(folder, entry.name));
      else if (/^output-\d+$/.test(entry.name)) files.push(join(folder, entry.name));
    }
  };
  if (!existsSync(root)) throw new CliError(`${root} is missing (named in firebase-export-metadata.json).`);
  walk(root);
  return files.sort((a, b) => {
    const n = (f) => Number(/output-(\d+)$/.exec(f)[1]);
    return a.slice(0, a.lastIndexOf("/")).localeCompare(b.slice(0, b.lastIndexOf("/"))) || n(a) - n(b);
  });
}

/** LevelDB's CRC mask. */
function masked(crc) {
  const c = crc >>> 0;
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** The records of one LevelDB log file (`file` names it in errors). */
export function* logRecords(bytes, file) {
  let pending = null;
  let offset = 0;
  while (offset < bytes.length) {
    const left = BLOCK - (offset % BLOCK);
    if (left < HEADER) {
      offset += left; // the block's trailer
      continue;
    }
    if (offset + HEADER > bytes.length) break;
    const crc = bytes.readUInt32LE(offset);
    const length = bytes.readUInt16LE(offset + 4);
    const type = bytes[offset + 6];
    if (type === 0 && length === 0) {
      offset += left; // zero padding to the block's end
      continue;
    }
    const start = offset + HEADER;
    const end = start + length;
    if (end > bytes.length || length > left - HEADER)
      throw new CliError(`${file}: a record at byte ${offset} is cut short.`);
    const data = bytes.subarray(start, end);
    const expected = masked(CRC32C.buf(data, CRC32C.buf(Uint8Array.of(type))));
    if (crc !== expected) throw new CliError(`${file}: the record at byte ${offset} fails its checksum.`);
    offset = end;
    if (type === FULL) yield data;
    else if (type === FIRST) pending = [data];
    else if (type === MIDDLE && pending) pending.push(data);
    else if (type === LAST && pending) {
      pending.push(data);
      yield Buffer.concat(pending);
      pending = null;
    } else throw new CliError(`${file}: an unexpected record of type ${type} at byte ${offset - length - HEADER}.`);
  }
}

/** A minimal protobuf reader (proto2 groups included). */
class Reader {
  constructor(bytes, pos = 0, end = bytes.length) {
    this.bytes = bytes;
    this.pos = pos;
    this.end = end;
  }

  varint() {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new CliError("a protobuf varint is cut short");
      const b = this.bytes[this.pos++];
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  }

  /** The next field's number and wire type, or null at the end (of the message, or of `group`). */
  next(group) {
    if (this.pos >= this.end) return null;
    const tag = Number(this.varint());
    const field = tag >>> 3;
    const wire = tag & 7;
    if (wire === 4) {
      if (field !== group) throw new CliError(`an unexpected end of group ${field}`);
      return null;
    }
    return { field, wire };
  }

  bytesField() {
    const length = Number(this.varint());
    const start = this.pos;
    this.pos += length;
    if (this.pos > this.end) throw new CliError("a protobuf field is cut short");
    return this.bytes.subarray(start, this.pos);
  }

  double() {
    const v = this.bytes.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  /** Skips a field that is not a group (see skipField). */
  skip(wire) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytesField();
    else if (wire === 5) this.pos += 4;
    else throw new CliError(`an unknown protobuf wire type ${wire}`);
  }
}

/** Reads fields until the end of the message (or of `group`), calling `on(field, wire)`; unknown ones are skipped. */
function fields(reader, on, group) {
  for (let f = reader.next(group); f; f = reader.next(group)) {
    if (!on(f.field, f.wire)) skipField(reader, f.wire, f.field);
  }
}

function skipField(reader, wire, field) {
  if (wire === 3) fields(reader, () => false, field);
  else reader.skip(wire);
}

const text = (b) => Buffer.from(b).toString("utf8");

/** A key path (Path message, or a ReferenceValue's PathElement groups): [collection, id, …]. */
function pathElement(reader, group, typeField, idField, nameField) {
  let kind;
  let id;
  fields(
    reader,
    (field, wire) => {
      if (field === typeField && wire === 2) kind = text(reader.bytesField());
      else if (field === idField && wire === 0) id = String(reader.varint());
      else if (field === nameField && wire === 2) id = text(reader.bytesField());
      else return false;
      return true;
    },
    group,
  );
  if (kind === undefined || id === undefined) throw new CliError("a key path element without a kind or an id");
  return [kind, id];
}

/** Reference: `{app, segments}`. */
function reference(bytes) {
  const reader = new Reader(bytes);
  let app = "";
  const segments = [];
  fields(reader, (field, wire) => {
    if (field === 13 && wire === 2) app = text(reader.bytesField());
    else if (field === 14 && wire === 2) {
      const inner = new Reader(reader.bytesField());
      fields(inner, (f, w) => {
        if (f === 1 && w === 3) segments.push(...pathElement(inner, 1, 2, 3, 4));
        else return false;
        return true;
      });
    } else return false;
    return true;
  });
  return { app, segments };
}

/** A PropertyValue as a Firestore value, given its property's meaning. */
function propertyValue(bytes, meaning, projectOf) {
  const reader = new Reader(bytes);
  let value = { nullValue: null };
  fields(reader, (field, wire) => {
    if (field === 1 && wire === 0) {
      const n = BigInt.asIntN(64, reader.varint());
      if (meaning === GD_WHEN) {
        const seconds = n / 1_000_000n - (n % 1_000_000n < 0n ? 1n : 0n);
        const micros = n - seconds * 1_000_000n;
        const iso = new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, "");
        value = { timestampValue: `${iso}.${String(micros).padStart(6, "0")}Z` };
      } else value = { integerValue: String(n) };
    } else if (field === 2 && wire === 0) value = { booleanValue: reader.varint() !== 0n };
    else if (field === 3 && wire === 2) {
      const raw = reader.bytesField();
      if (meaning === ENTITY_PROTO) value = { mapValue: { fields: entity(raw, projectOf).fields } };
      else if (meaning === BLOB || meaning === BYTESTRING) value = { bytesValue: Buffer.from(raw).toString("base64") };
      else value = { stringValue: text(raw) };
    } else if (field === 4 && wire === 1) {
      const d = reader.double();
      value = { doubleValue: Number.isFinite(d) ? d : String(d) };
    } else if (field === 5 && wire === 3) {
      let lat = 0;
      let lng = 0;
      fields(
        reader,
        (f, w) => {
          if (f === 6 && w === 1) lat = reader.double();
          else if (f === 7 && w === 1) lng = reader.double();
          else return false;
          return true;
        },
        5,
      );
      value = { geoPointValue: { latitude: lat, longitude: lng } };
    } else if (field === 12 && wire === 3) {
      let app = "";
      const segments = [];
      fields(
        reader,
        (f, w) => {
          if (f === 13 && w === 2) app = text(reader.bytesField());
          else if (f === 14 && w === 3) segments.push(...pathElement(reader, 14, 15, 16, 17));
          else return false;
          return true;
        },
        12,
      );
      value = { referenceValue: `projects/${projectOf(app)}/databases/(default)/documents/${segments.join("/")}` };
    } else return false;
    return true;
  });
  if (meaning === EMPTY_LIST) return { arrayValue: { values: [] } };
  return value;
}

/** An EntityProto: its key's path (segments, app) and its fields (multiple properties as arrays). */
function entity(bytes, projectOf) {
  const reader = new Reader(bytes);
  let key;
  const out = {};
  const arrays = new Set();
  fields(reader, (field, wire) => {
    if (field === 13 && wire === 2) key = reference(reader.bytesField());
    else if ((field === 14 || field === 15) && wire === 2) {
      const prop = new Reader(reader.bytesField());
      let name;
      let meaning = 0;
      let multiple = false;
      let raw;
      fields(prop, (f, w) => {
        if (f === 1 && w === 0) meaning = Number(prop.varint());
        else if (f === 3 && w === 2) name = text(prop.bytesField());
        else if (f === 4 && w === 0) multiple = prop.varint() !== 0n;
        else if (f === 5 && w === 2) raw = prop.bytesField();
        else return false;
        return true;
      });
      if (name === undefined) throw new CliError("a property without a name");
      const value =
        raw === undefined
          ? meaning === EMPTY_LIST
            ? { arrayValue: { values: [] } }
            : { nullValue: null }
          : propertyValue(raw, meaning, projectOf);
      if (multiple) {
        if (!arrays.has(name)) {
          arrays.add(name);
          out[name] = { arrayValue: { values: [] } };
        }
        out[name].arrayValue.values.push(value);
      } else out[name] = value;
    } else return false;
    return true;
  });
  return { key, fields: out };
}

/** The project id an export's app id names (`dev~my-app` is `my-app`). */
export function projectOfApp(app) {
  const tilde = app.indexOf("~");
  return tilde >= 0 ? app.slice(tilde + 1) : app;
}

/**
 * Every document of a Firebase emulator export folder, in file order: `{ path, fields, project }`.
 * References name `project` (the export's own project, or the one given).
 */
export function* firebaseExportDocuments(dir, { project } = {}) {
  const projectOf = (app) => project ?? projectOfApp(app);
  for (const file of firebaseExportFiles(dir)) {
    let index = 0;
    for (const record of logRecords(readFileSync(file), file)) {
      index++;
      let doc;
      try {
        doc = entity(record, projectOf);
      } catch (e) {
        throw new CliError(`${file}: record ${index}: ${e.message}`);
      }
      if (!doc.key || doc.key.segments.length === 0) throw new CliError(`${file}: record ${index} has no key`);
      yield { path: doc.key.segments.join("/"), fields: doc.fields, project: projectOfApp(doc.key.app) };
    }
  }
}
