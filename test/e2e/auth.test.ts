/**
 * A server in production mode (`FLARESTORE_MODE=production`, as a deployment), with an admin
 * secret and Firebase ID tokens signed by a local test JWKS server. With no security rules loaded,
 * only the admin gets in (deny all): the server SDK with the secret reads and writes, over REST and
 * gRPC; signed-in users and anonymous callers are PERMISSION_DENIED; every bad token is a clear 401
 * on every transport, returns no data and writes nothing; the emulator's endpoints are not there.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Firestore } from "@google-cloud/firestore";
import { deleteApp, initializeApp } from "firebase/app";
import { connectFirestoreEmulator, doc, getDoc, getFirestore, setDoc, setLogLevel } from "firebase/firestore/lite";
import { OAuth2Client } from "google-auth-library";
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type RunningServer, startServer } from "../helpers/server.js";

// The lite SDK logs every refused call; these refusals are the point.
setLogLevel("silent");

const SECRET = "e2e-admin-secret-0123456789";
const PROJECT = "e2e-auth-prod";
let server: RunningServer;
let jwks: http.Server;
let signingKey: CryptoKey;
let strangerKey: CryptoKey;
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  signingKey = pair.privateKey;
  strangerKey = (await generateKeyPair("RS256")).privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  jwks = http.createServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
  server = await startServer({
    env: {
      FLARESTORE_MODE: "production",
      FLARESTORE_ADMIN_SECRET: SECRET,
      FLARESTORE_JWKS_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/keys`,
    },
  });
});

afterAll(async () => {
  await server?.stop();
  jwks?.close();
});

function idToken(changes: Record<string, unknown> = {}, key = () => signingKey) {
  return new SignJWT({
    iss: `https://securetoken.google.com/${PROJECT}`,
    aud: PROJECT,
    sub: "alice",
    iat: now() - 10,
    exp: now() + 3600,
    auth_time: now() - 10,
    firebase: { sign_in_provider: "password" },
    ...changes,
  })
    .setProtectedHeader({ alg: "RS256", kid: "k1" })
    .sign(key());
}

const documents = `projects/${PROJECT}/databases/(default)/documents`;

async function call(method: string, path: string, token?: string, body?: unknown) {
  const res = await fetch(`${server.url}/v1/${documents}${path}`, {
    method,
    headers: {
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
      "content-type": "application/json",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (await res.json()) as { error?: { code: number; status: string; message: string } },
  };
}

function admin(transport: "rest" | "grpc"): Firestore {
  if (transport === "grpc") {
    return new Firestore({
      projectId: PROJECT,
      host: "127.0.0.1",
      port: server.port,
      ssl: false,
      customHeaders: { Authorization: `Bearer ${SECRET}` },
    });
  }
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: SECRET, expiry_date: Date.now() + 864e5 });
  return new Firestore({
    projectId: PROJECT,
    host: `127.0.0.1:${server.port}`,
    ssl: false,
    preferRest: true,
    authClient,
  });
}

describe("production mode, no rules loaded", () => {
  it("the admin (the secret, over REST and gRPC) reads and writes", async () => {
    for (const transport of ["rest", "grpc"] as const) {
      const db = admin(transport);
      try {
        await db.doc(`admin/${transport}`).set({ by: transport });
        expect((await db.doc(`admin/${transport}`).get()).data()).toEqual({ by: transport });
      } finally {
        await db.terminate();
      }
    }
  });

  it("a signed-in user and an anonymous caller are PERMISSION_DENIED (no rules: deny all), with the lite SDK", async () => {
    const token = await idToken();
    for (const mock of [token, undefined]) {
      const app = initializeApp({ projectId: PROJECT }, `auth-${Math.random()}`);
      const db = getFirestore(app);
      connectFirestoreEmulator(db, "127.0.0.1", server.port, mock === undefined ? {} : { mockUserToken: mock });
      try {
        await expect(getDoc(doc(db, "admin/rest"))).rejects.toMatchObject({ code: "permission-denied" });
        await expect(setDoc(doc(db, "users/alice"), { x: 1 })).rejects.toMatchObject({ code: "permission-denied" });
      } finally {
        await deleteApp(app);
      }
    }
    const denied = await call("GET", "/admin/rest", token);
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({
      status: "PERMISSION_DENIED",
      message: "Missing or insufficient permissions.",
    });
  });

  it("bad tokens are 401 UNAUTHENTICATED naming why, on REST, gRPC, WebSocket and WebChannel, and write nothing", async () => {
    const bad: [string, string, RegExp][] = [
      ["expired", await idToken({ exp: now() - 3600, iat: now() - 7200, auth_time: now() - 7200 }), /expired/],
      ["wrong signature", await idToken({}, () => strangerKey), /signature/],
      ["wrong audience", await idToken({ aud: "someone-else" }), /"aud"/],
      ["wrong issuer", await idToken({ iss: "https://securetoken.google.com/someone-else" }), /not accepted here/],
      [
        "unsigned",
        new UnsecuredJWT({ sub: "alice", iss: `https://securetoken.google.com/${PROJECT}`, aud: PROJECT }).encode(),
        /emulator mode/,
      ],
      ["the emulator's owner", "owner", /neither a JWT/],
      ["garbage", "%%%", /neither a JWT/],
    ];
    for (const [what, token, message] of bad) {
      const write = await call("POST", ":commit", token, {
        writes: [
          { update: { name: `${documents}/bad/${what.replace(/\W/g, "-")}`, fields: { x: { integerValue: "1" } } } },
        ],
      });
      expect([what, write.status]).toEqual([what, 401]);
      expect(write.body.error?.status).toBe("UNAUTHENTICATED");
      expect(write.body.error?.message, what).toMatch(message);
      const read = await call("GET", "/admin/rest", token);
      expect([what, read.status, JSON.stringify(read.body).includes('"by"')]).toEqual([what, 401, false]);
    }
    const db = admin("rest");
    try {
      expect((await db.collection("bad").get()).size).toBe(0);
    } finally {
      await db.terminate();
    }

    // gRPC: the server SDK with an expired token gets UNAUTHENTICATED (16).
    const expired = await idToken({ exp: now() - 3600, iat: now() - 7200, auth_time: now() - 7200 });
    const grpc = new Firestore({
      projectId: PROJECT,
      host: "127.0.0.1",
      port: server.port,
      ssl: false,
      customHeaders: { Authorization: `Bearer ${expired}` },
    });
    try {
      await expect(grpc.doc("admin/rest").get()).rejects.toMatchObject({ code: 16 });
    } finally {
      await grpc.terminate();
    }

    // A WebSocket Listen stream: refused at the upgrade, the token in its header or in access_token=.
    const ws = (url: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(url, { headers });
        socket.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
        socket.on("open", () => {
          socket.close();
          resolve(101);
        });
        socket.on("error", () => resolve(-1));
      });
    const listen = `${server.url.replace("http", "ws")}/v1/${documents}:listen`;
    expect(await ws(listen, { authorization: `Bearer ${expired}` })).toBe(401);
    expect(await ws(`${listen}?access_token=${encodeURIComponent(expired)}`)).toBe(401);
    expect(await ws(`${listen}?access_token=${SECRET}`)).toBe(101);
    // Without credentials the stream opens (as Firestore's does), but production without rules
    // denies its targets: a REMOVE with PERMISSION_DENIED as its cause, and no data.
    const anonymous = await new Promise<any>((resolve, reject) => {
      const socket = new WebSocket(listen);
      socket.on("open", () =>
        socket.send(
          JSON.stringify({ addTarget: { targetId: 1, documents: { documents: [`${documents}/admin/rest`] } } }),
        ),
      );
      socket.on("message", (data) => {
        resolve(JSON.parse(String(data)));
        socket.close();
      });
      socket.on("error", reject);
    });
    expect(anonymous.targetChange).toMatchObject({ targetChangeType: "REMOVE", targetIds: [1], cause: { code: 7 } });

    // A WebChannel handshake carries the token in its body's header block.
    const handshake = await fetch(
      `${server.url}/google.firestore.v1.Firestore/Listen/channel?VER=8&database=projects%2F${PROJECT}%2Fdatabases%2F(default)&RID=1&CVER=22&t=1`,
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: `headers=${encodeURIComponent(`Authorization:Bearer ${expired}\r\n`)}&count=0`,
      },
    );
    expect(handshake.status).toBe(401);
  });

  it("with rules loaded by the admin, a verified user gets what the rules allow, and no more", async () => {
    const project = `${PROJECT}-ruled`;
    const rules = `rules_version = '2';
service cloud.firestore {
  match /databases/{database}/documents {
    match /users/{uid} { allow read, write: if request.auth.uid == uid; }
  }
}`;
    const put = (authorization?: string) =>
      fetch(`${server.url}/emulator/v1/projects/${project}:securityRules`, {
        method: "PUT",
        headers: authorization ? { authorization } : {},
        body: JSON.stringify({ rules: { files: [{ content: rules }] } }),
      });
    expect((await put()).status).toBe(404);
    expect(
      (await put(`Bearer ${await idToken({ iss: `https://securetoken.google.com/${project}`, aud: project })}`)).status,
    ).toBe(404);
    expect((await put(`Bearer ${SECRET}`)).status).toBe(200);

    const user = (uid: string) => idToken({ iss: `https://securetoken.google.com/${project}`, aud: project, sub: uid });
    const docs = `projects/${project}/databases/(default)/documents`;
    const write = async (token: string, path: string) => {
      const res = await fetch(`${server.url}/v1/${docs}/${path}`, {
        method: "PATCH",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ fields: { n: { integerValue: "1" } } }),
      });
      return { status: res.status, body: (await res.json()) as { error?: { message: string } } };
    };
    expect((await write(await user("alice"), "users/alice")).status).toBe(200);
    const denied = await write(await user("alice"), "users/bob");
    expect(denied.status).toBe(403);
    // Production says no more than Firestore does.
    expect(denied.body.error?.message).toBe("Missing or insufficient permissions.");
    expect((await write(SECRET, "users/bob")).status).toBe(200);

    // A Listen stream opened with a verified token (access_token=, as a browser's WebSocket sends it):
    // her own document is sent, bob's target is removed with PERMISSION_DENIED and none of its data.
    const token = await user("alice");
    const socket = new WebSocket(
      `${server.url.replace("http", "ws")}/v1/${docs}:listen?access_token=${encodeURIComponent(token)}`,
    );
    const messages: any[] = [];
    socket.on("message", (data) => messages.push(JSON.parse(String(data))));
    await new Promise<void>((resolve, reject) => {
      socket.on("open", () => resolve());
      socket.on("error", reject);
    });
    try {
      socket.send(JSON.stringify({ addTarget: { targetId: 1, documents: { documents: [`${docs}/users/alice`] } } }));
      socket.send(JSON.stringify({ addTarget: { targetId: 2, documents: { documents: [`${docs}/users/bob`] } } }));
      const deadline = Date.now() + 10_000;
      while (!messages.some((m) => m.targetChange?.cause) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      const changes = messages.filter((m) => m.documentChange).map((m) => m.documentChange.document.name);
      expect(changes).toEqual([`${docs}/users/alice`]);
      expect(messages.find((m) => m.targetChange?.cause)?.targetChange).toEqual({
        targetChangeType: "REMOVE",
        targetIds: [2],
        cause: { code: 7, message: "Missing or insufficient permissions." },
      });
    } finally {
      socket.close();
    }
  });

  it("the emulator's endpoints exist only for the admin", async () => {
    const reset = (token?: string) =>
      fetch(`${server.url}/emulator/v1/projects/${PROJECT}/databases/(default)/documents`, {
        method: "DELETE",
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      });
    expect((await reset()).status).toBe(404);
    expect((await reset(await idToken())).status).toBe(404);
    expect((await reset(SECRET)).status).toBe(200);
    // So do the branch endpoints, and a branch chosen by header.
    const branches = (token?: string) =>
      fetch(`${server.url}/emulator/v1/branches`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    expect((await branches()).status).toBe(404);
    expect((await branches(await idToken())).status).toBe(404);
    expect((await branches(SECRET)).status).toBe(200);
    const onBranch = (token: string) =>
      fetch(`${server.url}/v1/${documents}/admin/rest`, {
        headers: { authorization: `Bearer ${token}`, "x-flarestore-branch": "pr-1" },
      });
    const refused = await onBranch(await idToken());
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as any).error.message).toMatch(/Only the admin may choose a branch/);
    expect((await onBranch(SECRET)).status).toBe(404); // the admin reaches pr-1's (empty) database
  });
});
