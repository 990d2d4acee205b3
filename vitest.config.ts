import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["__tests__/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // End-to-end tests spawn dist/index.js; two cores run two files at a time.
    maxWorkers: 2,
  },
});
