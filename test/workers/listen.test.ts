/**
 * The Listen stream over WebSocket (`GET …/documents:listen`, Upgrade: websocket), through the
 * Worker into the database's Durable Object: targets, changes after REST commits, several
 * streams, bad messages, and a stream's targets forgotten when its socket closes.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { WatchHub } from "../../durable-objects/database/watch.js";
import { microsToTimestamp } from "../../src/model/timestamp.js";
import { commitRequest } from "../../src/validation/requests.js";
import { type Api, int, Listener, newApi } from "./helpers.js";

const queryTarget = (api: Api, targetId: number, where?: unknown, extra: Record<string, unknown> = {}) => ({
  addTarget: {
    targetId,
    query: {
      parent: `${api.db}/documents`,
      structuredQuery: { from: [{ collectionId: "rooms" }], ...(where ? { where } : {}), ...extra },
    },
  },
});
const eq = (field: string, value: unknown) => ({ fieldFilter: { field: { fieldPath: field }, op: "EQUAL", value } });

describe("Listen over WebSocket", () => {
  it("sends a query's state, then every committed change, each batch ending in a snapshot", async () => {
    const api = newApi();
    await api.set("rooms/a", { open: { booleanValue: true }, n: int(1) });
    await api.set("rooms/b", { open: { booleanValue: false }, n: int(2) });
    const l = await Listener.open(api);
    l.send(queryTarget(api, 2, eq("open", { booleanValue: true })));
    const first = await l.untilSnapshot();
    expect(first.map((m) => Object.keys(m)[0])).toEqual([
      "targetChange",
      "documentChange",
      "targetChange",
      "targetChange",
    ]);
    expect(first[0].targetChange).toEqual({ targetChangeType: "ADD", targetIds: [2] });
    expect(first[1].documentChange.document.name).toBe(api.name("rooms/a"));
    expect(first[1].documentChange.document.fields).toEqual({ open: { booleanValue: true }, n: int(1) });
    expect(first[2].targetChange.targetChangeType).toBe("CURRENT");
    expect(first[2].targetChange.resumeToken).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(first[3].targetChange.readTime).toMatch(/Z$/);

    // A commit touching the query: a change, then a snapshot at the commit time.
    const commit = await api.commit([
      { update: { name: api.name("rooms/b"), fields: { open: { booleanValue: true }, n: int(2) } } },
      { delete: api.name("rooms/a") },
      { update: { name: api.name("other/x"), fields: {} } },
    ]);
    const batch = await l.untilSnapshot();
    expect(batch).toHaveLength(3);
    const byKind = Object.fromEntries(batch.slice(0, 2).map((m) => [Object.keys(m)[0], Object.values(m)[0]]));
    expect(byKind.documentChange.document.name).toBe(api.name("rooms/b"));
    expect(byKind.documentChange.targetIds).toEqual([2]);
    expect(byKind.documentDelete).toMatchObject({ document: api.name("rooms/a"), removedTargetIds: [2] });
    expect(batch[2].targetChange.readTime).toBe(commit.body.commitTime);

    // A commit that touches nothing listened to sends nothing.
    await api.set("other/y", { n: int(1) });
    await l.quiet();
    l.send({ removeTarget: 2 });
    expect(await l.next()).toEqual([{ targetChange: { targetChangeType: "REMOVE", targetIds: [2] } }]);
    await api.set("rooms/c", { open: { booleanValue: true } });
    await l.quiet();
    l.ws.close();
  });

  it("documents targets, several streams, and resuming from a token", async () => {
    const api = newApi();
    await api.set("rooms/a", { n: int(1) });
    const one = await Listener.open(api);
    const two = await Listener.open(api);
    one.send({ addTarget: { targetId: 4, documents: { documents: [api.name("rooms/a"), api.name("rooms/zz")] } } });
    two.send(queryTarget(api, 6));
    const s1 = await one.untilSnapshot();
    expect(s1.filter((m) => m.documentChange).map((m) => m.documentChange.document.name)).toEqual([
      api.name("rooms/a"),
    ]);
    const s2 = await two.untilSnapshot();
    const token = s2[s2.length - 1].targetChange.resumeToken;
    two.ws.close();

    await api.set("rooms/zz", { n: int(2) });
    await api.set("rooms/a", { n: int(3) });
    const changes = [...(await one.untilSnapshot()), ...(await one.untilSnapshot())];
    expect(changes.filter((m) => m.documentChange).map((m) => m.documentChange.document.fields.n)).toEqual([
      int(2),
      int(3),
    ]);

    // A new stream resuming from the token gets only what changed since, and a count.
    const three = await Listener.open(api);
    three.send({ addTarget: { ...queryTarget(api, 6).addTarget, resumeToken: token, expectedCount: 1 } });
    const resumed = await three.untilSnapshot();
    expect(
      resumed
        .filter((m) => m.documentChange)
        .map((m) => m.documentChange.document.name)
        .sort(),
    ).toEqual([api.name("rooms/a"), api.name("rooms/zz")]);
    expect(resumed.find((m) => m.filter)?.filter).toMatchObject({ targetId: 6, count: 2 });
    one.ws.close();
    three.ws.close();
  });

  it("a limit query: the next document enters when one leaves", async () => {
    const api = newApi();
    for (const [id, n] of [
      ["a", 1],
      ["b", 2],
      ["c", 3],
    ] as const)
      await api.set(`rooms/${id}`, { n: int(n) });
    const l = await Listener.open(api);
    l.send(queryTarget(api, 2, undefined, { orderBy: [{ field: { fieldPath: "n" } }], limit: 2 }));
    const first = await l.untilSnapshot();
    expect(first.filter((m) => m.documentChange).map((m) => m.documentChange.document.name)).toEqual([
      api.name("rooms/a"),
      api.name("rooms/b"),
    ]);
    await api.commit([{ delete: api.name("rooms/a") }]);
    const batch = await l.untilSnapshot();
    expect(batch.find((m) => m.documentDelete)?.documentDelete.document).toBe(api.name("rooms/a"));
    expect(batch.find((m) => m.documentChange)?.documentChange.document.name).toBe(api.name("rooms/c"));
    l.ws.close();
  });

  it("commits that land together reach a listener as one snapshot of their end result", async () => {
    const api = newApi();
    await api.set("rooms/a", { n: int(0) });
    const l = await Listener.open(api);
    l.send(queryTarget(api, 2));
    await l.untilSnapshot();
    // Three commits in one turn of the database (none waits for I/O), before delivery starts.
    const stub = env.DATABASE.get(env.DATABASE.idFromName(`${api.project}/(default)`));
    const ref = { project: api.project, database: "(default)" };
    // (Typed loosely: the stub's RPC types are too deep for the checker here.)
    const inObject = runInDurableObject as unknown as (
      stub: unknown,
      run: (instance: any) => Promise<string[]>,
    ) => Promise<string[]>;
    const times = await inObject(stub, async (instance) => {
      const write = (path: string, n: number) =>
        instance.commit(api.db, {
          ...commitRequest({ writes: [{ update: { name: api.name(path), fields: { n: int(n) } } }] }, ref),
          caller: { identity: { kind: "admin" }, emulator: true, database: "(default)" },
        });
      const results: any[] = await Promise.all([write("rooms/a", 1), write("rooms/b", 2), write("rooms/a", 3)]);
      return results.map((r) => microsToTimestamp(r.ok.commitTime));
    });
    const batch = await l.untilSnapshot();
    const changed = batch.filter((m) => m.documentChange).map((m) => m.documentChange.document);
    expect(changed.map((d) => [d.name, d.fields.n])).toEqual([
      [api.name("rooms/a"), int(3)],
      [api.name("rooms/b"), int(2)],
    ]);
    expect(batch.at(-1).targetChange.readTime).toBe([...times].sort().at(-1));
    await l.quiet();
    l.ws.close();
  });

  it("an evicted object's streams are rebuilt from their stored targets and go on", async () => {
    const api = newApi();
    await api.set("rooms/a", { n: int(1) });
    await api.set("rooms/b", { n: int(2) });
    const l = await Listener.open(api);
    l.send(queryTarget(api, 2));
    await l.untilSnapshot();
    l.send({ addTarget: { targetId: 4, documents: { documents: [api.name("rooms/b")] } } });
    await l.untilSnapshot();
    // Eviction loses every in-memory stream while the hibernated socket stays open; the next
    // instance rebuilds them from the sockets' attachments and the stored targets.
    const stub = env.DATABASE.get(env.DATABASE.idFromName(`${api.project}/(default)`));
    const inObject = runInDurableObject as unknown as (
      stub: unknown,
      run: (instance: any, state: DurableObjectState) => void,
    ) => Promise<void>;
    await inObject(stub, (instance, state) => {
      instance.watch = new WatchHub(state, instance.store, instance.engine, instance.access, () => instance.readNow());
    });
    const commit = await api.commit([
      { update: { name: api.name("rooms/a"), fields: { n: int(5) } } },
      { delete: api.name("rooms/b") },
    ]);
    const batch = await l.untilSnapshot();
    const change = batch.find((m) => m.documentChange)?.documentChange;
    expect(change).toMatchObject({ document: { name: api.name("rooms/a"), fields: { n: int(5) } }, targetIds: [2] });
    expect(batch.find((m) => m.documentDelete)?.documentDelete).toMatchObject({
      document: api.name("rooms/b"),
      removedTargetIds: [2, 4],
    });
    expect(batch.at(-1).targetChange.readTime).toBe(commit.body.commitTime);
    // The rebuilt stream knows its targets: an id in use is refused, a removal is acknowledged.
    l.send(queryTarget(api, 2));
    expect((await l.next())[0].error.message).toMatch(/already in use/);
    l.send({ removeTarget: 4 });
    expect(await l.next()).toEqual([{ targetChange: { targetChangeType: "REMOVE", targetIds: [4] } }]);
    l.ws.close();
  });

  it("bad messages get a clear error and leave the stream and the database unharmed", async () => {
    const api = newApi();
    await api.set("rooms/a", { n: int(1) });
    const l = await Listener.open(api);
    l.send("{not json");
    const [malformed] = await l.next();
    expect(malformed.error).toMatchObject({ code: 400, status: "INVALID_ARGUMENT" });
    expect(malformed.error.message).toMatch(/Invalid JSON/);
    l.send({ addTarget: { targetId: 2, query: { structuredQuery: { from: [{ collectionId: "rooms" }] } }, bogus: 1 } });
    const [unknown] = await l.next();
    expect(unknown.targetChange).toMatchObject({ targetChangeType: "REMOVE", targetIds: [2], cause: { code: 3 } });
    expect(unknown.targetChange.cause.message).toMatch(/bogus/);
    l.send({
      addTarget: { targetId: 2, query: { structuredQuery: { from: [{ collectionId: "rooms" }], limit: -1 } } },
    });
    expect((await l.next())[0].targetChange.cause.message).toMatch(/limit/);
    // A good target, then a second one with the same id: the first keeps working.
    l.send(queryTarget(api, 2));
    await l.untilSnapshot();
    l.send(queryTarget(api, 2));
    const [dup] = await l.next();
    expect(dup.error.message).toMatch(/already in use/);
    l.send([1, 2]);
    expect((await l.next())[0].error.status).toBe("INVALID_ARGUMENT");
    await api.set("rooms/b", { n: int(2) });
    const after = await l.untilSnapshot();
    expect(after[0].documentChange.targetIds).toEqual([2]);
    expect((await api.read("rooms/a"))?.fields).toEqual({ n: int(1) });
    l.ws.close();
  });

  it("a plain GET of a stream endpoint is refused with a status", async () => {
    const api = newApi();
    for (const verb of [":listen", ":write"]) {
      const plain = await api.fetch(verb);
      expect(plain.status).toBe(400);
      expect(((await plain.json()) as any).error.message).toMatch(/WebSocket/);
    }
  });

  it("a closed socket's targets are forgotten", async () => {
    const api = newApi();
    const l = await Listener.open(api);
    l.send(queryTarget(api, 2));
    await l.untilSnapshot();
    l.ws.close(1000, "bye");
    const stub = env.DATABASE.get(env.DATABASE.idFromName(`${api.project}/(default)`));
    let rows = -1;
    for (let i = 0; i < 50 && rows !== 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      rows = await runInDurableObject(stub, (_, state) =>
        Number(state.storage.sql.exec("SELECT count(*) AS n FROM listen_targets").one().n),
      );
    }
    expect(rows).toBe(0);
    // Commits go on without the listener.
    expect((await api.commit([{ update: { name: api.name("rooms/a"), fields: {} } }])).status).toBe(200);
  });
});
