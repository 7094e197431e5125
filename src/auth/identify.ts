/**
 * The caller of a request, from its `Authorization: Bearer …` header (config.ts says what is
 * accepted). No header is an anonymous caller (`request.auth == null` in rules); a header that is
 * not accepted is UNAUTHENTICATED (401), never silently anonymous.
 */
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwtVerify,
} from "jose";
import { Code, FirestoreError, unauthenticated } from "../errors/index.js";
import type { AuthConfig } from "./config.js";

export type Identity =
  /** Bypasses security rules (`Bearer owner` in emulator mode, the admin secret). */
  | { kind: "admin" }
  /** A signed-in user: `request.auth` is `{uid, token}` in rules. */
  | { kind: "user"; uid: string; token: Readonly<Record<string, unknown>> }
  /** No credentials: `request.auth == null`. */
  | { kind: "anonymous" };

export const ADMIN: Identity = Object.freeze({ kind: "admin" });
export const ANONYMOUS: Identity = Object.freeze({ kind: "anonymous" });

/** Clock skew allowed on `exp`, `iat`, `nbf` and `auth_time`, in seconds. */
export const CLOCK_SKEW_S = 60;
/** Verified tokens are remembered this long at most (and never past their expiry). */
const CACHE_MS = 5 * 60_000;
const CACHE_ENTRIES = 1000;

/** Finds the keys of a JWKS URL (remote, cached per isolate; tests pass local sets). */
export type KeyResolver = (jwksUrl: string) => JWTVerifyGetKey;

const remoteSets = new Map<string, JWTVerifyGetKey>();
export const remoteKeys: KeyResolver = (url) => {
  let set = remoteSets.get(url);
  if (!set) {
    set = createRemoteJWKSet(new URL(url), { timeoutDuration: 5000, cooldownDuration: 30_000 });
    remoteSets.set(url, set);
  }
  return set;
};

const cache = new Map<string, { identity: Identity; until: number }>();

/** The identity `authorization` proves for a request to `project`. */
export async function identify(
  authorization: string | undefined | null,
  project: string,
  config: AuthConfig,
  keys: KeyResolver = remoteKeys,
  now: number = Date.now(),
): Promise<Identity> {
  if (authorization === undefined || authorization === null || authorization.trim() === "") return ANONYMOUS;
  const m = /^Bearer +(\S+) *$/i.exec(authorization);
  if (!m) throw unauthenticated('The Authorization header must be "Bearer <token>".');
  const token = m[1] as string;
  if (config.emulator && token === "owner") return ADMIN;
  if (config.adminSecret !== undefined && sameText(token, config.adminSecret)) return ADMIN;

  const key = `${config.emulator ? "e" : "p"}\n${project}\n${token}`;
  const known = cache.get(key);
  if (known && known.until > now) return known.identity;

  let header: { alg?: string };
  let claims: JWTPayload;
  try {
    header = decodeProtectedHeader(token);
    claims = decodeJwt(token);
  } catch {
    throw unauthenticated("The bearer token is neither a JWT nor an accepted admin token.");
  }
  let identity: Identity;
  if (config.emulator) {
    // As the Firebase emulator: the token is read, not verified (mockUserToken is unsigned and long expired).
    identity = user(claims);
  } else if (header.alg === "none") {
    throw unauthenticated("Unsigned tokens (alg: none) are accepted only in emulator mode.");
  } else if (header.alg === "HS256") {
    if (config.adminSecret === undefined) {
      throw unauthenticated("HS256 tokens are accepted only when FLARESTORE_ADMIN_SECRET is set.");
    }
    await verify(token, new TextEncoder().encode(config.adminSecret), { algorithms: ["HS256"] }, now);
    identity = ADMIN;
  } else {
    const firebaseIssuer = `https://securetoken.google.com/${project}`;
    const oidc = config.oidc.find((o) => o.issuer === claims.iss);
    if (claims.iss === firebaseIssuer) {
      const verified = await verify(
        token,
        keys(config.firebaseJwksUrl),
        { algorithms: ["RS256"], issuer: firebaseIssuer, audience: project },
        now,
      );
      identity = user(verified);
    } else if (oidc) {
      const verified = await verify(
        token,
        keys(oidc.jwksUrl),
        {
          issuer: oidc.issuer,
          audience: oidc.audience,
          algorithms: ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"],
        },
        now,
      );
      identity = user(verified);
    } else {
      throw unauthenticated(
        `Tokens from issuer ${JSON.stringify(claims.iss ?? null)} are not accepted here (Firebase ID tokens of this project have issuer "${firebaseIssuer}").`,
      );
    }
  }
  const expires = typeof claims.exp === "number" && !config.emulator ? claims.exp * 1000 : Number.POSITIVE_INFINITY;
  remember(key, identity, Math.min(now + CACHE_MS, expires));
  return identity;
}

