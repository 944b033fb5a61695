import { ConfigurationError } from "@taskport/core";
import { describe, expect, it } from "vitest";
import { BullMQAdapter, createAdapter, parsePostgresUrlOptions } from "../src/index.ts";
import { DATABASE_URL, HAS_POSTGRES_BACKEND } from "./postgres-support.ts";

describe("bullmq+postgres:// URLs", () => {
  it("read as a PostgreSQL URL, with BullMQ's schema and the adapter's options", () => {
    expect(
      parsePostgresUrlOptions(
        new URL(
          "bullmq+postgres://al%40x:s%3Acret@db.local:6543/app?schema=jobs&migrate=true&max=4&sslmode=require&lockDurationMs=5000&priorities=false&operationTimeoutMs=2000",
        ),
      ),
    ).toEqual({
      connectionString: "postgres://al%40x:s%3Acret@db.local:6543/app?sslmode=require",
      schema: "jobs",
      migrate: true,
      max: 4,
      lockDurationMs: 5000,
      priorities: false,
      timeouts: { operationMs: 2000 },
    });
    expect(parsePostgresUrlOptions(new URL("bullmq+postgres://127.0.0.1/app"))).toEqual({ connectionString: "postgres://127.0.0.1/app" });
  });

  it.each([
    ["an unknown option", "bullmq+postgres://127.0.0.1/app?prefix=bull", /unknown option "prefix"/],
    ["a schema BullMQ refuses", "bullmq+postgres://127.0.0.1/app?schema=my-jobs", /schema "my-jobs"/],
    ["migrate that is not true or false", "bullmq+postgres://127.0.0.1/app?migrate=yes", /migrate/],
    ["a pool of no connections", "bullmq+postgres://127.0.0.1/app?max=0", /max/],
  ])("refuse %s with a ConfigurationError", (_, url, message) => {
    expect(() => parsePostgresUrlOptions(new URL(url))).toThrow(ConfigurationError);
    expect(() => parsePostgresUrlOptions(new URL(url))).toThrow(message);
  });
});

describe.skipIf(!HAS_POSTGRES_BACKEND)("BullMQ on PostgreSQL: configuration", () => {
  it("Redis's options are refused beside postgres, naming them", () => {
    expect(() => new BullMQAdapter({ postgres: DATABASE_URL, prefix: "bull" })).toThrow(/prefix is Redis's/);
  });

  it("a schema BullMQ has not set up: check() says both ways to set it up", async () => {
    const adapter = createAdapter(new URL(`${DATABASE_URL.replace(/^postgres:/, "bullmq+postgres:")}?schema=tp_bullmq_never_migrated`));
    try {
      const problems = await adapter.check();
      expect(problems.map((p) => p.message).join("\n")).toMatch(/schema "tp_bullmq_never_migrated" is not set up.*migrate=true/);
    } finally {
      await adapter.close();
    }
  });

  it("a database that does not exist is a ConfigurationError, with no password in it", async () => {
    const url = new URL(DATABASE_URL);
    url.pathname = "/tp_no_such_database";
    url.password = "hunter2-secret";
    const adapter = new BullMQAdapter({ postgres: url.href });
    try {
      const [problem] = await adapter.check();
      expect(problem?.message).toMatch(/has no such database/);
      expect(problem?.message).not.toContain("hunter2-secret");
    } finally {
      await adapter.close();
    }
  });
});
