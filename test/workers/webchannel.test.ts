/**
 * The WebChannel endpoints through the Worker into the database's Durable Object (the protocol
 * layer itself is unit-tested in test/unit/webchannel-*): a Listen session's handshake, a streaming
 * back channel whose first bytes come at once and uncompressed, a commit reaching it, a forward POST,
 * Unknown SID, and terminate. The full web SDK drives the same endpoints in test/e2e/realtime.test.ts.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { int, newApi } from "./helpers.js";

const URL_BASE = "http://flarestore.test/google.firestore.v1.Firestore";

function form(ofs: number, messages: unknown[]): string {
  const parts = [`count=${messages.length}`, `ofs=${ofs}`];
  messages.forEach((m, i) => {
    parts.push(`req${i}___data__=${encodeURIComponent(JSON.stringify(m))}`);
  });
  return parts.join("&");
}

/** Reads one length-prefixed chunk's arrays from a back-channel reader. */
async function readArrays(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<[number, unknown][]> {
  let text = "";
  const decoder = new TextDecoder();
  for (;;) {
    const m = /^(\d+)\n/.exec(text);
    if (m && text.length >= m[0].length + Number(m[1]))
      return JSON.parse(text.slice(m[0].length, m[0].length + Number(m[1])));
    const { value, done } = await reader.read();
    if (done) throw new Error(`back channel ended with ${JSON.stringify(text)}`);
    text += decoder.decode(value, { stream: true });
  }
}

describe("WebChannel through the Worker", () => {
  it("a Listen session: handshake, streaming back channel, a commit, forward POST, terminate", async () => {
    const api = newApi();
    await api.set("rooms/a", { n: int(1) });
    const q = `database=${encodeURIComponent(api.db)}`;
    const hs = await SELF.fetch(
      `${URL_BASE}/Listen/channel?VER=8&${q}&RID=1&CVER=22&X-HTTP-Session-Id=gsessionid&zx=a&t=1`,
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", origin: "http://app.test" },
        body: form(0, [
          { database: api.db, addTarget: { targetId: 2, documents: { documents: [api.name("rooms/a")] } } },
        ]),
      },
    );
    expect(hs.status).toBe(200);
    expect(hs.headers.get("access-control-allow-origin")).toBe("http://app.test");
    expect(hs.headers.get("access-control-allow-credentials")).toBe("true");
    const gsessionid = hs.headers.get("x-http-session-id") as string;
    const handshake = await hs.text();
    const sid = (JSON.parse(handshake.slice(handshake.indexOf("\n") + 1)) as [number, string[]][])[0]?.[1]?.[1];
    expect(typeof sid).toBe("string");
    const session = `${q}&gsessionid=${gsessionid}&SID=${sid}`;

    // Streaming back channel: uncompressed, and the pending responses at once.
    const back = await SELF.fetch(
      `${URL_BASE}/Listen/channel?VER=8&${session}&RID=rpc&AID=0&CI=0&TYPE=xmlhttp&zx=b&t=1`,
      {
        headers: { "accept-encoding": "gzip, deflate, br" },
      },
    );
    expect(back.status).toBe(200);
    expect(back.headers.get("content-encoding")).toBe("identity");
    expect(back.headers.get("cache-control")).toContain("no-transform");
    const reader = (back.body as ReadableStream<Uint8Array>).getReader();
    const first = await readArrays(reader);
    const kinds = first.map(([, data]) => Object.keys((data as object[])[0] as object)[0]);
    expect(first.map(([id]) => id)).toEqual([1, 2, 3, 4]);
    expect(kinds).toEqual(["targetChange", "documentChange", "targetChange", "targetChange"]);

    // A commit reaches the open back channel.
    await api.set("rooms/a", { n: int(2) });
    const change = await readArrays(reader);
    expect(change.map(([id]) => id)).toEqual([5, 6]);

    // A forward POST (removeTarget): answered [1, lastArrayId, 0]; its reply goes down the back channel.
    const post = await SELF.fetch(`${URL_BASE}/Listen/channel?VER=8&${session}&RID=2&AID=6&zx=c&t=1`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: form(1, [{ removeTarget: 2 }]),
    });
    expect(await post.text()).toBe("7\n[1,7,0]");
    expect((await readArrays(reader))[0]).toEqual([
      7,
      [{ targetChange: { targetChangeType: "REMOVE", targetIds: [2] } }],
    ]);
    await reader.cancel();

    // A session this server does not know: the reply that makes the client handshake again.
    const unknown = await SELF.fetch(
      `${URL_BASE}/Listen/channel?VER=8&${q}&SID=nope&RID=rpc&AID=0&CI=1&TYPE=xmlhttp&zx=d&t=1`,
    );
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain("Unknown SID");

    const end = await SELF.fetch(`${URL_BASE}/Listen/channel?VER=8&${session}&RID=3&TYPE=terminate&zx=e`);
    expect(end.status).toBe(200);
    const after = await SELF.fetch(
      `${URL_BASE}/Listen/channel?VER=8&${session}&RID=rpc&AID=7&CI=1&TYPE=xmlhttp&zx=f&t=1`,
    );
    expect(after.status).toBe(400);
    await after.text();
  });

  it("a channel without a database parameter is refused with a status", async () => {
    const res = await SELF.fetch(`${URL_BASE}/Write/channel?VER=8&RID=1&CVER=22&zx=a&t=1`, {
      method: "POST",
      body: "count=0",
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.message).toMatch(/database=/);
  });
});
