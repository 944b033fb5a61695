import { getCACertificates, setDefaultCACertificates } from "node:tls";
import { Backend, defineTask, startWorker } from "@taskport/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkThroughUntrusted, startTlsRelay, type TlsRelay } from "../../../scripts/test-support/tls-relay.ts";
import { BullMQAdapter, createAdapter } from "../src/index.ts";
import { REDIS_PORT, TEST_PREFIX } from "./support.ts";

// Redis here speaks no TLS: a relay on loopback terminates TLS with a self-signed certificate.
let relay: TlsRelay;
beforeAll(async () => {
  relay = await startTlsRelay(REDIS_PORT);
});
afterAll(() => relay?.close());

async function roundTrip(adapter: BullMQAdapter, queue: string): Promise<unknown> {
  const backend = new Backend(queue, adapter);
  const echo = defineTask("echo", async (p: { n: number }) => p.n, { queue }).using({ backend });
  const worker = await startWorker({ tasks: [echo], backend });
  try {
    return await (await echo.enqueue({ n: 7 })).wait({ timeoutMs: 10_000 });
  } finally {
    await worker.close();
    await adapter.destroyQueue(queue);
    await adapter.close();
  }
}

describe("bullmq adapter over TLS", () => {
  it("?tls=true connects with TLS and checks the certificate: an untrusted one is a problem check() names", async () => {
    const adapter = createAdapter(new URL(`bullmq://127.0.0.1:${relay.port}/0?prefix=${TEST_PREFIX}&tls=true`));
    expect(await checkThroughUntrusted(relay, adapter)).toEqual({ reached: true, messages: expect.stringMatching(/certificate/i) });
  });

  it("redis.tls with the server's CA runs a job through the TLS connection", async () => {
    const adapter = new BullMQAdapter({
      redis: { host: "127.0.0.1", port: relay.port, tls: { ca: relay.certificate } },
      prefix: TEST_PREFIX,
    });
    const before = relay.connections;
    expect(await roundTrip(adapter, `tptls-${process.pid}-a`)).toBe(7);
    expect(relay.connections - before).toBeGreaterThanOrEqual(2); // the producer's and the worker's
  });

  // Node 22.19 and 24.5 can add a CA to the defaults, as NODE_EXTRA_CA_CERTS does for a whole process.
  it.runIf(typeof setDefaultCACertificates === "function")("?tls=true with the CA trusted runs a job", async () => {
    const defaults = getCACertificates("default");
    setDefaultCACertificates([...defaults, relay.certificate]);
    try {
      const adapter = createAdapter(new URL(`bullmq://127.0.0.1:${relay.port}/0?prefix=${TEST_PREFIX}&tls=true`));
      expect(await roundTrip(adapter, `tptls-${process.pid}-b`)).toBe(7);
    } finally {
      setDefaultCACertificates(defaults);
    }
  });
});
