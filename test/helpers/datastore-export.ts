/**
 * Writes a folder in the format `firebase emulators:export` writes (a Cloud Datastore export: LevelDB
 * log files of `EntityProto` records), so the tests can check the reader on every value type. The
 * encoding follows App Engine's entity.proto and LevelDB's log format; the reader was also run on
 * real export folders from public repositories (see the README).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import CRC32C from "crc-32/crc32c";

/** A property value as the Datastore encodes it. */
export type DsValue =
  | { int: bigint; meaning?: number }
  | { bool: boolean }
  | { str: Uint8Array | string; meaning?: number }
  | { double: number }
  | { point: [number, number] }
  | { ref: string[] }
  | { entity: DsProperty[] }
  | { none: true; meaning?: number };

export interface DsProperty {
  name: string;
  value: DsValue;
  multiple?: boolean;
}

class Writer {
  private readonly parts: number[] = [];

  varint(v: bigint | number): this {
    let n = BigInt.asUintN(64, BigInt(v));
    while (n >= 0x80n) {
      this.parts.push(Number(n & 0x7fn) | 0x80);
      n >>= 7n;
    }
    this.parts.push(Number(n));
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }

  bytes(field: number, b: Uint8Array | string): this {
    const data = typeof b === "string" ? Buffer.from(b, "utf8") : b;
    this.tag(field, 2).varint(data.length);
    for (const x of data) this.parts.push(x);
    return this;
  }

  double(field: number, d: number): this {
    const b = Buffer.alloc(8);
    b.writeDoubleLE(d);
    this.tag(field, 1);
    for (const x of b) this.parts.push(x);
    return this;
  }

  group(field: number, body: (w: this) => void): this {
    this.tag(field, 3);
    body(this);
    return this.tag(field, 4);
  }

  done(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

function reference(app: string, path: string[]): Uint8Array {
  const p = new Writer();
  for (let i = 0; i < path.length; i += 2) {
    const id = path[i + 1] as string;
    p.group(1, (g) => {
      g.bytes(2, path[i] as string);
      if (/^[1-9]\d*$/.test(id)) g.tag(3, 0).varint(BigInt(id));
      else g.bytes(4, id);
    });
  }
  return new Writer().bytes(13, app).bytes(14, p.done()).done();
}

function propertyValue(app: string, v: DsValue): Uint8Array {
  const w = new Writer();
  if ("int" in v) w.tag(1, 0).varint(v.int);
  else if ("bool" in v) w.tag(2, 0).varint(v.bool ? 1 : 0);
  else if ("str" in v) w.bytes(3, v.str);
  else if ("double" in v) w.double(4, v.double);
  else if ("point" in v) w.group(5, (g) => g.double(6, v.point[0]).double(7, v.point[1]));
  else if ("ref" in v) {
    w.group(12, (g) => {
      g.bytes(13, app);
      for (let i = 0; i < v.ref.length; i += 2) {
        g.group(14, (e) => e.bytes(15, v.ref[i] as string).bytes(17, v.ref[i + 1] as string));
      }
    });
  } else if ("entity" in v) w.bytes(3, entity(app, undefined, v.entity));
  return w.done();
}

const ENTITY_PROTO = 19;

/** An EntityProto: its key (when a document) and its properties. */
export function entity(app: string, path: string[] | undefined, properties: DsProperty[]): Uint8Array {
  const w = new Writer();
  if (path) w.bytes(13, reference(app, path));
  for (const p of properties) {
    const prop = new Writer();
    const meaning = "entity" in p.value ? ENTITY_PROTO : "meaning" in p.value ? p.value.meaning : undefined;
    if (meaning !== undefined) prop.tag(1, 0).varint(meaning);
    prop.bytes(3, p.name);
    prop.tag(4, 0).varint(p.multiple ? 1 : 0);
    if (!("none" in p.value)) prop.bytes(5, propertyValue(app, p.value));
    w.bytes(14, prop.done());
  }
  return w.done();
}

const BLOCK = 32 * 1024;

/** LevelDB log records: each record in pieces that fit the 32 KiB blocks, each piece checksummed. */
export function logFile(records: Uint8Array[]): Buffer {
  const out: Buffer[] = [];
  let offset = 0;
  const push = (b: Buffer) => {
    out.push(b);
    offset += b.length;
  };
  for (const record of records) {
    let rest = Buffer.from(record);
    let first = true;
    for (;;) {
      const left = BLOCK - (offset % BLOCK);
      if (left < 7) {
        push(Buffer.alloc(left));
        continue;
      }
      const take = Math.min(rest.length, left - 7);
      const last = take === rest.length;
      const type = first && last ? 1 : first ? 2 : last ? 4 : 3;
      const data = rest.subarray(0, take);
      const crc = CRC32C.buf(data, CRC32C.buf(Uint8Array.of(type))) >>> 0;
      const maskedCrc = (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
      const header = Buffer.alloc(7);
      header.writeUInt32LE(maskedCrc, 0);
      header.writeUInt16LE(take, 4);
      header[6] = type;
      push(header);
      push(Buffer.from(data));
      rest = rest.subarray(take);
      first = false;
      if (last) break;
    }
  }
  return Buffer.concat(out);
}

/** Writes a Firebase emulator export folder holding `files` (each a list of EntityProto records). */
export function writeFirebaseExport(dir: string, files: Uint8Array[][]): void {
  const kinds = join(dir, "firestore_export", "all_namespaces", "all_kinds");
  mkdirSync(kinds, { recursive: true });
  writeFileSync(
    join(dir, "firebase-export-metadata.json"),
    JSON.stringify({
      version: "13.0.0",
      firestore: {
        version: "1.18.2",
        path: "firestore_export",
        metadata_file: "firestore_export/firestore_export.overall_export_metadata",
      },
    }),
  );
  writeFileSync(join(dir, "firestore_export", "firestore_export.overall_export_metadata"), Buffer.alloc(0));
  for (const [i, records] of files.entries()) writeFileSync(join(kinds, `output-${i}`), logFile(records));
}
