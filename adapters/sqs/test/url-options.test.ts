import { ConfigurationError } from "@taskport/core";
import { describe, expect, it } from "vitest";
import { parseUrlOptions, SqsAdapter } from "../src/index.ts";

const parse = (text: string) => parseUrlOptions(new URL(text));

describe("sqs:// URLs", () => {
  it("names AWS by region alone; credentials then come from the SDK's chain", () => {
    expect(parse("sqs://?region=eu-west-1")).toEqual({ region: "eu-west-1" });
  });

  it("takes an explicit AWS endpoint over https", () => {
    expect(parse("sqs://sqs.eu-west-1.amazonaws.com?region=eu-west-1")).toEqual({
      endpoint: "https://sqs.eu-west-1.amazonaws.com",
      region: "eu-west-1",
    });
  });

  it("reaches an emulator on loopback over http, with static credentials from the URL", () => {
    expect(parse("sqs://key:se%2Fcret@127.0.0.1:4566?region=us-east-1")).toEqual({
      endpoint: "http://127.0.0.1:4566",
      region: "us-east-1",
      credentials: { accessKeyId: "key", secretAccessKey: "se/cret" },
    });
    expect(parse("sqs://localhost:4566?tls=true").endpoint).toBe("https://localhost:4566");
    expect(parse("sqs://sqs.internal:9324?tls=false").endpoint).toBe("http://sqs.internal:9324");
  });

  it("reads the adapter's options", () => {
    expect(
      parse(
        "sqs://?region=us-east-1&fifo=true&createQueues=1&deadLetter=false&visibilityTimeout=60&waitTimeSeconds=5&pollers=4&queues=a,b",
      ),
    ).toEqual({
      region: "us-east-1",
      fifo: true,
      createQueues: true,
      deadLetter: false,
      visibilityTimeout: 60,
      waitTimeSeconds: 5,
      pollers: 4,
      queues: ["a", "b"],
    });
  });

  it.each([
    ["amqp://127.0.0.1", /scheme/],
    ["sqs://127.0.0.1/my-queue", /path/],
    ["sqs://?region=eu-west-1&colour=blue", /unknown URL parameter "colour"/],
    ["sqs://?fifo=maybe", /fifo=maybe/],
    ["sqs://?pollers=-1", /pollers=-1/],
    ["sqs://?region=EU WEST", /region/],
    ["sqs://key@127.0.0.1:4566", /both/],
    ["sqs://?tls=false", /needs a host/],
  ])("refuses %s with a ConfigurationError", (text, message) => {
    expect(() => parse(text)).toThrow(ConfigurationError);
    expect(() => parse(text)).toThrow(message);
  });

  it("checks option ranges when the adapter is built, before any connection", () => {
    expect(() => new SqsAdapter({ url: "sqs://?region=us-east-1&waitTimeSeconds=21" })).toThrow(/waitTimeSeconds/);
    expect(() => new SqsAdapter({ region: "us-east-1", visibilityTimeout: 0 })).toThrow(/visibilityTimeout/);
    expect(() => new SqsAdapter({ region: "us-east-1", maxNativeDelayMs: 901_000 })).toThrow(/maxNativeDelayMs/);
    expect(() => new SqsAdapter({ url: "not a url" })).toThrow(ConfigurationError);
  });

  it("declares ordering and deduplication only for FIFO queues, and delay hops of each kind's limit", () => {
    const standard = new SqsAdapter({ url: "sqs://?region=us-east-1" }).capabilities;
    const fifo = new SqsAdapter({ url: "sqs://?region=us-east-1&fifo=true" }).capabilities;
    expect(standard).toMatchObject({ delay: true, maxNativeDelayMs: 900_000, ordering: "none", deduplication: false });
    expect(fifo).toMatchObject({
      delay: true,
      maxNativeDelayMs: 43_140_000,
      ordering: "fifo",
      deduplication: "window",
      deduplicationWindowMs: 300_000,
    });
    expect(() => new SqsAdapter({ region: "us-east-1", fifo: true, maxNativeDelayMs: 43_200_000 })).toThrow(/maxNativeDelayMs/);
  });
});
