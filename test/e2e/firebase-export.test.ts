/**
 * `npm start -- --import DIR` with a folder in the format `firebase emulators:export` writes (a
 * Cloud Datastore export, test/helpers/datastore-export.ts): every value type, subcollections,
 * numeric ids, a record over several 32 KiB blocks and two output files; a damaged file is refused
 * with a message. (The reader was also run on four real export folders from public repositories;
 * see the README.)
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { entity, writeFirebaseExport } from "../helpers/datastore-export.js";
import { startServer } from "../helpers/server.js";

const dir = mkdtempSync(join(tmpdir(), "flarestore-fbexport-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const APP = "dev~seeded-app";
const BIG = "x".repeat(70_000);

function folder(name: string): string {
  const path = join(dir, name);
  writeFirebaseExport(path, [
    [
      entity(
        APP,
        ["rooms", "r1"],
        [
          { name: "s", value: { str: "text ☃" } },
          { name: "i", value: { int: -9007199254740993n } },
          { name: "d", value: { double: 2.5 } },
          { name: "nan", value: { double: Number.NaN } },
          { name: "b", value: { bool: true } },
          { name: "n", value: { none: true } },
          { name: "t", value: { int: 1_577_836_800_123_456n, meaning: 7 } },
          { name: "y", value: { str: Uint8Array.of(0, 1, 2, 255), meaning: 16 } },
          { name: "g", value: { point: [48.85, 2.35] } },
          { name: "r", value: { ref: ["rooms", "r2"] } },
          { name: "tags", value: { str: "a" }, multiple: true },
          { name: "tags", value: { int: 2n }, multiple: true },
          { name: "empty", value: { none: true, meaning: 24 } },
          {
            name: "m",
            value: {
              entity: [
                { name: "deep", value: { entity: [{ name: "x", value: { int: 1n } }] } },
                { name: "k", value: { str: "v" } },
              ],
            },
          },
        ],
      ),
      entity(APP, ["rooms", "r1", "msgs", "42"], [{ name: "text", value: { str: "a numeric id" } }]),
    ],
    [entity(APP, ["rooms", "big"], [{ name: "body", value: { str: BIG } }])],
  ]);
  return path;
}

async function get(url: string, path: string) {
  const res = await fetch(`${url}/v1/projects/seeded-app/databases/(default)/documents/${path}`);
  return { status: res.status, body: (await res.json()) as any };
}

describe("--import of a Firebase emulator export", () => {
  it("loads every value type, subcollections, numeric ids and records over several blocks", async () => {
    const server = await startServer({ args: ["--import", folder("ok")] });
    try {
      expect(server.output()).toMatch(/imported 3 documents into 1 database\(s\)/);
      const r1 = await get(server.url, "rooms/r1");
      expect(r1.status).toBe(200);
      expect(r1.body.fields).toEqual({
        s: { stringValue: "text ☃" },
        i: { integerValue: "-9007199254740993" },
        d: { doubleValue: 2.5 },
        nan: { doubleValue: "NaN" },
        b: { booleanValue: true },
        n: { nullValue: null },
        t: { timestampValue: "2020-01-01T00:00:00.123456Z" },
        y: { bytesValue: "AAEC/w==" },
        g: { geoPointValue: { latitude: 48.85, longitude: 2.35 } },
        r: { referenceValue: "projects/seeded-app/databases/(default)/documents/rooms/r2" },
        tags: { arrayValue: { values: [{ stringValue: "a" }, { integerValue: "2" }] } },
        empty: { arrayValue: { values: [] } },
        m: {
          mapValue: {
            fields: {
              deep: { mapValue: { fields: { x: { integerValue: "1" } } } },
              k: { stringValue: "v" },
            },
          },
        },
      });
      expect((await get(server.url, "rooms/r1/msgs/42")).body.fields).toEqual({
        text: { stringValue: "a numeric id" },
      });
      expect((await get(server.url, "rooms/big")).body.fields.body.stringValue).toBe(BIG);
    } finally {
      await server.stop();
    }
  });

  it("a damaged file is refused with a message, and the server does not start", async () => {
    const path = folder("damaged");
    const file = join(path, "firestore_export", "all_namespaces", "all_kinds", "output-0");
    const bytes = readFileSync(file);
    bytes[20] = (bytes[20] as number) ^ 0xff;
    writeFileSync(file, bytes);
    await expect(startServer({ args: ["--import", path] })).rejects.toThrow(
      /output-0: the record at byte 0 fails its checksum/,
    );
  });
});