async function verify(
  token: string,
  key: JWTVerifyGetKey | Uint8Array,
  options: { algorithms: string[]; issuer?: string; audience?: string },
  now: number,
): Promise<JWTPayload> {
  let payload: JWTPayload;
  try {
    const result =
      key instanceof Uint8Array
        ? await jwtVerify(token, key, { ...options, clockTolerance: CLOCK_SKEW_S, currentDate: new Date(now) })
        : await jwtVerify(token, key, { ...options, clockTolerance: CLOCK_SKEW_S, currentDate: new Date(now) });
    payload = result.payload;
  } catch (e) {
    throw tokenError(e);
  }
  const seconds = now / 1000 + CLOCK_SKEW_S;
  if (typeof payload.iat === "number" && payload.iat > seconds)
    throw unauthenticated("The token is issued in the future (iat).");
  const authTime = (payload as { auth_time?: unknown }).auth_time;
  if (typeof authTime === "number" && authTime > seconds) {
    throw unauthenticated("The token's sign-in is in the future (auth_time).");
  }
  return payload;
}

/** A user identity from (verified or, in emulator mode, read) claims: `sub`, or `user_id`, is the uid. */
function user(claims: JWTPayload): Identity {
  const uid = claims.sub ?? (claims as { user_id?: unknown }).user_id;
  if (typeof uid !== "string" || uid === "" || uid.length > 128) {
    throw unauthenticated('The token names no user: its "sub" must be a string of 1 to 128 characters.');
  }
  return { kind: "user", uid, token: Object.freeze({ ...claims }) };
}

/** jose's errors as UNAUTHENTICATED naming what is wrong (UNAVAILABLE when the issuer's keys cannot be fetched). */
function tokenError(e: unknown): FirestoreError {
  if (e instanceof errors.JWTExpired) return unauthenticated("The token has expired.");
  if (e instanceof errors.JWTClaimValidationFailed) {
    return unauthenticated(`The token's "${e.claim}" claim is not accepted: ${e.reason}.`);
  }
  if (e instanceof errors.JWSSignatureVerificationFailed)
    return unauthenticated("The token's signature does not verify.");
  if (e instanceof errors.JWKSNoMatchingKey)
    return unauthenticated("No key of the token's issuer matches its key id (kid).");
  if (e instanceof errors.JOSEAlgNotAllowed)
    return unauthenticated(`The token's algorithm is not accepted: ${e.message}`);
  if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid || e instanceof TypeError) {
    return new FirestoreError(Code.UNAVAILABLE, "The token issuer's keys could not be fetched; try again.");
  }
  if (e instanceof errors.JOSEError) return unauthenticated(`The token is not accepted: ${e.message}`);
  return new FirestoreError(Code.UNAVAILABLE, `The token could not be checked: ${String(e)}`);
}

function remember(key: string, identity: Identity, until: number): void {
  if (cache.size >= CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
  cache.set(key, { identity, until });
}

/** Compares in time that depends only on the lengths (an admin secret is not guessed byte by byte). */
function sameText(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0;
}
