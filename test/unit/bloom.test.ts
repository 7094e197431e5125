/**
 * The existence-filter bloom filter (src/watch/bloom.ts) against the Firestore backend's golden
 * vectors, as shipped by firebase-js-sdk in
 * packages/firestore/test/unit/remote/bloom_filter_golden_test_data/ (copied unchanged into
 * test/fixtures/bloom/ from commit 6f865964baf5b4bd23b077fecec1028434a7387e).
 *
 * Each golden is the backend's filter of the n names `${PREFIX}0` .. `${PREFIX}${n-1}` at rate p,
 * and the client's expected mightContain for `${PREFIX}0` .. `${PREFIX}${2n-1}` as a string of
 * '1'/'0' (the first n are all '1'; the rest are the filter's false positives).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type BloomFilterJson, bloomFilter, mightContain } from "../../src/watch/bloom.js";

const PREFIX = "projects/project-1/databases/database-1/documents/coll/doc";
const EMPTY: BloomFilterJson = { bits: { bitmap: "", padding: 0 }, hashCount: 0 };

function docNames(from: number, to: number, prefix = PREFIX): string[] {
  const out: string[] = [];
  for (let i = from; i < to; i++) out.push(prefix + i);
  return out;
}

function fixture<T>(n: number, rate: string, kind: "bloom_filter_proto" | "membership_test_result"): T {
  const url = new URL(`../fixtures/bloom/Validation_BloomFilterTest_MD5_${n}_${rate}_${kind}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, "utf8")) as T;
}

function membership(filter: BloomFilterJson, names: readonly string[]): string {
  return names.map((name) => (mightContain(filter, name) ? "1" : "0")).join("");
}

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

/** Set bits of a filter, by index (independent of the module: Node's base64 decoder). */
function setBits(filter: BloomFilterJson): number[] {
  const bytes = Buffer.from(filter.bits.bitmap, "base64");
  const out: number[] = [];
  for (let i = 0; i < bytes.length * 8 - filter.bits.padding; i++) if (bytes[i >> 3]! & (1 << (i & 7))) out.push(i);
  return out;
}

/** The probe indexes of `name`, computed straight from the scheme with Node's Buffer API. */
function probes(name: string, bitCount: number, hashCount: number): number[] {
  const digest = createHash("md5").update(Buffer.from(name, "utf8")).digest();
  const h1 = digest.readBigUInt64LE(0);
  const h2 = digest.readBigUInt64LE(8);
  const out: number[] = [];
  for (let i = 0n; i < BigInt(hashCount); i++) out.push(Number(BigInt.asUintN(64, h1 + i * h2) % BigInt(bitCount)));
  return out;
}

const RATES = { "1": 1, "01": 0.01, "0001": 0.0001 } as const;

describe("backend golden vectors", () => {
  for (const n of [1, 500, 5000]) {
    for (const [rate, p] of Object.entries(RATES)) {
      describe(`n=${n} p=${p}`, () => {
        const golden = fixture<BloomFilterJson>(n, rate, "bloom_filter_proto");
        const expected = fixture<{ membershipTestResults: string }>(n, rate, "membership_test_result");

        it("our filter of the same names is byte-for-byte the backend's", () => {
          expect(bloomFilter(docNames(0, n), p)).toStrictEqual(golden);
        });

        it("mightContain on the backend's filter gives the expected results", () => {
          expect(expected.membershipTestResults).toHaveLength(2 * n);
          expect(membership(golden, docNames(0, 2 * n))).toBe(expected.membershipTestResults);
        });
      });
    }
  }

  // The n = 50000 goldens (80–160 KB filters, 100 KB results) are not copied; these are their
  // sizes and the SHA-256 of their decoded bitmap and of their membership string.
  it.each([
    [
      0.01,
      59908,
      1,
      7,
      "cacdb0a81c285d37c341c737b5c692ef099f598d983554b38904632efa1f85b7",
      504,
      "e4754e774914bae8c4b37942f1078da398716fcb1422a3f41d8a9b7d281bd994",
    ],
    [
      0.0001,
      119815,
      1,
      13,
      "978c4025ba3ee566458343aac3a3a55f073e486a4d09910525ea742a6414bc43",
      3,
      "4f823254f43ed5af2f6ab5f5fd5dc50d0e58889beb41dd612c701baf4cd2ba63",
    ],
  ])(
    "n=50000 p=%d matches the backend's filter and results",
    (p, bytes, padding, hashCount, bitmapSha, falsePositives, resultSha) => {
      const filter = bloomFilter(docNames(0, 50000), p);
      const bitmap = Buffer.from(filter.bits.bitmap, "base64");
      expect([bitmap.length, filter.bits.padding, filter.hashCount]).toEqual([bytes, padding, hashCount]);
      expect(sha256(bitmap)).toBe(bitmapSha);
      const results = membership(filter, docNames(0, 100000));
      expect(results.slice(50000).split("1").length - 1).toBe(falsePositives);
      expect(sha256(results)).toBe(resultSha);
    },
    30_000,
  );

  it("the goldens' sizes: the smallest prime >= ceil(-n ln p / ln²2) bits, round(m/n ln 2) hashes", () => {
    const size = (n: number, p: number) => {
      const f = bloomFilter(docNames(0, n), p);
      return [(f.bits.bitmap.length / 4) * 3 - (f.bits.bitmap.match(/=/g)?.length ?? 0), f.bits.padding, f.hashCount];
    };
    // ceil of the formula alone would give 10, 20, 4793, 9586, 47926, 95851 bits.
    expect(size(1, 0.01)).toEqual([2, 5, 8]); // 11 bits
    expect(size(1, 0.0001)).toEqual([3, 1, 16]); // 23 bits
    expect(size(500, 0.01)).toEqual([600, 7, 7]); // 4793 bits
    expect(size(500, 0.0001)).toEqual([1199, 5, 13]); // 9587 bits
    expect(size(5000, 0.01)).toEqual([5992, 3, 7]); // 47933 bits
    expect(size(5000, 0.0001)).toEqual([11983, 7, 13]); // 95857 bits
  });
});

