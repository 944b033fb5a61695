import { ConfigurationError } from "@taskport/core";
import { describe, expect, it } from "vitest";
import { createAdapter, PgBossAdapter, parseUrlOptions } from "../src/index.ts";

describe("postgres:// URLs", () => {
  it("reads schema, batchSize and max, and leaves the rest for pg", () => {
    const options = parseUrlOptions(new URL("postgres://app:pw@db.local:5433/jobs?schema=queue_1&batchSize=20&max=4&sslmode=require"));
    expect(options).toEqual({
      connectionString: "postgres://app:pw@db.local:5433/jobs?sslmode=require",
      schema: "queue_1",
      batchSize: 20,
      max: 4,
    });
  });

  it("accepts postgresql:// too", () => {
    expect(parseUrlOptions(new URL("postgresql://127.0.0.1/test")).connectionString).toBe("postgresql://127.0.0.1/test");
  });

  it("refuses a schema that is not a plain identifier, naming the adapter and without the password", () => {
    for (const schema of ["drop table;", "1abc", "a-b", "x".repeat(64), ""]) {
      const error = (() => {
        try {
          createAdapter(new URL(`postgres://app:s3cret@127.0.0.1/test?schema=${encodeURIComponent(schema)}`));
        } catch (e) {
          return e;
        }
      })();
      expect(error, schema).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toMatch(/^\[taskport\] \[pg-boss\] schema/);
      expect((error as Error).message).not.toContain("s3cret");
    }
    expect(() => new PgBossAdapter({ connectionString: "postgres://127.0.0.1/test", schema: "bad name" })).toThrow(ConfigurationError);
  });

  it("refuses a batchSize that is not a whole number ≥ 1", () => {
    expect(() => parseUrlOptions(new URL("postgres://127.0.0.1/test?batchSize=0"))).toThrow(/batchSize/);
    expect(() => parseUrlOptions(new URL("postgres://127.0.0.1/test?batchSize=abc"))).toThrow(ConfigurationError);
  });

  it("builds an adapter without connecting", async () => {
    const adapter = createAdapter(new URL("postgres://postgres@127.0.0.1:1/test?schema=never_used"));
    expect(adapter).toBeInstanceOf(PgBossAdapter);
    expect(adapter.schema).toBe("never_used");
    await adapter.close();
  });
});
