/**
 * Reads whatever part of the request body the handlers left unread before the response goes out.
 *
 * A request rejected before its body is read (a bad URL, an unknown method, a GET with a body,
 * a body over the size limit) would otherwise leave bytes in the connection: the runtime then
 * cannot reuse it, closes it with data unread, and the client's next request on that kept-alive
 * socket fails with ECONNRESET. The SDKs keep connections alive, so one rejected request would
 * cost an unrelated one. Draining keeps the connection usable; past `MAX_DRAIN_BYTES` (a client
 * streaming far more than any request may carry) the connection is given up instead.
 */
import type { MiddlewareHandler } from "hono";

const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/** Reads and drops the rest of a body (up to MAX_DRAIN_BYTES, then gives the connection up). */
export async function drainReader(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  let read = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
      if (read > MAX_DRAIN_BYTES) {
        await reader.cancel();
        return;
      }
    }
  } catch {
    // The client went away or sent a malformed body: nothing left to keep.
  }
}

export const drainBody: MiddlewareHandler = async (c, next) => {
  await next();
  const raw = c.req.raw;
  if (raw.body !== null && !raw.bodyUsed && !raw.body.locked) await drainReader(raw.body.getReader());
};
