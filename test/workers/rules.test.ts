/**
 * Security rules on requests, inside workerd (emulator mode: unsigned tokens name their user,
 * `Bearer owner` is the admin): rules loaded with the emulator's endpoint decide document reads,
 * writes (with `request.resource` and `getAfter()` over the whole commit), batches and queries;
 * a denial is PERMISSION_DENIED and writes nothing; Listen targets and Write streams are checked as
 * the stream's caller's; server calls rules cannot decide (collection ids, partitions) are the admin's.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { int, Listener, newApi, openWrite, str } from "./helpers.js";

const RULES = `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    function signedIn() { return request.auth != null; }
    match /users/{uid} {
      allow read, write: if signedIn() && request.auth.uid == uid;
    }
    match /posts/{id} {
      allow get: if resource.data.public == true || resource.data.owner == request.auth.uid;
      allow list: if resource.data.owner == request.auth.uid;
      allow create: if request.resource.data.owner == request.auth.uid
        && request.resource.data.keys().hasOnly(['owner', 'public', 'title']);
      allow update, delete: if resource.data.owner == request.auth.uid;
    }
    match /rooms/{room} {
      allow read: if get(/databases/$(database)/documents/members/$(request.auth.uid)).data.room == room;
    }
    match /counters/c { allow read, update: if signedIn(); }
    match /items/{item} {
      allow create: if getAfter(/databases/$(database)/documents/counters/c).data.n
        == get(/databases/$(database)/documents/counters/c).data.n + 1;
    }
  }
}`;

/** An unsigned token for `uid`, as connectFirestoreEmulator's mockUserToken sends it. */
function token(uid: string): string {
  const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  return `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: uid, user_id: uid, iat: 0, exp: 3600 })}.`;
}

/** The Authorization header of `who` (a user id, or "admin"). */
function auth(who: string): Record<string, string> {
  return { authorization: who === "admin" ? "Bearer owner" : `Bearer ${token(who)}` };
}

