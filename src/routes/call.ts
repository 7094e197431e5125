/** Calling the database's Durable Object and unwrapping its `{ ok } | { error }` results. */
import type { Context } from "hono";
import type { Result } from "../../durable-objects/database/api.js";
import type { DatabaseDO } from "../../durable-objects/database/index.js";
import { FirestoreError } from "../errors/index.js";
import type { AppEnv } from "./context.js";

export async function call<T>(
  c: Context<AppEnv>,
  fn: (stub: DurableObjectStub<DatabaseDO>) => Promise<Result<T>>,
): Promise<T> {
  const result = (await fn(c.var.stub)) as Result<T>;
  if ("error" in result) throw FirestoreError.fromData(result.error);
  return result.ok;
}
