/**
 * Paged reads streamed as one JSON array (how REST carries Firestore's server-streaming methods):
 * the first page is awaited before the response starts, so its errors keep their HTTP status;
 * later pages are written as they arrive, and an error in one of them ends the array with an
 * `{"error": …}` element (the status line is already sent). Only one page is in memory at a time.
 */
import { toFirestoreError } from "../errors/index.js";
import { jsonResponse } from "./render.js";

/** The byte budget of one page of a paged read (the Durable Object answers about this much per call). */
export const PAGE_BYTES = 4 * 1024 * 1024;

/**
 * Responds with `[first…, …later pages]`. `later` yields each following page's elements; `finish`
 * may rewrite the very last element (e.g. to mark it `done`).
 */
export function jsonArrayResponse(
  first: string[],
  later: AsyncIterable<string[]> | null,
  finish: (last: string) => string = (last) => last,
): Response {
  if (later === null) {
    const items = [...first];
    const end = items.length - 1;
    if (end >= 0) items[end] = finish(items[end] as string);
    return jsonResponse(`[${items.join(",")}]`);
  }
  const encoder = new TextEncoder();
  const { readable, writable } = new TransformStream<Uint8Array, Uint8Array>();
  const write = async () => {
    const writer = writable.getWriter();
    let written = 0;
    const put = (element: string) => writer.write(encoder.encode(`${written++ === 0 ? "[" : ","}${element}`));
    // The newest element is held back until we know whether it is the last.
    let held: string | undefined;
    const emit = async (items: string[]) => {
      for (const item of items) {
        if (held !== undefined) await put(held);
        held = item;
      }
    };
    try {
      await emit(first);
      for await (const page of later) await emit(page);
      if (held !== undefined) await put(finish(held));
    } catch (e) {
      if (held !== undefined) await put(held);
      const error = toFirestoreError(e);
      await put(JSON.stringify(error.toJSON()));
    } finally {
      await writer.write(encoder.encode(written === 0 ? "[]" : "]"));
      await writer.close();
    }
  };
  void write();
  return new Response(readable, { status: 200, headers: { "content-type": "application/json; charset=utf-8" } });
}
