/**
 * The elements of a JSON array as its bytes stream in (how the REST routes answer the server
 * streaming methods, src/routes/stream.ts): each element's text once it is complete, so a long
 * answer is passed on element by element and never held whole.
 */
export async function* jsonArrayElements(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const reader = body.getReader();
  let depth = 0;
  let inString = false;
  let escaped = false;
  let element = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      const text = done ? decoder.decode() : decoder.decode(value, { stream: true });
      let start = 0;
      const out: string[] = [];
      for (let i = 0; i < text.length; i++) {
        const ch = text.charCodeAt(i);
        if (inString) {
          if (escaped) escaped = false;
          else if (ch === 0x5c /* \ */) escaped = true;
          else if (ch === 0x22 /* " */) inString = false;
        } else if (ch === 0x22) {
          inString = true;
        } else if (ch === 0x5b /* [ */ || ch === 0x7b /* { */) {
          if (++depth === 1) start = i + 1;
        } else if (ch === 0x5d /* ] */ || ch === 0x7d /* } */) {
          if (--depth === 0) {
            const last = (element + text.slice(start, i)).trim();
            if (last !== "") out.push(last);
            element = "";
          }
        } else if (ch === 0x2c /* , */ && depth === 1) {
          out.push((element + text.slice(start, i)).trim());
          element = "";
          start = i + 1;
        }
      }
      if (depth >= 1) element += text.slice(start);
      yield* out;
      if (done) return;
    }
  } finally {
    // Stopped early (the call ended): the rest is not needed.
    reader.cancel().catch(() => {});
  }
}
