/**
 * Branches: every database lives under a branch (`main` unless told otherwise), so that a pull
 * request's preview deployment gets databases of its own. `projects/p/databases/(default)` of
 * branch `feat-x` is another Durable Object than the same name on `main`.
 *
 * Which branch a request is for, first match wins:
 * 1. the `x-flarestore-branch` header, honoured in emulator mode and for the admin only (the CLI's
 *    `--branch`); anyone else is refused, since a deployment's branches are reached by their URL;
 * 2. the preview alias in the host name: `https://feat-x-flarestore.<account>.workers.dev` (a
 *    version uploaded with `wrangler versions upload --preview-alias feat-x`); version preview
 *    URLs, whose prefix is 8 hex digits of a version id, are not aliases;
 * 3. the `FLARESTORE_BRANCH` variable (one per wrangler environment);
 * 4. `main`.
 */
import type { Context } from "hono";
import { authConfig } from "../auth/config.js";
import type { Identity } from "../auth/identify.js";
import { invalidArgument, permissionDenied } from "../errors/index.js";
import type { AppEnv, Env } from "../routes/context.js";

export const MAIN_BRANCH = "main";
export const BRANCH_HEADER = "x-flarestore-branch";
/** The Worker's name in preview host names (wrangler.toml's `name`). */
const DEFAULT_WORKER_NAME = "flarestore";
/** Preview aliases' rule, which branch names follow too: lower-case letters, digits and dashes. */
const BRANCH_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** `name` if it is a valid branch name; INVALID_ARGUMENT naming `where` otherwise. */
export function checkBranch(name: string, where: string): string {
  if (!BRANCH_NAME.test(name)) {
    throw invalidArgument(
      `${where}: "${name.slice(0, 100)}" is not a branch name (1 to 63 lower-case letters, digits and dashes, starting and ending with a letter or digit).`,
    );
  }
  return name;
}

/** The branch a preview host name names, if any. */
export function branchOfHost(hostname: string, workerName = DEFAULT_WORKER_NAME): string | undefined {
  if (!hostname.endsWith(".workers.dev")) return undefined;
  const label = hostname.split(".")[0] ?? "";
  const suffix = `-${workerName}`;
  if (!label.endsWith(suffix)) return undefined;
  const alias = label.slice(0, -suffix.length);
  if (/^[0-9a-f]{8}$/.test(alias) || !BRANCH_NAME.test(alias)) return undefined;
  return alias;
}

/** The branch of a request by `identity` (see the module comment). */
export function branchOf(c: Context<AppEnv>, identity: Identity): string {
  const header = c.req.header(BRANCH_HEADER);
  if (header !== undefined) {
    if (!authConfig(c.env).emulator && identity.kind !== "admin") {
      throw permissionDenied(
        `Only the admin may choose a branch with ${BRANCH_HEADER}; a deployment's branches are reached by their preview URL.`,
      );
    }
    return checkBranch(header, BRANCH_HEADER);
  }
  const env = c.env as Env;
  return (
    branchOfHost(new URL(c.req.url).hostname, env.FLARESTORE_WORKER_NAME) ??
    (env.FLARESTORE_BRANCH ? checkBranch(env.FLARESTORE_BRANCH, "FLARESTORE_BRANCH") : MAIN_BRANCH)
  );
}

/** The Durable Object name of a database: `{project}/{database}` on main, `{branch}:{project}/{database}` elsewhere. */
export function databaseObjectName(branch: string, db: { project: string; database: string }): string {
  const name = `${db.project}/${db.database}`;
  return branch === MAIN_BRANCH ? name : `${branch}:${name}`;
}
