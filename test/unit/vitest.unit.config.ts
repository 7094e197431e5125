import { defineConfig } from "vitest/config";

// Plain-Node unit tests for the pure modules (src/model, src/validation); no workers runtime.
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
  },
});
