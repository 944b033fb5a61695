import { describe, expect, it } from "vitest";
import { createAdapter, parseUrlOptions } from "../src/index.ts";
import { CONFORMANCE_SCHEMA, DATABASE_URL } from "./support.ts";

// The PostgreSQL server here runs without SSL; one that has it is reached the same way, with the
// URL's sslmode (require, verify-ca, verify-full) handed to pg as it is.
describe("pg-boss adapter and TLS", () => {
  it("sslmode in the URL reaches pg: the adapter's own options are taken out, the rest is left", () => {
    const { connectionString, schema } = parseUrlOptions(new URL("postgres://app@db.internal:5432/app?schema=jobs&sslmode=verify-full"));
    expect(schema).toBe("jobs");
    expect(new URL(connectionString).searchParams.get("sslmode")).toBe("verify-full");
  });

  it("sslmode=require against a server without SSL is a problem check() names, not a plain connection", async () => {
    const url = new URL(DATABASE_URL);
    url.searchParams.set("sslmode", "require");
    url.searchParams.set("schema", CONFORMANCE_SCHEMA);
    const adapter = createAdapter(url);
    const problems = await adapter.check();
    await adapter.close();
    expect(problems.map((p) => p.message).join(" ")).toMatch(/SSL/);
  });
});
