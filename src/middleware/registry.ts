/**
 * Opening a database's Durable Object, and recording in the registry that it exists: the first time
 * this isolate opens it, the registry hears of it in the background (after the answer, never
 * before it). The registry is how branches and their databases are listed, forked and deleted.
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

/** Databases this isolate has recorded already (bounded: forgetting one only records it again). */
const recorded = new Set<string>();
const MAX_RECORDED = 10_000;

/** The object of `db` on `branch`, recorded in the registry the first time this isolate opens it. */
export function openDatabase(c: Context<AppEnv>, db: DatabaseRef, branch: string): DurableObjectStub<DatabaseDO> {
  const name = databaseObjectName(branch, db);
  if (!recorded.has(name)) {
    if (recorded.size >= MAX_RECORDED) recorded.clear();
    recorded.add(name);
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
