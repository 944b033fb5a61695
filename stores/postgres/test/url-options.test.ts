import { ConfigurationError, createStoreFromUrl } from "@taskport/core";
import { describe, expect, it } from "vitest";
import { PostgresStore, parseUrlOptions } from "../src/index.ts";

describe("postgres-store URL", () => {
  it("takes the store's own options out of the URL and leaves pg's", () => {
    const options = parseUrlOptions(
      new URL("postgres://app:pw@db:5432/app?schema=jobs_store&max=4&queryTimeoutMs=2500&connectTimeoutMs=900&sslmode=require"),
    );
    expect(options).toEqual({
      connectionString: "postgres://app:pw@db:5432/app?sslmode=require",
      schema: "jobs_store",
      max: 4,
      queryTimeoutMs: 2500,
      timeouts: { connectMs: 900 },
    });
    expect(parseUrlOptions(new URL("postgres://db/app?operationTimeoutMs=700&closeTimeoutMs=300"))).toEqual({
      connectionString: "postgres://db/app",
      timeouts: { operationMs: 700, closeMs: 300 },
    });
  });

  it("refuses a schema that is not a plain name, and numbers that are not whole and positive, without the password", () => {
    for (const bad of ["schema=drop%20table", "schema=1abc", `schema=${"s".repeat(59)}`, "max=0", "queryTimeoutMs=1.5"]) {
      const error = (() => {
        try {
          parseUrlOptions(new URL(`postgres://app:secret-password@db/app?${bad}`));
        } catch (e) {
          return e;
        }
      })();
      expect(error, bad).toBeInstanceOf(ConfigurationError);
      expect(String((error as Error).message)).not.toContain("secret-password");
    }
  });

  it("is what core builds for store: 'postgres://…', with the schema taskport unless the URL names one, and no connection yet", async () => {
    const named = await createStoreFromUrl("postgres://app@127.0.0.1:1/app?schema=elsewhere");
    expect(named).toBeInstanceOf(PostgresStore);
    expect((named as PostgresStore).schema).toBe("elsewhere");
    const plain = await createStoreFromUrl("postgresql://app@127.0.0.1:1/app");
    expect((plain as PostgresStore).schema).toBe("taskport");
    await Promise.all([named.close(), plain.close()]);
  });

  it("needs exactly one of url and pool", () => {
    expect(() => new PostgresStore({})).toThrow(/exactly one of url or pool/);
  });
});
