import { defineConfig } from "vitest/config";
import { oldestAliases, usingOldest } from "./scripts/engine-versions/oldest-versions.ts";

// TASKPORT_ENGINE_VERSIONS=oldest: engine libraries resolve to the oldest versions of the adapters'
// peer ranges, installed under npm aliases (scripts/engine-versions/oldest-versions.ts).
const alias = usingOldest() ? oldestAliases(import.meta.dirname) : [];

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources: no build step before testing.
  resolve: { conditions: ["@taskport/source"], alias },
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
