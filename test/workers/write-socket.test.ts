/**
 * The Write stream over WebSocket (`GET …/documents:write`, Upgrade: websocket): the handshake,
 * atomic batches with results and tokens, transforms, and errors that end the stream cleanly.
 */
import { describe, expect, it } from "vitest";
import { int, newApi, openWrite } from "./helpers.js";

describe("Write over WebSocket", () => {
  it("opens with an id and a token, then applies each batch atomically with results and a new token", async () => {
    const api = newApi();
    const w = await openWrite(api);
    w.send({ database: api.db });
    const open = await w.next();
    expect(Object.keys(open).sort()).toEqual(["streamId", "streamToken"]);
    w.send({
      streamToken: open.streamToken,
      writes: [
        { update: { name: api.name("c/a"), fields: { n: int(1) } } },
        { update: { name: api.name("c/b"), fields: {} }, updateTransforms: [{ fieldPath: "n", increment: int(5) }] },
      ],
    });
    const first = await w.next();
    expect(first.writeResults).toHaveLength(2);
    expect(first.writeResults[1].transformResults).toEqual([int(5)]);
    expect(first.commitTime).toBe(first.writeResults[0].updateTime);
    expect(first.streamToken).not.toBe(open.streamToken);
    expect((await api.read("c/b"))?.fields).toEqual({ n: int(5) });
    // An empty request with a token is answered, without a commit.
    w.send({ streamToken: first.streamToken });
    const empty = await w.next();
    expect(empty.writeResults).toEqual([]);
    w.ws.close();
  });

  it("a failing batch changes nothing, ends the stream with the error, and the next stream works", async () => {
    const api = newApi();
    const w = await openWrite(api);
    w.send({});
    const open = await w.next();
    w.send({
      streamToken: open.streamToken,
      writes: [
        { update: { name: api.name("c/x"), fields: { n: int(1) } } },
        { update: { name: api.name("c/missing"), fields: {} }, currentDocument: { exists: true } },
      ],
    });
    const error = await w.next();
    expect(error.error).toMatchObject({ code: 404, status: "NOT_FOUND" });
    expect((await w.closedWith()).reason).toMatch(/NOT_FOUND/);
    expect(await api.read("c/x")).toBeUndefined();
    const again = await openWrite(api);
    again.send({});
    const reopened = await again.next();
    again.send({ streamToken: reopened.streamToken, writes: [{ update: { name: api.name("c/x"), fields: {} } }] });
    expect((await again.next()).writeResults).toHaveLength(1);
    again.ws.close();
  });

  it("bad requests get a clear error: malformed JSON, writes in the opening request, a forged token", async () => {
    const api = newApi();
    for (const [first, second, message] of [
      ["{nope", undefined, /Invalid JSON/],
      [{ writes: [{ delete: api.name("c/a") }] }, undefined, /opens it: no writes/],
      [{}, { streamToken: btoa("other:1"), writes: [] }, /not a stream token/],
      [
        {},
        { writes: [{ update: { name: "projects/other/databases/(default)/documents/c/a", fields: {} } }] },
        /database|project/i,
      ],
    ] as const) {
      const w = await openWrite(api);
      w.send(first);
      if (second !== undefined) {
        await w.next();
        w.send(second);
      }
      const reply = await w.next();
      expect(reply.error?.status, JSON.stringify(reply)).toBe("INVALID_ARGUMENT");
      expect(reply.error.message).toMatch(message);
      await w.closedWith();
    }
  });
});
