/** Types shared by the routes: the Worker's bindings and per-request variables. */
import type { DatabaseDO } from "../../durable-objects/database/index.js";
import type { RegistryDO } from "../../durable-objects/registry/index.js";
import type { AuthEnv } from "../auth/config.js";
import type { Identity } from "../auth/identify.js";
import type { DatabaseRef } from "../model/path.js";

export interface Env extends AuthEnv {
  DATABASE: DurableObjectNamespace<DatabaseDO>;
  /**
   * The rules of every database without its own, given at start-up (`npm start` reads
   * `firestore.rules` into it, and restarts with the new text when the file changes; "" for none):
   * when set, the rules bundled into the Worker (`@flarestore/rules`) are not used.
   */
  FLARESTORE_RULES_SOURCE?: string;
  /** The branch of this deployment's databases (src/middleware/branch.ts); `main` by default. */
  FLARESTORE_BRANCH?: string;
  /** The Worker's name as preview host names carry it, if not `flarestore`. */
  FLARESTORE_WORKER_NAME?: string;
  /** The registry of branches and databases: one object (durable-objects/registry). */
  REGISTRY: DurableObjectNamespace<RegistryDO>;
}

/** The parsed request target: `/v1/projects/{p}/databases/{d}/documents[/…][:verb]`. */
export interface Target {
  db: DatabaseRef;
  /** Path segments after `documents` (decoded). */
  segments: string[];
  /** The custom method after the last `:` (POST only), e.g. `commit`. */
  verb?: string;
}

export interface AppEnv {
  Bindings: Env;
  Variables: {
    target: Target;
    stub: DurableObjectStub<DatabaseDO>;
    identity: Identity;
  };
}