describe("empty filter", () => {
  it("no names, or a rate of 1, give exactly the empty BloomFilter JSON", () => {
    expect(bloomFilter([])).toStrictEqual(EMPTY);
    expect(bloomFilter([], 0.0001)).toStrictEqual(EMPTY);
    expect(bloomFilter(docNames(0, 10), 1)).toStrictEqual(EMPTY);
    expect(JSON.stringify(bloomFilter([]))).toBe('{"bits":{"bitmap":"","padding":0},"hashCount":0}');
  });

  it("contains nothing, whatever its hash count", () => {
    expect(mightContain(EMPTY, `${PREFIX}0`)).toBe(false);
    expect(mightContain(EMPTY, "")).toBe(false);
    expect(mightContain({ bits: { bitmap: "", padding: 0 }, hashCount: 3 }, `${PREFIX}0`)).toBe(false);
  });
});

describe("membership", () => {
  it("every inserted name is contained, at every rate", () => {
    const names = docNames(0, 2000, "projects/p/databases/(default)/documents/rooms/r1/messages/m");
    for (const p of [0.5, 0.1, 0.01, 0.001, 1e-6]) {
      const filter = bloomFilter(names, p);
      expect(names.filter((name) => !mightContain(filter, name))).toEqual([]);
    }
  });

  it.each([
    [0.01, 1000, 100_000],
    [0.001, 1000, 200_000],
    [0.1, 5000, 50_000],
  ])("the false-positive rate on names not inserted is close to p=%d", (p, n, trials) => {
    const filter = bloomFilter(docNames(0, n, "projects/p/databases/d/documents/c/in"), p);
    const others = docNames(0, trials, "projects/p/databases/d/documents/c/out");
    const rate = others.filter((name) => mightContain(filter, name)).length / trials;
    expect(rate).toBeGreaterThan(p * 0.8);
    expect(rate).toBeLessThan(p * 1.2);
  });

  it("sets exactly the bits the scheme names (MD5 halves as little-endian uint64, wrapped h1 + i·h2)", () => {
    const names = docNames(0, 40, "projects/p/databases/d/documents/c/x");
    const filter = bloomFilter(names, 0.001);
    const bitCount = Buffer.from(filter.bits.bitmap, "base64").length * 8 - filter.bits.padding;
    const expected = new Set(names.flatMap((name) => probes(name, bitCount, filter.hashCount)));
    expect(setBits(filter)).toEqual([...expected].sort((a, b) => a - b));
  });

  it("a rate close to 1 still gets one hash (clients reject a non-empty bitmap without hashes)", () => {
    const names = docNames(0, 100);
    const filter = bloomFilter(names, 0.9);
    expect(filter.bits.bitmap).not.toBe("");
    expect(filter.hashCount).toBe(1);
    expect(names.every((name) => mightContain(filter, name))).toBe(true);
  });

  it("refuses rates outside (0, 1]", () => {
    for (const p of [0, -0.5, 1.5, Number.NaN]) expect(() => bloomFilter(["a"], p)).toThrow(RangeError);
  });
});

