/**
 * Identity from bearer tokens (src/auth): emulator mode as the Firebase emulator, production mode
 * with Firebase ID tokens (RS256, keys from a JWKS), OIDC issuers and the admin secret; every token
 * that is not accepted is UNAUTHENTICATED naming why; bad settings are named too.
 */
import { createLocalJWKSet, exportJWK, generateKeyPair, type JWK, SignJWT, UnsecuredJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { type AuthConfig, authConfig } from "../../src/auth/config.js";
import { identify, type KeyResolver } from "../../src/auth/identify.js";
import { Code, FirestoreError } from "../../src/errors/index.js";

const PROJECT = "demo-auth";
const NOW = Date.UTC(2026, 11, 2, 12, 0, 0);
const SECONDS = NOW / 1000;
const SECRET = "a-very-long-admin-secret";

const production: AuthConfig = authConfig({
  FLARESTORE_MODE: "production",
  FLARESTORE_ADMIN_SECRET: SECRET,
  FLARESTORE_JWKS_URL: "https://keys.test/firebase",
  FLARESTORE_OIDC: JSON.stringify([
    { issuer: "https://idp.test", audience: "flarestore", jwksUrl: "https://keys.test/idp" },
  ]),
});
const emulator: AuthConfig = authConfig({ FLARESTORE_MODE: "emulator" });

let firebaseKey: CryptoKey;
let otherKey: CryptoKey;
let idpKey: CryptoKey;
let keys: KeyResolver;
let fetched: string[];

beforeAll(async () => {
  const jwk = async (kid: string) => {
    const pair = await generateKeyPair("RS256", { extractable: true });
    return { pair, jwk: { ...(await exportJWK(pair.publicKey)), kid, alg: "RS256", use: "sig" } as JWK };
  };
  const firebase = await jwk("fb1");
  const other = await jwk("fb1"); // same kid, another key: a forged signature
  const idp = await jwk("idp1");
  firebaseKey = firebase.pair.privateKey;
  otherKey = other.pair.privateKey;
  idpKey = idp.pair.privateKey;
  const sets: Record<string, ReturnType<typeof createLocalJWKSet>> = {
    "https://keys.test/firebase": createLocalJWKSet({ keys: [firebase.jwk] }),
    "https://keys.test/idp": createLocalJWKSet({ keys: [idp.jwk] }),
  };
  fetched = [];
  keys = (url) => {
    fetched.push(url);
    const set = sets[url];
    if (!set) throw new Error(`no keys at ${url}`);
    return set;
  };
});

/** A Firebase ID token as Firebase Auth signs it, with `changes` to the claims. */
function firebaseToken(changes: Record<string, unknown> = {}, key = () => firebaseKey, kid = "fb1") {
  const claims = {
    iss: `https://securetoken.google.com/${PROJECT}`,
    aud: PROJECT,
    sub: "alice",
    user_id: "alice",
    iat: SECONDS - 60,
    exp: SECONDS + 3600,
    auth_time: SECONDS - 60,
    email: "alice@example.com",
    firebase: { sign_in_provider: "password", identities: {} },
    ...changes,
  };
  return new SignJWT(claims).setProtectedHeader({ alg: "RS256", kid }).sign(key());
}

async function rejected(promise: Promise<unknown>): Promise<FirestoreError> {
  try {
    await promise;
  } catch (e) {
    expect(e).toBeInstanceOf(FirestoreError);
    return e as FirestoreError;
  }
  throw new Error("expected a rejection");
}

const bearer = (token: string) => `Bearer ${token}`;

describe("emulator mode (the Firebase emulator's rules)", () => {
  it("no header is anonymous, `owner` is the admin, an unsigned mockUserToken is the user it names", async () => {
    expect(await identify(undefined, PROJECT, emulator, keys, NOW)).toEqual({ kind: "anonymous" });
    expect(await identify("", PROJECT, emulator, keys, NOW)).toEqual({ kind: "anonymous" });
    expect(await identify("Bearer owner", PROJECT, emulator, keys, NOW)).toEqual({ kind: "admin" });
    // What connectFirestoreEmulator(db, h, p, { mockUserToken }) sends: alg none, expired in 1970.
    const mock = new UnsecuredJWT({
      iss: `https://securetoken.google.com/${PROJECT}`,
      aud: PROJECT,
      iat: 0,
      exp: 3600,
      auth_time: 0,
      sub: "bob",
      user_id: "bob",
      email: "bob@example.com",
      firebase: { sign_in_provider: "custom", identities: {} },
    }).encode();
    const bob = await identify(bearer(mock), PROJECT, emulator, keys, NOW);
    expect(bob).toMatchObject({ kind: "user", uid: "bob", token: { email: "bob@example.com" } });
    expect(fetched).toEqual([]);
  });

  it("garbage, another scheme, or a token naming no user is UNAUTHENTICATED", async () => {
    for (const header of ["Bearer not-a-jwt", "Basic b3duZXI=", "owner", "Bearer a.b.c"]) {
      expect((await rejected(identify(header, PROJECT, emulator, keys, NOW))).code).toBe(Code.UNAUTHENTICATED);
    }
    const nobody = new UnsecuredJWT({ email: "x@example.com" }).encode();
    expect((await rejected(identify(bearer(nobody), PROJECT, emulator, keys, NOW))).message).toMatch(/names no user/);
  });
});

describe("production mode", () => {
  it("a Firebase ID token of the project is its user, with every claim", async () => {
    const token = await firebaseToken({ admin: true });
    const alice = await identify(bearer(token), PROJECT, production, keys, NOW);
    expect(alice).toMatchObject({ kind: "user", uid: "alice", token: { email: "alice@example.com", admin: true } });
    expect(fetched.at(-1)).toBe("https://keys.test/firebase");
  });

  it("the admin: the secret itself, or an HS256 JWT signed with it", async () => {
    expect(await identify(bearer(SECRET), PROJECT, production, keys, NOW)).toEqual({ kind: "admin" });
    const jwt = await new SignJWT({ sub: "ci" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuedAt(SECONDS)
      .setExpirationTime(SECONDS + 60)
      .sign(new TextEncoder().encode(SECRET));
    expect(await identify(bearer(jwt), PROJECT, production, keys, NOW)).toEqual({ kind: "admin" });
    const forged = await new SignJWT({ sub: "ci" })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(`${SECRET}!`));
    expect((await rejected(identify(bearer(forged), PROJECT, production, keys, NOW))).message).toMatch(/signature/);
  });

  it("refuses, each with its reason: owner, unsigned, expired, wrong audience or issuer, forged, unknown key, future iat", async () => {
    const cases: [string, Promise<string> | string, RegExp][] = [
      ["owner", "owner", /neither a JWT/],
      [
        "unsigned",
        new UnsecuredJWT({ sub: "alice", iss: `https://securetoken.google.com/${PROJECT}`, aud: PROJECT }).encode(),
        /emulator mode/,
      ],
      ["expired", firebaseToken({ exp: SECONDS - 120 }), /expired/],
      ["wrong audience", firebaseToken({ aud: "other" }), /"aud" claim/],
      [
        "another project's token",
        firebaseToken({ iss: "https://securetoken.google.com/other", aud: "other" }),
        /not accepted here/,
      ],
      ["forged with the same kid", firebaseToken({}, () => otherKey), /signature/],
      ["unknown kid", firebaseToken({}, () => firebaseKey, "nope"), /key id/],
      ["issued in the future", firebaseToken({ iat: SECONDS + 600 }), /future/],
      ["sign-in in the future", firebaseToken({ auth_time: SECONDS + 600 }), /future/],
      ["no subject", firebaseToken({ sub: undefined, user_id: undefined }), /names no user|"sub"/],
      ["garbage", "x.y.z", /neither a JWT/],
    ];
    for (const [what, token, message] of cases) {
      const error = await rejected(identify(bearer(await token), PROJECT, production, keys, NOW));
      expect([what, error.code]).toEqual([what, Code.UNAUTHENTICATED]);
      expect(error.message, what).toMatch(message);
    }
    // Within the allowed clock skew, an expiry just past is still accepted.
    const justExpired = await firebaseToken({ exp: SECONDS - 30 });
    expect((await identify(bearer(justExpired), PROJECT, production, keys, NOW)).kind).toBe("user");
  });

  it("an OIDC issuer from FLARESTORE_OIDC, checked against its own keys and audience", async () => {
    const token = (aud: string) =>
      new SignJWT({ iss: "https://idp.test", aud, sub: "carol", iat: SECONDS, exp: SECONDS + 60 })
        .setProtectedHeader({ alg: "RS256", kid: "idp1" })
        .sign(idpKey);
    expect(await identify(bearer(await token("flarestore")), PROJECT, production, keys, NOW)).toMatchObject({
      kind: "user",
      uid: "carol",
    });
    expect((await rejected(identify(bearer(await token("else")), PROJECT, production, keys, NOW))).message).toMatch(
      /"aud"/,
    );
  });

  it("keys that cannot be fetched are UNAVAILABLE (try again), not a verdict on the token", async () => {
    const broken = authConfig({ FLARESTORE_MODE: "production", FLARESTORE_JWKS_URL: "https://keys.test/missing" });
    const failing: KeyResolver = () => async () => {
      throw new TypeError("fetch failed");
    };
    const error = await rejected(identify(bearer(await firebaseToken({ sub: "dave" })), PROJECT, broken, failing, NOW));
    expect(error.code).toBe(Code.UNAVAILABLE);
  });
});

describe("settings", () => {
  it("production by default; a bad setting is named", () => {
    expect(authConfig({}).emulator).toBe(false);
    const bad = (env: Record<string, string>) => {
      try {
        authConfig(env);
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error("expected a refusal");
    };
    expect(bad({ FLARESTORE_MODE: "dev" })).toMatch(/FLARESTORE_MODE/);
    expect(bad({ FLARESTORE_ADMIN_SECRET: "short" })).toMatch(/at least 16/);
    expect(bad({ FLARESTORE_OIDC: "{" })).toMatch(/FLARESTORE_OIDC must be a JSON array/);
    expect(bad({ FLARESTORE_OIDC: '[{"issuer":"x"}]' })).toMatch(/FLARESTORE_OIDC\[0\]\.audience/);
    expect(bad({ FLARESTORE_JWKS_URL: "ftp://x" })).toMatch(/http\(s\)/);
  });
});
