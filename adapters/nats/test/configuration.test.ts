import { ConfigurationError } from "@taskport/core";
import { describe, expect, it } from "vitest";
import { NatsAdapter } from "../src/index.ts";

// Construction opens no socket: these need no server.
describe("nats: a duplicate window no longer than the lease", () => {
  const refusal = (create: () => unknown) => {
    try {
      create();
    } catch (error) {
      return error;
    }
    throw new Error("the adapter was constructed");
  };

  it("is a ConfigurationError naming both values and what to change, given as options", () => {
    const error = refusal(() => new NatsAdapter({ url: "nats://127.0.0.1:4222", ackWaitMs: 60_000, duplicateWindowMs: 30_000 }));
    expect(error).toBeInstanceOf(ConfigurationError);
    const { message } = error as Error;
    expect(message).toContain("duplicateWindowMs (30000)");
    expect(message).toContain("ackWaitMs (60000)");
    expect(message).toMatch(/raise duplicateWindowMs .* or lower ackWaitMs/i);
  });

  it("is refused when both come from the URL, or one from each", () => {
    expect(() => new NatsAdapter({ url: "nats://127.0.0.1:4222?ackWaitMs=60000&duplicateWindowMs=30000" })).toThrow(ConfigurationError);
    // The default window (120 s) against a longer lease from the URL.
    expect(() => new NatsAdapter({ url: "nats://127.0.0.1:4222?ackWaitMs=300000" })).toThrow(/duplicateWindowMs \(120000\)/);
    expect(() => new NatsAdapter({ url: "nats://127.0.0.1:4222?duplicateWindowMs=20000" })).toThrow(/ackWaitMs \(30000\)/);
    // An option overrides the URL's value, and the pair that results is what is checked.
    expect(() => new NatsAdapter({ url: "nats://127.0.0.1:4222?ackWaitMs=300000", ackWaitMs: 10_000 })).not.toThrow();
    expect(() => new NatsAdapter({ servers: ["127.0.0.1:4222"], ackWaitMs: 30_000, duplicateWindowMs: 30_000 })).toThrow(
      ConfigurationError,
    );
  });

  it("accepts a window longer than the lease, and the defaults", () => {
    expect(() => new NatsAdapter({ url: "nats://127.0.0.1:4222" })).not.toThrow();
    expect(() => new NatsAdapter({ url: "nats://127.0.0.1:4222?ackWaitMs=600000&duplicateWindowMs=1200000" })).not.toThrow();
  });

  it("keeps a password out of the message", () => {
    const error = refusal(() => new NatsAdapter({ url: "nats://app:s3cret-pw@127.0.0.1:4222?ackWaitMs=600000" }));
    expect(String((error as Error).message)).not.toContain("s3cret-pw");
  });
});

describe("nats: the constructor's other checks", () => {
  it("refuses an option given twice in the URL, of which only the first would count", () => {
    expect(() => new NatsAdapter({ url: "nats://127.0.0.1:4222?ackWaitMs=10000&ackWaitMs=60000" })).toThrow(
      /ackWaitMs is given more than once/,
    );
  });

  it("refuses no pull loops, or a negative read-ahead", () => {
    expect(() => new NatsAdapter({ url: "nats://127.0.0.1:4222", pullers: 0 })).toThrow(/pullers must be a whole number from 1/);
    expect(() => new NatsAdapter({ url: "nats://127.0.0.1:4222", readAhead: -1 })).toThrow(/readAhead must be a whole number from 0/);
    expect(() => new NatsAdapter({ url: "nats://127.0.0.1:4222", pullers: 2, readAhead: 0 })).not.toThrow();
  });
});
