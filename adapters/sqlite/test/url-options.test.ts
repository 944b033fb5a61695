import { Backend, ConfigurationError } from "@taskport/core";
import { describe, expect, it } from "vitest";
import { parseUrlOptions, SqliteAdapter } from "../src/index.ts";

describe("sqlite: URLs", () => {
  it.each([
    ["sqlite:./jobs.db", "./jobs.db"],
    ["sqlite:jobs.db", "jobs.db"],
    ["sqlite:/var/lib/app/jobs.db", "/var/lib/app/jobs.db"],
    ["sqlite:///var/lib/app/jobs.db", "/var/lib/app/jobs.db"],
    ["sqlite::memory:", ":memory:"],
    ["sqlite:./my%20jobs.db", "./my jobs.db"],
  ])("%s names the file %s", (url, filename) => {
    expect(parseUrlOptions(new URL(url))).toEqual({ filename });
  });

  it("reads every option", () => {
    const url = "sqlite:./jobs.db?busyTimeoutMs=1000&pollIntervalMs=20&leaseMs=60000&synchronous=full&maxPayloadBytes=1024";
    expect(parseUrlOptions(new URL(url))).toEqual({
      filename: "./jobs.db",
      busyTimeoutMs: 1000,
      pollIntervalMs: 20,
      leaseMs: 60000,
      synchronous: "full",
      maxPayloadBytes: 1024,
    });
  });

  it.each([
    ["sqlite://./jobs.db", /names a host, but SQLite is a file: write sqlite:\.\/jobs\.db/],
    ["sqlite:", /names no database file/],
    ["sqlite:./jobs.db?leaseMs=soon", /leaseMs must be a whole number/],
    ["sqlite:./jobs.db?leaseMs=-1", /leaseMs must be a whole number/],
    ["sqlite:./jobs.db?synchronous=off", /synchronous must be "normal" or "full"/],
    ["sqlite:./jobs.db?journal=wal", /unknown option "journal".*Known: busyTimeoutMs/],
    ["sqlite:./jobs.db?retainSucceededMs=5", /unknown option "retainSucceededMs"/],
  ])("%s is refused with a ConfigurationError that says what to write", (url, message) => {
    const error = (() => {
      try {
        parseUrlOptions(new URL(url));
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/^\[taskport\] \[sqlite\] /);
    expect((error as Error).message).toMatch(message);
  });

  it("core loads this package for sqlite: URLs, and opens nothing until used", async () => {
    const backend = new Backend("url", "sqlite::memory:?leaseMs=5000");
    const adapter = await backend.adapter();
    expect(adapter).toBeInstanceOf(SqliteAdapter);
    expect(adapter.capabilities.maxPayloadBytes).toBeUndefined();
    await backend.close();
  });

  it("an adapter needs one of filename and database", () => {
    expect(() => new SqliteAdapter({})).toThrow(ConfigurationError);
  });
});
