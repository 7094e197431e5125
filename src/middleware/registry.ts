/**
 * Opening a database's Durable Object, and recording in the registry that it exists: the first time
 * this isolate opens it (and again every RECORD_AGAIN_MS, so a database used again after its branch
 * was deleted elsewhere is listed again), the registry hears of it in the background, after the
 * answer. The registry is how branches and their databases are listed, forked and deleted.
 */
import type { Context } from "hono";
import type { DatabaseDO } from "../../durable-objects/database/index.js";
import type { RegistryDO } from "../../durable-objects/registry/index.js";
import type { DatabaseRef } from "../model/path.js";
import type { AppEnv, Env } from "../routes/context.js";
import { databaseObjectName } from "./branch.js";
import { databaseStub } from "./database.js";

/** The one registry object. */
export function registryStub(env: Env): DurableObjectStub<RegistryDO> {
  return env.REGISTRY.get(env.REGISTRY.idFromName("registry"));
}

/** Databases this isolate has recorded, and when (bounded: forgetting one only records it again). */
const recorded = new Map<string, number>();
const MAX_RECORDED = 10_000;
const RECORD_AGAIN_MS = 10 * 60_000;

/** Forgets what this isolate recorded of `branch` (its databases were deleted). */
export function forgetRecorded(branch: string): void {
  for (const name of recorded.keys()) if (name.startsWith(`${branch}:`)) recorded.delete(name);
}

/** The object of `db` on `branch`, recorded in the registry the first time this isolate opens it. */
export function openDatabase(c: Context<AppEnv>, db: DatabaseRef, branch: string): DurableObjectStub<DatabaseDO> {
  const name = databaseObjectName(branch, db);
  const now = Date.now();
  if ((recorded.get(name) ?? Number.NEGATIVE_INFINITY) < now - RECORD_AGAIN_MS) {
    if (recorded.size >= MAX_RECORDED) recorded.clear();
    recorded.set(name, now);
    const record = registryStub(c.env)
      .record(branch, db.project, db.database)
      .catch((e: unknown) => {
        recorded.delete(name); // tried again next time
        console.error("registry: could not record", name, e);
      });
    try {
      c.executionCtx.waitUntil(record);
    } catch {
      // no execution context (a direct call in tests): the promise runs on its own
    }
  }
  return databaseStub(c.env, db, branch);
}
