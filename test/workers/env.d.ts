// Bindings the workers tests see through `cloudflare:test`'s `env` (same as wrangler.toml).
declare namespace Cloudflare {
  interface Env {
    DATABASE: DurableObjectNamespace<import("../../durable-objects/database/index.js").DatabaseDO>;
  }
}
