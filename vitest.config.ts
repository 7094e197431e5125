import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    projects: [
      {
        // Pure model and validation code: plain Node, milliseconds.
        test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" },
      },
      {
        // Routes and the Durable Object inside workerd (fresh storage per test file).
        // In emulator mode, as `npm start` (wrangler.toml's production mode admits only the admin without rules).
        plugins: [
          cloudflareTest({
            main: "./src/index.ts",
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: { bindings: { FLARESTORE_MODE: "emulator" } },
          }),
        ],
        test: { name: "workers", include: ["test/workers/**/*.test.ts"], testTimeout: 30_000 },
        // wrangler.toml's [alias] names the rules module `wrangler` builds; these tests bundle none.
        resolve: { alias: { "@flarestore/rules": "./scripts/no-rules.js" } },
      },
      {
        // The real server (`npm start`) driven by the official SDKs.
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          globalSetup: ["test/e2e/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The suites that drive the server SDK, again over its default transport: native gRPC.
        test: {
          name: "e2e-grpc",
          include: [
            "aggregations",
            "batches",
            "contention",
            "databases",
            "errors",
            "firestore-rejects",
            "listing",
            "queries",
            "transactions",
            "transforms",
            "values",
            "vector",
            "writes",
          ].map((name) => `test/e2e/${name}.test.ts`),
          environment: "node",
          env: { E2E_GRPC: "1" },
          globalSetup: ["test/e2e/global-setup.ts"],
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
