import { Backend, defineTask, startWorker } from "@taskport/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkThroughUntrusted, startTlsRelay, type TlsRelay } from "../../../scripts/test-support/tls-relay.ts";
import { BeeQueueAdapter, createAdapter } from "../src/index.ts";
import { REDIS_PORT, TEST_PREFIX } from "./support.ts";

// Redis here speaks no TLS: a relay on loopback terminates TLS with a self-signed certificate.
let relay: TlsRelay;
beforeAll(async () => {
  relay = await startTlsRelay(REDIS_PORT);
});
afterAll(() => relay?.close());

describe("bee-queue adapter over TLS", () => {
  it("?tls=true connects with TLS and checks the certificate: an untrusted one is a problem check() names", async () => {
    const adapter = createAdapter(new URL(`bee-queue://127.0.0.1:${relay.port}/0?prefix=${TEST_PREFIX}&tls=true`));
    expect(await checkThroughUntrusted(relay, adapter)).toEqual({ reached: true, messages: expect.stringMatching(/certificate/i) });
  });

  it("redis.tls with the server's CA runs a job through the TLS connection", async () => {
    const queue = `tptls-${process.pid}`;
    const adapter = new BeeQueueAdapter({
      redis: { host: "127.0.0.1", port: relay.port, tls: { ca: relay.certificate } },
      prefix: TEST_PREFIX,
    });
    const backend = new Backend(queue, adapter);
    const echo = defineTask("echo", async (p: { n: number }) => p.n, { queue }).using({ backend });
    const before = relay.connections;
    const worker = await startWorker({ tasks: [echo], backend });
    try {
      expect(await (await echo.enqueue({ n: 7 })).wait({ timeoutMs: 10_000 })).toBe(7);
      expect(relay.connections - before).toBeGreaterThanOrEqual(2); // the producer's and the worker's
    } finally {
      await worker.close();
      await adapter.destroyQueue(queue);
      await adapter.close();
    }
  });
});
