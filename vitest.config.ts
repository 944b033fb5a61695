import { defineConfig } from "vitest/config";

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources: no build step before testing.
  resolve: { conditions: ["@taskport/source"] },
  ssr: { resolve: { conditions: ["@taskport/source"] } },
  test: {
    include: ["**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Engine suites share one server each; every test uses its own queue names, so files run in parallel.
    fileParallelism: true,
  },
});
