/**
 * Who may call this deployment, from the Worker's environment (wrangler.toml `[vars]`, secrets, or
 * `npm start`'s bindings). Every setting is optional; the defaults are the safe ones.
 *
 * - `FLARESTORE_MODE`: `production` (the default) or `emulator`. Emulator mode is what the Firebase
 *   emulator does: `Bearer owner` is the admin, and tokens are read without checking signatures or
 *   expiry (unsigned `mockUserToken`s of `@firebase/rules-unit-testing` included). `npm start` runs
 *   in emulator mode.
 * - `FLARESTORE_ADMIN_SECRET` (a secret): `Bearer <secret>`, or an HS256 JWT signed with it, is the
 *   admin, which bypasses security rules as the server SDKs do on Firestore.
 * - `FLARESTORE_JWKS_URL`: where Firebase ID tokens' keys are (Google's securetoken keys by
 *   default). Their issuer must be `https://securetoken.google.com/{project}` and their audience
 *   `{project}`, the project of the request.
 * - `FLARESTORE_OIDC`: more token issuers, a JSON array of `{"issuer", "audience", "jwksUrl"}`, for
 *   teams not on Firebase Auth.
 */
import { Code, FirestoreError } from "../errors/index.js";

export const GOOGLE_SECURETOKEN_JWKS =
  "https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com";

export interface OidcIssuer {
  issuer: string;
  audience: string;
  jwksUrl: string;
}

export interface AuthConfig {
  emulator: boolean;
  adminSecret: string | undefined;
  firebaseJwksUrl: string;
  oidc: readonly OidcIssuer[];
}

/** The settings as the Worker's environment has them (all strings, all optional). */
export interface AuthEnv {
  FLARESTORE_MODE?: string;
  FLARESTORE_ADMIN_SECRET?: string;
  FLARESTORE_JWKS_URL?: string;
  FLARESTORE_OIDC?: string;
}

const parsed = new WeakMap<object, AuthConfig>();

/** The configuration of `env` (read once per environment object). A bad setting is named in the error. */
export function authConfig(env: AuthEnv): AuthConfig {
  const known = parsed.get(env);
  if (known) return known;
  const config = parse(env);
  parsed.set(env, config);
  return config;
}

function parse(env: AuthEnv): AuthConfig {
  const mode = (env.FLARESTORE_MODE ?? "production").trim().toLowerCase();
  if (mode !== "production" && mode !== "emulator") {
    throw misconfigured(`FLARESTORE_MODE must be "production" or "emulator", not "${env.FLARESTORE_MODE}".`);
  }
  const secret = env.FLARESTORE_ADMIN_SECRET?.trim() || undefined;
  if (secret !== undefined && secret.length < 16) {
    throw misconfigured("FLARESTORE_ADMIN_SECRET must be at least 16 characters long.");
  }
  const jwks = env.FLARESTORE_JWKS_URL?.trim() || GOOGLE_SECURETOKEN_JWKS;
  checkUrl(jwks, "FLARESTORE_JWKS_URL");
  return {
    emulator: mode === "emulator",
    adminSecret: secret,
    firebaseJwksUrl: jwks,
    oidc: parseOidc(env.FLARESTORE_OIDC),
  };
}

function parseOidc(text: string | undefined): OidcIssuer[] {
  if (text === undefined || text.trim() === "") return [];
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    throw misconfigured("FLARESTORE_OIDC must be a JSON array of {issuer, audience, jwksUrl}.");
  }
  if (!Array.isArray(list)) throw misconfigured("FLARESTORE_OIDC must be a JSON array of {issuer, audience, jwksUrl}.");
  return list.map((item, i) => {
    const { issuer, audience, jwksUrl } = (item ?? {}) as Record<string, unknown>;
    for (const [name, value] of Object.entries({ issuer, audience, jwksUrl })) {
      if (typeof value !== "string" || value === "") {
        throw misconfigured(`FLARESTORE_OIDC[${i}].${name} must be a non-empty string.`);
      }
    }
    checkUrl(jwksUrl as string, `FLARESTORE_OIDC[${i}].jwksUrl`);
    return { issuer, audience, jwksUrl } as OidcIssuer;
  });
}

function checkUrl(url: string, name: string): void {
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(url);
  } catch {
    throw misconfigured(`${name} is not a URL: "${url}".`);
  }
  if (parsedUrl.protocol !== "https:" && parsedUrl.protocol !== "http:") {
    throw misconfigured(`${name} must be an http(s) URL: "${url}".`);
  }
}

/** A deployment's own mistake, not the caller's: INTERNAL, naming the setting. */
function misconfigured(message: string): FirestoreError {
  return new FirestoreError(Code.INTERNAL, `flarestore is misconfigured: ${message}`);
}
