import { configDefaults, defineConfig } from "vitest/config";
import { oldestAliases, usingOldest } from "./scripts/engine-versions/oldest-versions.ts";

// TASKPORT_ENGINE_VERSIONS=oldest: engine libraries resolve to the oldest versions of the adapters'
// peer ranges, installed under npm aliases (scripts/engine-versions/oldest-versions.ts).
const alias = usingOldest() ? oldestAliases(import.meta.dirname) : [];

// Files that restart a shared server (PostgreSQL, the RabbitMQ broker, NATS) would cut into every other
// file using it, and the breakers' self-test runs four child suites of its own: these run alone,
// one at a time, after the rest.
const alone = [
  "adapters/pg-boss/test/conformance.test.ts",
  "adapters/rabbitmq/test/conformance.test.ts",
  "adapters/nats/test/conformance.test.ts",
  "conformance-tests/test/breakers.test.ts",
];

// The other files mostly wait on servers and timers, not on the CPU: two run at once (every test uses
// its own queue names); Vitest's default on a 2-core machine is one file at a time. Three at once made
// timing-sensitive tests (a child process's start, a lock wait counted in event-loop turns) miss
// their marks on this machine.
// adapters/bullmq/test/breakers.test.ts is one of them: its child vitests mostly wait out the
// deadlines of the tests its breakers fail, on Redis under key prefixes of their own, and restart
// nothing; alone, it would add its three minutes to the run instead of sharing them.
const filesAtOnce = Number(process.env.TASKPORT_TEST_FILES_AT_ONCE ?? 2);

export default defineConfig({
  // Workspace packages resolve to their TypeScript sources: no build step before testing.
  resolve: { conditions: ["@taskport/source"], alias },
  ssr: { resolve: { conditions: ["@taskport/source"] } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: "shared",
          include: ["**/*.test.ts"],
          exclude: [...configDefaults.exclude, "**/node_modules/**", "**/dist/**", ...alone],
          maxWorkers: filesAtOnce,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: { name: "alone", include: alone, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
