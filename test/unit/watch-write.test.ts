/** The Write stream's protocol (src/watch/write.ts): handshake, batches, tokens, resume, limits. */
import { describe, expect, it } from "vitest";
import type { Write } from "../../src/model/types.js";
import { decodeWriteRequest, MAX_UNACKNOWLEDGED, streamToken, WriteStream } from "../../src/watch/write.js";

const DB = { project: "p", database: "(default)" };
const ROOT = "projects/p/databases/(default)/documents";
const update = (path: string) => ({ update: { name: `${ROOT}/${path}`, fields: { n: { integerValue: "1" } } } });

/** A fake database: commit n happens at n ms; each write gets the commit time. */
function harness() {
  let commits = 0;
  const applied: Write[][] = [];
  const commit = async (writes: Write[]) => {
    applied.push(writes);
    commits++;
    return { writeResults: writes.map(() => ({ updateTime: commits * 1000 })), commitTime: commits * 1000 };
  };
  return { applied, commit, now: () => 99_000 };
}

describe("Write stream", () => {
  it("opens with an id and a token only, then answers each batch with results, a commit time and a new token", async () => {
    const h = harness();
    const s = new WriteStream("ws1");
    expect(s.open()).toEqual([{ streamId: "ws1", streamToken: btoa("ws1:1") }]);
    const req = decodeWriteRequest({ writes: [update("c/a"), update("c/b")], streamToken: btoa("ws1:1") }, DB, "ws1");
    expect(req.writes.map((w) => w.path)).toEqual(["c/a", "c/b"]);
    const [res] = await s.handle(req, h.commit, h.now);
    expect(res).toEqual({
      streamToken: streamToken("ws1", 2),
      writeResults: [{ updateTime: "1970-01-01T00:00:00.001000Z" }, { updateTime: "1970-01-01T00:00:00.001000Z" }],
      commitTime: "1970-01-01T00:00:00.001000Z",
    });
    expect(h.applied).toHaveLength(1);
    // An empty request with a token is answered without a commit.
    const [empty] = await s.handle(
      decodeWriteRequest({ streamToken: streamToken("ws1", 2) }, DB, "ws1"),
      h.commit,
      h.now,
    );
    expect(empty).toEqual({
      streamToken: streamToken("ws1", 3),
      writeResults: [],
      commitTime: "1970-01-01T00:00:00.099000Z",
    });
    expect(h.applied).toHaveLength(1);
  });

  it("resumes from a token with the responses after it; refuses tokens it cannot resume from", async () => {
    const h = harness();
    const s = new WriteStream("ws1");
    s.open();
    await s.handle(
      decodeWriteRequest({ writes: [update("c/a")], streamToken: streamToken("ws1", 1) }, DB, "ws1"),
      h.commit,
      h.now,
    );
    await s.handle(decodeWriteRequest({ writes: [update("c/b")] }, DB, "ws1"), h.commit, h.now);
    // The client saw response 2, not 3.
    const again = s.resume(2);
    expect(again.map((r) => r.streamToken)).toEqual([streamToken("ws1", 3)]);
    expect(() => s.resume(7)).toThrow(/resume/);
    expect(() => s.resume(0)).toThrow(/resume/);
  });

  it("closes a stream whose client never acknowledges", async () => {
    const h = harness();
    const s = new WriteStream("ws1");
    s.open();
    for (let i = 1; i < MAX_UNACKNOWLEDGED; i++)
      await s.handle({ writes: [{ kind: "delete", path: `c/${i}` } as Write] }, h.commit, h.now);
    await expect(s.handle({ writes: [{ kind: "delete", path: "c/x" } as Write] }, h.commit, h.now)).rejects.toThrow(
      /unacknowledged/,
    );
  });

  it("rejects what is not a write request of this stream", async () => {
    const s = new WriteStream("ws1");
    s.open();
    const h = harness();
    expect(() => decodeWriteRequest({ streamToken: btoa("other:1") }, DB, "ws1")).toThrow(/not a stream token/);
    expect(() => decodeWriteRequest({ streamToken: "%%%" }, DB, "ws1")).toThrow(/base64/);
    expect(() =>
      decodeWriteRequest({ writes: [{ update: { name: "projects/q/databases/(default)/documents/c/a" } }] }, DB),
    ).toThrow();
    expect(() => decodeWriteRequest({ database: "projects/q/databases/(default)" }, DB)).toThrow(/does not match/);
    expect(() => decodeWriteRequest({ wrtes: [] }, DB)).toThrow(/Unknown name "wrtes"/);
    await expect(s.handle({ writes: [] }, h.commit, h.now)).rejects.toThrow(/needs writes or a stream_token/);
    await expect(s.handle({ ack: 5, writes: [] }, h.commit, h.now)).rejects.toThrow(/never sent/);
    await expect(s.handle({ streamId: "ws2", writes: [] }, h.commit, h.now)).rejects.toThrow(/not this stream/);
  });
});