function as(who: string | null) {
  const api = base;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (who === "admin") headers.authorization = "Bearer owner";
  else if (who !== null) headers.authorization = `Bearer ${token(who)}`;
  const send = async (method: string, suffix: string, body?: unknown) => {
    const res = await api.fetch(suffix, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  return {
    send,
    get: (path: string) => send("GET", `/${path}`),
    commit: (writes: unknown[]) => send("POST", ":commit", { writes }),
    batchWrite: (writes: unknown[]) => send("POST", ":batchWrite", { writes }),
    batchGet: (paths: string[]) => send("POST", ":batchGet", { documents: paths.map((p) => api.name(p)) }),
    query: (structuredQuery: unknown) => send("POST", ":runQuery", { structuredQuery }),
    listCollectionIds: () => send("POST", ":listCollectionIds", {}),
  };
}

const base = newApi();
const update = (path: string, fields: Record<string, unknown>) => ({ update: { name: base.name(path), fields } });

async function loadRules(source: string, project = base.project) {
  const res = await SELF.fetch(`http://flarestore.test/emulator/v1/projects/${project}:securityRules`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ rules: { files: [{ name: "firestore.rules", content: source }] } }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe("security rules on requests", () => {
  it("loads rules with the emulator's endpoint; a file that does not parse is refused with its line and column", async () => {
    const admin = as("admin");
    expect(
      (await admin.commit([update("posts/p1", { owner: str("alice"), public: { booleanValue: false } })])).status,
    ).toBe(200);
    expect(
      (await admin.commit([update("posts/p2", { owner: str("bob"), public: { booleanValue: true } })])).status,
    ).toBe(200);
    expect((await admin.commit([update("members/alice", { room: str("r1") })])).status).toBe(200);
    expect((await admin.commit([update("rooms/r1", { n: int(1) }), update("rooms/r2", { n: int(2) })])).status).toBe(
      200,
    );
    expect((await admin.commit([update("counters/c", { n: int(0) })])).status).toBe(200);

    const bad = await loadRules("service cloud.firestore {\n  match /a { allow read: if ; }\n}");
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/^firestore\.rules:2:29: /);
    expect((await loadRules(RULES)).status).toBe(200);
    const got = await SELF.fetch(`http://flarestore.test/emulator/v1/projects/${base.project}:securityRules`);
    expect(((await got.json()) as any).rules.files[0].content).toBe(RULES);
  });

  it("document reads: the owner, a public document, a get() lookup; others and anonymous callers are denied", async () => {
    expect((await as("alice").get("posts/p1")).status).toBe(200);
    expect((await as("alice").get("posts/p2")).status).toBe(200); // public
    const denied = await as("bob").get("posts/p1");
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({
      status: "PERMISSION_DENIED",
      message: expect.stringMatching(/^Missing or insufficient permissions\./),
    });
    // In emulator mode the message says why, as the Firebase emulator's does.
    expect(denied.body.error.message).toMatch(
      /\(no rule allows get on \/databases\/\(default\)\/documents\/posts\/p1|conditions failed/,
    );
    expect((await as(null).get("posts/p1")).status).toBe(403);
    expect((await as("admin").get("posts/p1")).status).toBe(200);
    expect((await as("alice").get("rooms/r1")).status).toBe(200);
    expect((await as("alice").get("rooms/r2")).status).toBe(403);
    expect((await as("carol").get("rooms/r1")).status).toBe(403); // no member document: get() is null
    // A read of a missing document is decided by the rules too (and then answered NOT_FOUND).
    expect((await as("alice").get("users/alice")).status).toBe(404);
    expect((await as("bob").get("users/alice")).status).toBe(403);
  });

  it("batchGet is denied whole when one document is", async () => {
    expect((await as("alice").batchGet(["posts/p1", "posts/p2"])).status).toBe(200);
    expect((await as("alice").batchGet(["posts/p1", "users/bob"])).status).toBe(403);
  });

  it("writes: request.resource validation, create/update/delete, and a denied commit writes nothing", async () => {
    const alice = as("alice");
    expect((await alice.commit([update("posts/p3", { owner: str("alice"), title: str("hi") })])).status).toBe(200);
    expect((await alice.commit([update("posts/p4", { owner: str("bob") })])).status).toBe(403);
    expect((await alice.commit([update("posts/p5", { owner: str("alice"), extra: int(1) })])).status).toBe(403);
    expect((await as("bob").commit([{ delete: base.name("posts/p3") }])).status).toBe(403);
    // Two writes, the second denied: neither is applied.
    const mixed = await alice.commit([update("users/alice", { n: int(1) }), update("users/bob", { n: int(1) })]);
    expect(mixed.status).toBe(403);
    expect((await as("admin").get("users/alice")).status).toBe(404);
    expect((await as("admin").get("posts/p4")).status).toBe(404);
    expect((await alice.commit([{ delete: base.name("posts/p3") }])).status).toBe(200);
  });

  it("getAfter() sees the whole commit", async () => {
    const alice = as("alice");
    const item = update("items/i1", { x: int(1) });
    expect((await alice.commit([item])).status).toBe(403);
    const both = await alice.commit([item, update("counters/c", { n: int(1) })]);
    expect(both.status, JSON.stringify(both.body)).toBe(200);
  });

  it("batchWrite: each write on its own; a denied one is PERMISSION_DENIED and the others apply", async () => {
    const res = await as("alice").batchWrite([
      update("users/alice", { n: int(2) }),
      update("users/bob", { n: int(2) }),
    ]);
    expect(res.status).toBe(200);
    expect(res.body.status.map((s: { code?: number }) => s.code ?? 0)).toEqual([0, 7]);
    expect((await as("admin").get("users/alice")).body.fields).toEqual({ n: int(2) });
    expect((await as("admin").get("users/bob")).status).toBe(404);
  });

  it("queries: allowed only when the rules allow every document they could return", async () => {
    const mine = {
      from: [{ collectionId: "posts" }],
      where: { fieldFilter: { field: { fieldPath: "owner" }, op: "EQUAL", value: str("alice") } },
    };
    const ok = await as("alice").query(mine);
    expect(ok.status).toBe(200);
    expect(ok.body.filter((r: { document?: unknown }) => r.document).length).toBe(1);
    expect((await as("bob").query(mine)).status).toBe(403);
    expect((await as("alice").query({ from: [{ collectionId: "posts" }] })).status).toBe(403);
    // A listing is a query of the whole collection.
    expect((await as("alice").get("posts")).status).toBe(403);
    expect((await as("admin").get("posts")).status).toBe(200);
  });

  it("server calls rules cannot decide (listing collection ids, partitioning) are the admin's", async () => {
    const denied = await as("alice").listCollectionIds();
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toMatch(/Listing collection ids is for servers/);
    expect((await as("admin").listCollectionIds()).status).toBe(200);
    const partition = (who: string) =>
      as(who).send("POST", ":partitionQuery", {
        structuredQuery: {
          from: [{ collectionId: "posts", allDescendants: true }],
          orderBy: [{ field: { fieldPath: "__name__" } }],
        },
        partitionCount: "2",
      });
    expect((await partition("alice")).status).toBe(403);
    expect((await partition("admin")).status).toBe(200);
  });

  it("a batchGet's documents share 20 lookups, each at most 10 (Cloud Firestore's limits)", async () => {
    const other = newApi();
    const checks = [1, 2, 3, 4, 5, 6]
      .map((i) => `!exists(/databases/$(database)/documents/x/$(id + '-${i}'))`)
      .join(" && ");
    const rules = `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /g/{id} { allow read: if ${checks}; }
  }
}`;
    expect((await loadRules(rules, other.project)).status).toBe(200);
    const batchGet = (ids: string[]) => other.post(":batchGet", { documents: ids.map((id) => other.name(`g/${id}`)) });
    // Six lookups a document: three documents make 18, four would make 24.
    expect((await batchGet(["a", "b", "c"])).status).toBe(200);
    const over = await batchGet(["a", "b", "c", "d"]);
    expect(over.status).toBe(403);
    expect(over.body.error.message).toMatch(/more than 20 document lookups/);
    expect((await other.get("/g/d")).status).toBe(404); // alone, 6 lookups: allowed (and missing)
  });

  it("Listen targets: each checked as the stream's caller's read; a denied one is removed with PERMISSION_DENIED, the stream goes on", async () => {
    const bob = await Listener.open(base, auth("bob"));
    // A document bob may not read: REMOVE with cause 7, and none of its data.
    bob.send({ addTarget: { targetId: 1, documents: { documents: [base.name("posts/p1")] } } });
    const [denied] = await bob.next();
    expect(denied.targetChange).toMatchObject({
      targetChangeType: "REMOVE",
      targetIds: [1],
      cause: { code: 7, message: expect.stringMatching(/^Missing or insufficient permissions\./) },
    });
    // The same stream goes on: a public document, then a query of his own posts.
    bob.send({ addTarget: { targetId: 2, documents: { documents: [base.name("posts/p2")] } } });
    const p2 = await bob.untilSnapshot();
    expect(p2.find((m) => m.documentChange)?.documentChange.document.name).toBe(base.name("posts/p2"));
    const own = {
      parent: `${base.db}/documents`,
      structuredQuery: {
        from: [{ collectionId: "posts" }],
        where: { fieldFilter: { field: { fieldPath: "owner" }, op: "EQUAL", value: str("bob") } },
      },
    };
    bob.send({ addTarget: { targetId: 3, query: own } });
    expect((await bob.untilSnapshot()).some((m) => m.targetChange?.targetChangeType === "CURRENT")).toBe(true);
    // A query that could return others' posts is denied whole ("rules are not filters").
    bob.send({ addTarget: { targetId: 4, query: { ...own, structuredQuery: { from: [{ collectionId: "posts" }] } } } });
    expect((await bob.next())[0].targetChange).toMatchObject({
      targetChangeType: "REMOVE",
      targetIds: [4],
      cause: { code: 7 },
    });
    bob.ws.close();

    // An anonymous stream (no credentials) is the rules' `request.auth == null`.
    const anonymous = await Listener.open(base);
    anonymous.send({ addTarget: { targetId: 1, documents: { documents: [base.name("users/alice")] } } });
    expect((await anonymous.next())[0].targetChange).toMatchObject({ targetIds: [1], cause: { code: 7 } });
    anonymous.ws.close();
    // The admin reads anything.
    const admin = await Listener.open(base, { authorization: "Bearer owner" });
    admin.send({
      addTarget: { targetId: 1, query: { ...own, structuredQuery: { from: [{ collectionId: "posts" }] } } },
    });
    expect((await admin.untilSnapshot()).filter((m) => m.documentChange).length).toBeGreaterThan(1);
    admin.ws.close();
  });

  it("a documents target is checked again when its document changes: a change that takes the caller's access away never reaches them", async () => {
    const admin = as("admin");
    expect(
      (await admin.commit([update("posts/shared", { owner: str("bob"), public: { booleanValue: true } })])).status,
    ).toBe(200);
    const carol = await Listener.open(base, auth("carol"));
    carol.send({ addTarget: { targetId: 7, documents: { documents: [base.name("posts/shared")] } } });
    expect((await carol.untilSnapshot()).some((m) => m.documentChange)).toBe(true);
    // Still public: carol hears of the change.
    expect(
      (
        await admin.commit([
          update("posts/shared", { owner: str("bob"), public: { booleanValue: true }, title: str("v2") }),
        ])
      ).status,
    ).toBe(200);
    const v2 = await carol.untilSnapshot();
    expect(v2.find((m) => m.documentChange)?.documentChange.document.fields.title).toEqual(str("v2"));
    // Made private: the target is removed with PERMISSION_DENIED, and the private state is not sent.
    expect(
      (
        await admin.commit([
          update("posts/shared", { owner: str("bob"), public: { booleanValue: false }, title: str("secret") }),
        ])
      ).status,
    ).toBe(200);
    const [removed] = await carol.next();
    expect(removed.targetChange).toMatchObject({ targetChangeType: "REMOVE", targetIds: [7], cause: { code: 7 } });
    await carol.quiet(200);
    carol.ws.close();
  });

  it("loading new rules checks every open stream's targets again", async () => {
    const alice = await Listener.open(base, auth("alice"));
    alice.send({ addTarget: { targetId: 5, documents: { documents: [base.name("rooms/r1")] } } });
    expect((await alice.untilSnapshot()).some((m) => m.documentChange)).toBe(true);
    alice.send({ addTarget: { targetId: 6, documents: { documents: [base.name("users/alice")] } } });
    await alice.untilSnapshot();
    // New rules without the rooms: the rooms target goes; her own user document stays.
    const noRooms = RULES.replace(/match \/rooms\/\{room\} \{[^}]*\}/, "");
    expect(noRooms).not.toBe(RULES);
    expect((await loadRules(noRooms)).status).toBe(200);
    try {
      const [removed] = await alice.next();
      expect(removed.targetChange).toMatchObject({ targetChangeType: "REMOVE", targetIds: [5], cause: { code: 7 } });
      expect((await as("admin").commit([update("users/alice", { n: int(9) })])).status).toBe(200);
      const still = await alice.untilSnapshot();
      expect(still.find((m) => m.documentChange)?.documentChange).toMatchObject({ targetIds: [6] });
    } finally {
      expect((await loadRules(RULES)).status).toBe(200);
      alice.ws.close();
    }
  });

  it("Write streams: each batch is checked as the stream's caller's commit; a denied one writes nothing and ends the stream", async () => {
    const w = await openWrite(base, auth("alice"));
    w.send({ database: base.db });
    const open = await w.next();
    w.send({ streamToken: open.streamToken, writes: [update("users/alice", { w: int(1) })] });
    expect((await w.next()).writeResults).toHaveLength(1);
    w.send({
      streamToken: open.streamToken,
      writes: [update("users/alice", { w: int(2) }), update("users/bob", { w: int(2) })],
    });
    const denied = await w.next();
    expect(denied.error).toMatchObject({ code: 403, status: "PERMISSION_DENIED" });
    expect((await w.closedWith()).code).toBe(1000);
    expect((await as("admin").get("users/alice")).body.fields.w).toEqual(int(1));
    expect((await as("admin").get("users/bob")).body.fields?.w).toBeUndefined();
    // Anonymous streams write only what the rules allow anyone to (nothing here).
    const anon = await openWrite(base);
    anon.send({ database: base.db });
    const t = await anon.next();
    anon.send({ streamToken: t.streamToken, writes: [update("users/alice", { w: int(3) })] });
    expect((await anon.next()).error).toMatchObject({ status: "PERMISSION_DENIED" });
  });

  it("emptying the database (the emulator's DELETE) keeps its rules, as the Firebase emulator does", async () => {
    const other = newApi();
    expect((await loadRules(RULES, other.project)).status).toBe(200);
    const reset = await SELF.fetch(
      `http://flarestore.test/emulator/v1/projects/${other.project}/databases/(default)/documents`,
      {
        method: "DELETE",
      },
    );
    expect(reset.status).toBe(200);
    const got = await SELF.fetch(`http://flarestore.test/emulator/v1/projects/${other.project}:securityRules`);
    expect(((await got.json()) as any).rules.files[0].content).toBe(RULES);
  });

  it("without rules, another project stays open (emulator mode)", async () => {
    const other = newApi();
    const res = await other.fetch(":commit", {
      method: "POST",
      headers: { authorization: `Bearer ${token("zed")}` },
      body: JSON.stringify({ writes: [{ update: { name: other.name("x/y"), fields: {} } }] }),
    });
    expect(res.status).toBe(200);
  });
});
