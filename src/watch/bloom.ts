/**
 * The bloom filter of a Listen existence filter (`ExistenceFilter.unchanged_names`).
 *
 * When a resumed target's document count disagrees with the client's cache, the client tests each
 * cached document's full resource name against this filter and drops the ones it does not contain,
 * instead of re-running the whole query. The scheme is fixed by the clients (firebase-js-sdk
 * `remote/bloom_filter.ts` and its backend golden tests):
 *
 * - hash: MD5 of the UTF-8 bytes of `projects/{p}/databases/{d}/documents/{path}`; h1 = digest bytes
 *   0–7, h2 = bytes 8–15, each an unsigned little-endian 64-bit integer;
 * - probe i in [0, hashCount): bit ((h1 + i·h2) mod 2^64) mod bitCount, where
 *   bitCount = 8·bitmap.length − padding;
 * - bit n is `bitmap[n >> 3] & (1 << (n & 7))` (least significant bit first).
 *
 * Sizing follows the backend, as its golden vectors show: m = the smallest prime ≥
 * ceil(−n·ln p / ln²2) bits and k = round(m/n · ln 2) hashes (e.g. n = 1, p = 0.01 gives 11 bits, not
 * 10; n = 5000, p = 0.01 gives 47933, not 47926).
 */
import { createHash } from "node:crypto";
import { binaryString } from "../model/bytes.js";

/** proto3 JSON of `google.firestore.v1.BloomFilter`; `bitmap` is standard base64. */
export interface BloomFilterJson {
  bits: { bitmap: string; padding: number };
  hashCount: number;
}

const UINT64_MASK = (1n << 64n) - 1n;
const LN2 = Math.LN2;

/**
 * A filter holding `names` (full document resource names, each once) with false-positive rate
 * about `falsePositiveRate`. No names, or a rate of 1, give the empty filter, which clients treat as
 * "no filter" and answer with a full re-query.
 */
export function bloomFilter(names: readonly string[], falsePositiveRate = 0.01): BloomFilterJson {
  if (!(falsePositiveRate > 0 && falsePositiveRate <= 1)) {
    throw new RangeError(`bloom filter false-positive rate must be in (0, 1], got ${falsePositiveRate}`);
  }
  const n = names.length;
  // -0 when the rate is 1: ceil(-0) <= 0, so that case is empty too (as in the backend's goldens).
  const ideal = n === 0 ? 0 : Math.ceil((-n * Math.log(falsePositiveRate)) / (LN2 * LN2));
  if (ideal <= 0) return { bits: { bitmap: "", padding: 0 }, hashCount: 0 };

  const bitCount = nextPrime(ideal);
  // At least one hash: clients reject a non-empty bitmap with hashCount 0 (rates close to 1 would
  // otherwise round to 0).
  const hashCount = Math.max(1, Math.round((bitCount / n) * LN2));
  const bitmap = new Uint8Array(Math.ceil(bitCount / 8));
  const m = BigInt(bitCount);
  for (const name of names) {
    const [h1, h2] = hashes(name);
    let h = h1;
    for (let i = 0; i < hashCount; i++) {
      const bit = Number(h % m);
      bitmap[bit >> 3]! |= 1 << (bit & 7);
      h = (h + h2) & UINT64_MASK; // h1 + (i+1)·h2, wrapped at 2^64 like the clients' uint64
    }
  }
  return { bits: { bitmap: btoa(binaryString(bitmap)), padding: bitmap.length * 8 - bitCount }, hashCount };
}

/**
 * The client's membership test: false means `name` is certainly not in the filter. Throws a
 * RangeError on a filter the client would reject as malformed.
 */
export function mightContain(filter: BloomFilterJson, name: string): boolean {
  const { bitmap, padding } = filter.bits;
  const { hashCount } = filter;
  const byteLength = base64ByteLength(bitmap);
  // BitSequence.padding: 0 for an empty bitmap, else 0..7; only an empty filter may have no hashes.
  if (!Number.isInteger(padding) || padding < 0 || padding > 7 || (byteLength === 0 && padding !== 0)) {
    throw new RangeError(`invalid bloom filter padding ${padding} for ${byteLength} bytes`);
  }
  if (!Number.isInteger(hashCount) || hashCount < 0 || (byteLength > 0 && hashCount === 0)) {
    throw new RangeError(`invalid bloom filter hash count ${hashCount}`);
  }
  const bitCount = byteLength * 8 - padding;
  if (bitCount === 0) return false;

  const m = BigInt(bitCount);
  const [h1, h2] = hashes(name);
  let h = h1;
  for (let i = 0; i < hashCount; i++) {
    const bit = Number(h % m);
    if ((byteAt(bitmap, bit >> 3) & (1 << (bit & 7))) === 0) return false;
    h = (h + h2) & UINT64_MASK;
  }
  return true;
}

/** The two little-endian uint64 halves of MD5(UTF-8 of `name`). */
function hashes(name: string): [bigint, bigint] {
  const digest = createHash("md5").update(new TextEncoder().encode(name)).digest();
  const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
  return [view.getBigUint64(0, true), view.getBigUint64(8, true)];
}

/** The smallest prime ≥ x (x ≥ 1), by trial division: x is at most a few hundred million bits. */
function nextPrime(x: number): number {
  for (let c = Math.max(x, 2); ; c++) if (isPrime(c)) return c;
}

function isPrime(c: number): boolean {
  if (c < 4) return c >= 2;
  if (c % 2 === 0 || c % 3 === 0) return false;
  for (let d = 5; d * d <= c; d += 6) if (c % d === 0 || c % (d + 2) === 0) return false;
  return true;
}

// proto3 JSON bytes: standard or URL-safe alphabet, padding optional.
const B64_RANK = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) {
  B64_RANK["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".charCodeAt(i)] = i;
}
B64_RANK[0x2d] = 62; // '-'
B64_RANK[0x5f] = 63; // '_'

/** Significant characters of a base64 string: without its trailing '=' padding. */
function base64Chars(b64: string): number {
  let n = b64.length;
  while (n > 0 && b64.charCodeAt(n - 1) === 0x3d) n--;
  return n;
}

function base64ByteLength(b64: string): number {
  const chars = base64Chars(b64);
  if (chars % 4 === 1) throw new RangeError("invalid base64 bloom filter bitmap (bad length)");
  return (chars * 3) >> 2;
}

/**
 * Byte `j` of base64 text without decoding the rest: a membership test reads hashCount bytes, and
 * bitmaps run to hundreds of kilobytes. Bytes 3g..3g+2 are the 24 bits of characters 4g..4g+3.
 */
function byteAt(b64: string, j: number): number {
  const group = 4 * Math.floor(j / 3);
  const r = j % 3;
  let bits = 0;
  for (let c = 0; c < 4; c++) {
    // Byte r needs characters 0..r+1 of its group; the others may be padding or absent.
    const rank = c <= r + 1 ? (B64_RANK[b64.charCodeAt(group + c)] ?? -1) : 0;
    if (rank < 0) throw new RangeError("invalid base64 bloom filter bitmap");
    bits = (bits << 6) | rank;
  }
  return (bits >> (16 - 8 * r)) & 0xff;
}
