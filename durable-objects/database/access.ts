/**
 * Who may do what in this database: the caller's identity (authenticated by the Worker,
 * src/middleware/auth.ts) against the database's security rules (src/rules), here where every
 * read and write happens, so `get()`/`exists()` read a consistent state and `getAfter()` sees the
 * commit's own result.
 *
 * - The admin may do everything.
 * - The rules are the database's own (`PUT /emulator/v1/projects/{p}:securityRules`), else the
 *   project's `firestore.rules`: given at start-up by `npm start` (`FLARESTORE_RULES_SOURCE`), or
 *   bundled into the Worker when it was built (`@flarestore/rules`, see scripts/rules-module.mjs).
 * - With rules, every document read, write
 *   and query is decided by them, Listen targets and Write-stream writes included; what they
 *   cannot decide (listing collection ids, partitions: server calls) is refused to all but the admin.
 * - Without rules, emulator mode allows everything and production denies everything, as Firestore
 *   does without rules.
 */
import BUNDLED_SOURCE from "@flarestore/rules";
import type { Identity } from "../../src/auth/identify.js";
import { FirestoreError, failedPrecondition, permissionDenied } from "../../src/errors/index.js";
import type { Fields } from "../../src/model/types.js";
import type { NormalizedQuery } from "../../src/query/types.js";
import type { Ruleset } from "../../src/rules/ast.js";
import { decide, type RequestMethod, type RulesRequest, resourceOf } from "../../src/rules/engine.js";
import { type DocumentLookup, RequestLookups } from "../../src/rules/evaluate.js";
import { parseRules } from "../../src/rules/parse.js";
import { decideQuery } from "../../src/rules/query.js";
import { RTimestamp } from "../../src/rules/values.js";
import type { TargetSpec } from "../../src/watch/request.js";
import type { DocumentStore } from "./store.js";

/** The caller of a request, as the Worker authenticated it. Plain data (it crosses RPC). */
export interface Caller {
  identity: Identity;
  /** Emulator mode: no rules means open access (production: deny all). */
  emulator: boolean;
  /** The database id the request is for (`(default)`, …): the rules' `{database}`. */
  database: string;
}

/** Firestore's message for a request its rules deny. */
const DENIED = "Missing or insufficient permissions.";
/** Cloud Firestore's document lookup limits per request: one document (or a query), several. */
const LOOKUPS_SINGLE = 10;
const LOOKUPS_MULTI = 20;

/** The lookups a request about `documents` documents may make, shared by their decisions. */
export function lookupsFor(documents: number): RequestLookups {
  return new RequestLookups(documents > 1 ? LOOKUPS_MULTI : LOOKUPS_SINGLE);
}

type Loaded = { source: string; ruleset: Ruleset };

/** The project's rules (from start-up, else the bundle), parsed once per isolate, or why they do not load. */
let projectWide: { given: string | null; rules: Loaded | { error: FirestoreError } | null } | undefined;

function projectRules(given: string | undefined): Loaded | null {
  // Given at start-up, even as "" (none), they are the project's; else the bundled ones are.
  const source = given === undefined ? BUNDLED_SOURCE : given === "" ? null : given;
  if (projectWide === undefined || projectWide.given !== source) {
    let rules: Loaded | { error: FirestoreError } | null = null;
    try {
      if (source !== null) rules = { source, ruleset: parseRules(source) };
    } catch (e) {
      if (!(e instanceof FirestoreError)) throw e;
      // Their syntax was checked before they got here; what was not (Firestore's limits) refuses
      // every request the rules would decide, saying why, rather than letting anything through.
      rules = { error: failedPrecondition(`The project's firestore.rules do not load: ${e.message}`) };
    }
    projectWide = { given: source, rules };
  }
  const { rules } = projectWide;
  if (rules !== null && "error" in rules) throw rules.error;
  return rules;
}

export class Access {
  /** The database's own rules; undefined: not read from storage yet. */
  private loaded: Loaded | null | undefined;

  constructor(
    private readonly sql: SqlStorage,
    private readonly store: DocumentStore,
    /** The project's rules as given at start-up (`FLARESTORE_RULES_SOURCE`), if they were. */
    private readonly given: string | undefined,
  ) {}

  /** The rules in force (the database's own, else the bundled ones), or null. */
  rules(): Ruleset | null {
    return this.inForce()?.ruleset ?? null;
  }

  /** The rules' source, or null. */
  source(): string | null {
    return this.inForce()?.source ?? null;
  }

  private inForce(): Loaded | null {
    if (this.loaded === undefined) {
      const row = this.sql.exec<{ value: string }>("SELECT value FROM meta WHERE key = 'rules_source'").toArray()[0];
      this.loaded = row ? { source: row.value, ruleset: parseRules(row.value) } : null;
    }
    return this.loaded ?? projectRules(this.given);
  }

  /** Forgets what was read of the database's own rules (its storage was deleted). */
  forget(): void {
    this.loaded = undefined;
  }

  /**
   * Loads `source` as the database's own rules (refused with its line and column when it does
   * not parse), or removes them (null: the project's rules, if any, decide again).
   */
  setRules(source: string | null): void {
    if (source === null) {
      this.sql.exec("DELETE FROM meta WHERE key = 'rules_source'");
      this.loaded = null;
      return;
    }
    const ruleset = parseRules(source);
    this.sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES ('rules_source', ?)", source);
    this.loaded = { source, ruleset };
  }

