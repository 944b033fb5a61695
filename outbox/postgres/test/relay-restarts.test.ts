import { TcpRelay } from "@taskport/conformance";
import { MemoryAdapter } from "@taskport/core";
import { RabbitMQAdapter } from "@taskport/rabbitmq";
import { afterEach, describe, expect, it } from "vitest";
import { deleteQueues } from "../../../adapters/rabbitmq/test/support.ts";
import { OutboxScope } from "./fixture.ts";
import { AMQP_URL } from "./pairs.ts";
import { inTransaction, rowsOf, terminateConnections } from "./support.ts";

let scope: OutboxScope;
afterEach(() => scope.cleanup());

const payloads = (from: number, count: number) => Array.from({ length: count }, (_, n) => ({ n: from + n }));

describe("outbox relay: servers going away", () => {
  it("PostgreSQL drops every connection of the outbox (a restart, as its clients see it): committed jobs still all run", async () => {
    scope = new OutboxScope();
    const adapter = scope.adapter(new MemoryAdapter(), { pollMs: 200 });
    const { task, backend, runs } = scope.task(adapter);
    const errors: Error[] = [];
    const worker = await scope.worker({ tasks: [task], backend, concurrency: 20 });
    worker.on("error", ({ error }) => errors.push(error));
    await inTransaction("commit", (client) => task.enqueueMany(payloads(0, 100), { transaction: client }).then(() => {}));
    await expect.poll(() => runs.size, { timeout: 10_000 }).toBe(100);

    // The relay's LISTEN connection and its pool's connections all go at once.
    expect(await terminateConnections(`tp-${scope.target}-outbox`)).toBeGreaterThan(0);
    await inTransaction("commit", (client) => task.enqueueMany(payloads(100, 100), { transaction: client }).then(() => {}));
    await expect.poll(() => runs.size, { timeout: 15_000 }).toBe(200);
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
    expect(await rowsOf(scope.target)).toBe(0);
    // The lost LISTEN connection was reported, never silent.
    expect(errors.some((error) => /\[postgres-outbox\] the LISTEN connection .* was lost/.test(error.message))).toBe(true);
  });

  it("the engine is unreachable for a while: the relay reports, retries with backoff, and hands every job over once it is back", async () => {
    scope = new OutboxScope();
    // The relay stands for an engine server that goes away and comes back.
    const proxy = await TcpRelay.start(Number(new URL(AMQP_URL).port || 5672));
    scope.track(proxy);
    await proxy.refuse(); // the engine is down from the start
    const relaying = scope.adapter(new RabbitMQAdapter({ url: proxy.urlOf(AMQP_URL), connectionName: `tp-${scope.target}-relay` }), {
      pollMs: 100,
    });
    // The worker reaches the broker directly and runs no relay of its own.
    const consuming = scope.track(new RabbitMQAdapter({ url: AMQP_URL, connectionName: `tp-${scope.target}` }));
    const { task } = scope.task(relaying);
    const { task: consumed, backend: direct, runs } = scope.task(consuming);
    await scope.worker({ tasks: [consumed], backend: direct, concurrency: 20 });

    const errors: Error[] = [];
    const lease = await relaying.startRelay((error) => errors.push(error));
    scope.track({ close: () => lease.stop() });
    await inTransaction("commit", (client) => task.enqueueMany(payloads(0, 60), { transaction: client }).then(() => {}));
    await expect.poll(() => errors.length, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect(await rowsOf(scope.target)).toBe(60);
    expect(errors[0]?.message).toMatch(/^\[taskport\] \[rabbitmq\]/);

    await proxy.restore();
    await expect.poll(() => rowsOf(scope.target), { timeout: 20_000 }).toBe(0);
    await expect.poll(() => runs.size, { timeout: 10_000 }).toBe(60);
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
    await deleteQueues([`${scope.target}-main`]);
  });
});
