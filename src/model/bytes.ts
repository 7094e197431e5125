/** Byte helpers. */

/** Bytes converted per `String.fromCharCode` call: well below engines' argument-count limits. */
const CHUNK = 0x2000;

/**
 * The bytes as a "binary string" (one UTF-16 code unit 0–255 per byte), e.g. a map key that
 * identifies them. Built a chunk at a time: adding one character per byte builds a rope of one
 * node per byte (tens of bytes of heap each), which for a 1 MB index value is tens of MB.
 */
export function binaryString(bytes: Uint8Array): string {
  if (bytes.length <= CHUNK) return String.fromCharCode(...bytes);
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += CHUNK) parts.push(String.fromCharCode(...bytes.subarray(i, i + CHUNK)));
  return parts.join("");
}