describe("UTF-8 names", () => {
  const ROOT = "projects/p/databases/d/documents";
  const names = [`${ROOT}/villes/Montréal`, `${ROOT}/都市/東京`, `${ROOT}/emoji/😀🎉`, `${ROOT}/mixed/a\u00e9b/c/𝄞`];

  it("hashes the UTF-8 bytes, not UTF-16 code units or Latin-1", () => {
    for (const name of names) {
      const filter = bloomFilter([name], 0.0001);
      const bitCount = Buffer.from(filter.bits.bitmap, "base64").length * 8 - filter.bits.padding;
      const utf8 = [...new Set(probes(name, bitCount, filter.hashCount))].sort((a, b) => a - b);
      expect(setBits(filter)).toEqual(utf8);
      expect(mightContain(filter, name)).toBe(true);
    }
  });

  it("tells apart names that differ only in their encoding (NFC é vs NFD e + U+0301)", () => {
    const nfc = `${ROOT}/villes/Montr\u00e9al`;
    const nfd = `${ROOT}/villes/Montre\u0301al`;
    expect(mightContain(bloomFilter([nfc], 0.0001), nfd)).toBe(false);
    expect(mightContain(bloomFilter([nfd], 0.0001), nfc)).toBe(false);
  });

  it("all inserted non-ASCII names are contained in a shared filter", () => {
    const many = names.flatMap((name) => docNames(0, 50, `${name}/sub/ü`));
    const filter = bloomFilter(many);
    expect(many.every((name) => mightContain(filter, name))).toBe(true);
  });
});

describe("padding", () => {
  it("the unused high bits of the last byte stay clear, and padding = 8·bytes − bitCount < 8", () => {
    for (const [n, p] of [
      [1, 0.01],
      [3, 0.2],
      [77, 0.05],
      [500, 0.0001],
      [1234, 0.01],
    ] as const) {
      const filter = bloomFilter(docNames(0, n), p);
      const bytes = Buffer.from(filter.bits.bitmap, "base64");
      expect(filter.bits.padding).toBeGreaterThanOrEqual(0);
      expect(filter.bits.padding).toBeLessThan(8);
      expect(bytes.at(-1)! >> (8 - filter.bits.padding)).toBe(0);
    }
  });

  it("bit indexes are taken modulo 8·bytes − padding, LSB first", () => {
    // One byte with only bit 7 set: with padding 0 (8 bits) a name is contained iff h1 mod 8 = 7;
    // with padding 1 (7 bits) bit 7 is out of range, so nothing is.
    const names = docNames(0, 200);
    const top = (padding: number): BloomFilterJson => ({ bits: { bitmap: "gA==", padding }, hashCount: 1 });
    const contained = names.filter((name) => mightContain(top(0), name));
    expect(contained).toEqual(names.filter((name) => probes(name, 8, 1)[0] === 7));
    expect(contained.length).toBeGreaterThan(0);
    expect(names.filter((name) => mightContain(top(1), name))).toEqual([]);
    // Only bit 0 set ("AQ=="): contained iff h1 mod (8 − padding) = 0, for each padding.
    for (let padding = 0; padding < 8; padding++) {
      const filter: BloomFilterJson = { bits: { bitmap: "AQ==", padding }, hashCount: 1 };
      expect(names.filter((name) => mightContain(filter, name))).toEqual(
        names.filter((name) => probes(name, 8 - padding, 1)[0] === 0),
      );
    }
  });

  it("reads unpadded and URL-safe base64 like padded standard base64", () => {
    const filter = bloomFilter(docNames(0, 300), 0.01);
    const { bitmap } = filter.bits;
    const urlSafe = bitmap.replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    expect(urlSafe).not.toBe(bitmap);
    const alt: BloomFilterJson = { ...filter, bits: { ...filter.bits, bitmap: urlSafe } };
    const names = docNames(0, 1000);
    expect(membership(alt, names)).toBe(membership(filter, names));
  });

  it("rejects filters the client rejects", () => {
    const name = `${PREFIX}0`;
    const bad: BloomFilterJson[] = [
      { bits: { bitmap: "AQ==", padding: 8 }, hashCount: 1 },
      { bits: { bitmap: "AQ==", padding: -1 }, hashCount: 1 },
      { bits: { bitmap: "", padding: 1 }, hashCount: 0 },
      { bits: { bitmap: "AQ==", padding: 0 }, hashCount: 0 },
      { bits: { bitmap: "AQ==", padding: 0 }, hashCount: -1 },
      { bits: { bitmap: "AQA=A", padding: 0 }, hashCount: 1 },
    ];
    for (const filter of bad) expect(() => mightContain(filter, name), JSON.stringify(filter)).toThrow(RangeError);
  });
});
