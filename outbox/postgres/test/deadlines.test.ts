import { Backend, defineTask, MemoryAdapter, startWorker } from "@taskport/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BLACK_HOLE_MODES, type BlackHole, startBlackHole } from "../../../scripts/test-support/black-hole.ts";
import { DEADLINE_PASSWORD, expectBoundError, settleWithin } from "../../../scripts/test-support/deadline-suite.ts";
import { inTransaction } from "./support.ts";

// An outbox whose PostgreSQL accepts connections and never answers: check() says so, an enqueue
// inside a transaction (the outbox sets up its table on its own connections first) fails within
// the bound, a worker's relay reports errors instead of hanging, and close() returns.
const SHORT = "connectTimeoutMs=400&operationTimeoutMs=400&closeTimeoutMs=400";

describe.each(BLACK_HOLE_MODES)("postgres outbox: a server that accepts and never answers (%s)", (mode) => {
  let hole: BlackHole;
  const backends: Backend[] = [];
  beforeAll(async () => {
    hole = await startBlackHole(mode);
  });
  afterAll(async () => {
    await Promise.all(backends.map((backend) => settleWithin(backend.close())));
    await hole.close();
  });
  const where = () => `127.0.0.1:${hole.port}`;
  const open = () => {
    const outbox = `postgres://app:${DEADLINE_PASSWORD}@127.0.0.1:${hole.port}/test?schema=deadlines&${SHORT}`;
    const backend = new Backend(`deadline-outbox-${mode}`, {
      adapter: new MemoryAdapter(),
      outbox,
      outboxOptions: { relayInWorkers: false },
    });
    backends.push(backend);
    return backend;
  };

  it("check() reports the problem, naming the host, without the password; close() returns", async () => {
    const backend = open();
    const outcome = await settleWithin(backend.check());
    expect(outcome.settled).toBe(true);
    const problems = (outcome as { value: { message: string }[] }).value;
    expect(problems.length).toBeGreaterThan(0);
    expect(problems.some((problem) => problem.message.includes(where()))).toBe(true);
    for (const problem of problems) expect(problem.message).not.toContain(DEADLINE_PASSWORD);
    expect((await settleWithin(backend.close())).settled).toBe(true);
  }, 60_000);

  it("an enqueue in a transaction rejects, naming the host, without the password", async () => {
    const backend = open();
    const task = defineTask(`deadline-outbox-${mode}`, async (_payload: { n: number }) => {}).using({ backend });
    let outcome: Awaited<ReturnType<typeof settleWithin>> | undefined;
    await inTransaction("rollback", async (transaction) => {
      outcome = await settleWithin(task.enqueue({ n: 1 }, { transaction }));
    });
    expectBoundError(outcome as Awaited<ReturnType<typeof settleWithin>>, where(), /outbox|connect|statement/i);
    expect((await settleWithin(backend.close())).settled).toBe(true);
  }, 60_000);

  it("a worker whose relay cannot reach the outbox settles its start and closes", async () => {
    const backend = new Backend(`deadline-outbox-relay-${mode}`, {
      adapter: new MemoryAdapter(),
      outbox: `postgres://app:${DEADLINE_PASSWORD}@127.0.0.1:${hole.port}/test?schema=deadlines&${SHORT}`,
    });
    backends.push(backend);
    const task = defineTask(`deadline-outbox-relay-${mode}`, async () => {});
    const outcome = await settleWithin(startWorker({ tasks: [task], backend }));
    expect(outcome.settled, "startWorker was still pending").toBe(true);
    if (outcome.settled && outcome.error) expectBoundError(outcome, where(), /outbox|connect|statement/i);
    else await settleWithin((outcome as { value: { close(): Promise<void> } }).value.close());
    expect((await settleWithin(backend.close())).settled).toBe(true);
  }, 60_000);
});