  /**
   * Whether `caller` may be refused anything: rules govern them, or they are refused outright
   * (production's deny-all without rules, project rules that do not load).
   */
  restricts(caller: Caller): boolean {
    try {
      return this.governed(caller);
    } catch {
      return true;
    }
  }

  /** Whether rules decide `caller`'s requests; false when the caller is let through or refused outright. */
  private governed(caller: Caller): boolean {
    if (caller.identity.kind === "admin") return false;
    if (this.rules() !== null) return true;
    if (caller.emulator) return false;
    throw permissionDenied(DENIED);
  }

  /**
   * Refuses a call that rules cannot decide (they are about documents: listing collection ids,
   * partitioning a query) to anyone they would govern. Cloud Firestore's client SDKs cannot make
   * these calls; its servers make them with IAM credentials, our admin.
   */
  serverOnly(caller: Caller, what: string): void {
    if (this.governed(caller)) {
      throw permissionDenied(`${DENIED} (${what} is for servers: under security rules only the admin may.)`);
    }
  }

  /**
   * A read of the document at `path` (`get`), as stored (its fields' JSON, or null when missing):
   * parsed only when rules decide, so reads that bypass them pay nothing. `lookups`: those of the
   * request it is part of (a multi-document read), if not the only document.
   */
  checkGet(caller: Caller, path: string, stored: string | null, lookups?: RequestLookups): void {
    if (!this.governed(caller)) return;
    const { database } = caller;
    const fields = stored === null ? null : (JSON.parse(stored) as Fields);
    const decision = decide(
      this.rules() as Ruleset,
      this.request(caller, database, "get", path, fields),
      this.lookup(database),
      lookups ?? LOOKUPS_SINGLE,
    );
    this.enforce(caller, decision);
  }

  /**
   * The writes of a commit, each document once: `create`, `update` or `delete` by what it was and
   * what the commit leaves; `getAfter()` sees the whole commit.
   */
  checkWrites(
    caller: Caller,
    written: { path: string; before: Fields | null; after: Fields | null }[],
    after: (path: string) => Fields | null | undefined,
  ): void {
    if (written.length === 0 || !this.governed(caller)) return;
    const { database } = caller;
    const ruleset = this.rules() as Ruleset;
    const lookups = lookupsFor(written.length);
    const lookup = this.lookup(database, after);
    for (const w of written) {
      const method: RequestMethod = w.after === null ? "delete" : w.before === null ? "create" : "update";
      const request = this.request(caller, database, method, w.path, w.before);
      request.requestResource = w.after === null ? null : { path: w.path.split("/"), fields: w.after };
      this.enforce(caller, decide(ruleset, request, lookup, lookups));
    }
  }

  /**
   * A Listen target: each of a documents target's documents as a `get` of its latest state, a
   * query target as the query.
   */
  checkTarget(caller: Caller, spec: TargetSpec): void {
    if (!this.governed(caller)) return;
    if (spec.kind === "query") {
      this.checkQuery(caller, spec.query);
      return;
    }
    const lookups = lookupsFor(spec.paths.length);
    for (const path of spec.paths) this.checkGet(caller, path, this.store.getLatest(path)?.fields ?? null, lookups);
  }

  /** A query (or listing, or aggregation): allowed only for every document it could return. */
  checkQuery(caller: Caller, query: NormalizedQuery): void {
    if (!this.governed(caller)) return;
    const { database } = caller;
    const decision = decideQuery(
      this.rules() as Ruleset,
      { database, query, auth: authOf(caller), time: now() },
      this.lookup(database),
      LOOKUPS_SINGLE,
    );
    this.enforce(caller, decision);
  }

  private request(
    caller: Caller,
    database: string,
    method: RequestMethod,
    path: string,
    fields: Fields | null,
  ): RulesRequest {
    const segments = path.split("/");
    return {
      method,
      database,
      path: segments,
      auth: authOf(caller),
      time: now(),
      resource: fields === null ? null : { path: segments, fields },
    };
  }

  /** Documents for `get()`/`exists()`, and for `getAfter()`/`existsAfter()` as `after` has them. */
  private lookup(database: string, after?: (path: string) => Fields | null | undefined): DocumentLookup {
    return (path, isAfter) => {
      const segments = path.segments.slice(3);
      const key = segments.join("/");
      let fields: Fields | null | undefined = isAfter && after ? after(key) : undefined;
      if (fields === undefined) {
        const row = this.store.getLatest(key);
        fields = row ? (JSON.parse(row.fields) as Fields) : null;
      }
      return fields === null ? null : resourceOf(database, { path: segments, fields });
    };
  }

  private enforce(caller: Caller, decision: { allowed: boolean; reason: string }): void {
    if (decision.allowed) return;
    // The emulator says why, as Firebase's does; production keeps Firestore's plain message.
    throw permissionDenied(caller.emulator ? `${DENIED} (${decision.reason})` : DENIED);
  }
}

function authOf(caller: Caller): { uid: string; token: Readonly<Record<string, unknown>> } | null {
  return caller.identity.kind === "user" ? { uid: caller.identity.uid, token: caller.identity.token } : null;
}

function now(): RTimestamp {
  return new RTimestamp(BigInt(Date.now()) * 1_000_000n);
}
