import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { TcpRelay } from "@taskport/conformance";
import { Backend, type JobHandle, startWorker } from "@taskport/core";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Emulator } from "../../adapters/sqs/test/support.ts";
import { step } from "./fixtures/move-tasks.ts";
import { assertBuilt, CliProcess, runCli } from "./run-cli.ts";

// The README's guide "Moving to another engine without downtime", run end to end with the CLI: an
// app on BullMQ (Redis on loopback) moves to SQS (fauxqs, in this process). Keys live under a prefix
// of this run's own, deleted afterwards (never FLUSHDB: the server is shared).

const MOVE = fileURLToPath(new URL("./fixtures/move-tasks.ts", import.meta.url));
const PREFIX = `tpmove-${randomBytes(4).toString("hex")}`;
const BULLMQ = `bullmq://127.0.0.1:6379/0?prefix=${PREFIX}`;

const probe = new Backend("probe", BULLMQ);
const problems = await probe.check();
await probe.close();
const reachable = problems.length === 0;
if (!reachable && process.env.CI !== "true") {
  console.warn(
    `\n${"!".repeat(80)}\n[taskport] cli: Redis is not reachable, SKIPPING the engine-move tests:\n  ${problems.map((p) => p.message).join("\n  ")}\n${"!".repeat(80)}\n`,
  );
}
const suite = reachable || process.env.CI === "true" ? describe : describe.skip;

// Queues made on first use; a short long-poll, since a graceful stop waits for the poll in flight.
const SQS_PARAMS = "&createQueues=true&waitTimeSeconds=1";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);

/** Job ids per lifecycle event in a worker's `--json` output. */
function runsOf(output: string, event: "started" | "succeeded"): string[] {
  return output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { event: string; id?: string })
    .filter((line) => line.event === event)
    .map((line) => line.id as string);
}

/** When each of `jobs` started, by the `started` events of a worker's `--json` output (epoch ms). */
function startTimes(output: string, jobs: readonly JobHandle<unknown>[]): number[] {
  const events = output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { event: string; id?: string; time: string })
    .filter((line) => line.event === "started");
  return jobs.map((job) => Date.parse(events.find((event) => event.id === job.id)?.time ?? "invalid"));
}

async function waitUntil(what: string, condition: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(100);
  }
}

suite("moving from BullMQ to SQS without downtime (the README's guide)", () => {
  const emulator = new Emulator();
  const workers: CliProcess[] = [];
  const backends: Backend[] = [];
  const worker = (args: string[]) => {
    const process = new CliProcess(["worker", MOVE, "--json", ...args]);
    workers.push(process);
    return process;
  };
  const backend = (name: string, spec: ConstructorParameters<typeof Backend>[1]) => {
    const made = new Backend(name, spec);
    backends.push(made);
    return made;
  };

  beforeAll(async () => {
    assertBuilt("bullmq");
    assertBuilt("sqs");
    if (!reachable) throw new Error(`Redis is not reachable (required in CI): ${problems.map((p) => p.message).join("; ")}`);
    await emulator.start();
  }, 60_000);

  afterAll(async () => {
    for (const process of workers) process.kill("SIGKILL");
    await Promise.all(workers.map((process) => process.done));
    await Promise.all(backends.map((each) => each.close()));
    await emulator.stop();
    const redis = new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: true });
    await redis.connect();
    const keys: string[] = [];
    let cursor = "0";
    do {
      const [next, batch] = await redis.scan(cursor, "MATCH", `${PREFIX}*`, "COUNT", 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== "0");
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  }, 30_000);

  it("a worker drains BullMQ, delayed jobs included, while new jobs run on SQS: none lost, none run twice", {
    timeout: 90_000,
  }, async () => {
    const SQS = emulator.url(SQS_PARAMS);
    const bullmq = backend("before", BULLMQ);
    const sqs = backend("after", SQS);

    // Before: the app enqueues on BullMQ, and its workers run the jobs.
    const old = worker(["--url", BULLMQ, "--concurrency", "2"]);
    await old.waitFor(/"event":"ready"/, 30_000);

    // Step 1: deploy workers that run the new engine and drain the old one, beside the old ones.
    const draining = worker(["--url", SQS, "--drain", BULLMQ, "--concurrency", "4", "--drain-report", "250ms"]);
    await draining.waitFor(/"event":"ready"/, 30_000);
    const delayMs = 5_000;
    const enqueuedAt = Date.now();
    const onBullmq: JobHandle<number>[] = [
      ...(await step.using({ backend: bullmq }).enqueueMany(range(0, 40).map((n) => ({ n, ms: 100 })))),
      ...(await step.using({ backend: bullmq }).enqueueMany(
        range(100, 10).map((n) => ({ n, ms: 20 })),
        { delayMs },
      )),
    ];
    await waitUntil("the old worker has run a job", () => runsOf(old.stdout, "succeeded").length >= 1, 20_000);
    // … and stop the old workers: the jobs they run finish, the rest wait on BullMQ.
    old.kill("SIGTERM");
    expect((await old.done).code).toBe(0);

    // Step 2: switch the app to the new engine. New jobs (delayed ones too) go to SQS only.
    const onSqs = [
      ...(await step.using({ backend: sqs }).enqueueMany(range(200, 30).map((n) => ({ n, ms: 20 })))),
      ...(await step.using({ backend: sqs }).enqueueMany(
        range(300, 5).map((n) => ({ n, ms: 20 })),
        { delayMs: 2_000 },
      )),
    ];

    // Step 3: wait until the old engine's stats show nothing scheduled, queued or running.
    await waitUntil(
      "`taskport queues` shows BullMQ empty",
      async () => {
        const { code, stdout } = await runCli(["queues", "--url", BULLMQ, "--queues", "moves", "--json"]);
        if (code !== 0) return false;
        const { queues } = JSON.parse(stdout) as { queues: { counts: Record<string, number> }[] };
        return queues.every(({ counts }) => (counts.scheduled ?? 0) + (counts.queued ?? 0) + (counts.running ?? 0) === 0);
      },
      30_000,
    );
    await draining.waitFor(/"event":"drained"/, 5_000);
    // A job enqueued before the switch is read back on the engine it was enqueued on.
    expect(await onBullmq.at(-1)?.wait({ timeoutMs: 5_000 })).toBe(109);
    expect((await onBullmq[0]?.refresh())?.status).toBe("succeeded");

    // Step 4: remove the old engine: workers on the new one only.
    const everyId = [...onBullmq, ...onSqs].map((handle) => handle.id);
    await waitUntil(
      "every job has run",
      () => runsOf(draining.stdout, "succeeded").length + runsOf(old.stdout, "succeeded").length >= everyId.length,
      15_000,
    );
    draining.kill("SIGTERM");
    expect((await draining.done).code).toBe(0);
    const after = worker(["--url", SQS]);
    await after.waitFor(/"event":"ready"/, 30_000);
    const last = await step.using({ backend: sqs }).enqueueMany(range(400, 5).map((n) => ({ n, ms: 20 })));
    await waitUntil("the last jobs have run", () => runsOf(after.stdout, "succeeded").length >= last.length, 15_000);
    after.kill("SIGTERM");
    expect((await after.done).code).toBe(0);

    // Every job ran exactly once, on whichever worker; none ran that was not enqueued.
    const expected = [...everyId, ...last.map((handle) => handle.id)].sort();
    for (const event of ["started", "succeeded"] as const) {
      const runs = [old, draining, after].flatMap((process) => runsOf(process.stdout, event));
      expect(runs.sort(), `${event} events`).toEqual(expected);
    }
    // The draining worker did drain: it ran BullMQ's backlog and every delayed job, none early.
    const drainedIds = new Set(runsOf(draining.stdout, "started"));
    const delayed = onBullmq.slice(40);
    expect(onBullmq.slice(0, 40).filter((handle) => drainedIds.has(handle.id)).length).toBeGreaterThan(0);
    expect(delayed.every((handle) => drainedIds.has(handle.id))).toBe(true);
    for (const at of startTimes(draining.stdout, delayed)) expect(at).toBeGreaterThanOrEqual(enqueuedAt + delayMs - 50);
  });

  it("close() with one engine gone: the other's running job finishes, and close() ends within the grace period and the close bound", {
    timeout: 30_000,
  }, async () => {
    const relay = await TcpRelay.start(6379);
    try {
      const sqs = backend("after", emulator.url(SQS_PARAMS));
      // Giving up a consumer is bounded by the backend's close timeout (BullMQ's disconnect hangs
      // while Redis refuses connections).
      const gone = backend("before", { url: relay.urlOf(`${BULLMQ}-gone`), timeouts: { closeMs: 1_000 } });
      const running = await startWorker({ tasks: [step], backends: [sqs, gone], graceMs: 3_000 });
      const succeeded: number[] = [];
      running.on("succeeded", ({ result }) => succeeded.push(result as number));
      const started = new Promise((resolve) => running.on("started", resolve));
      await step.using({ backend: sqs }).enqueue({ n: 7, ms: 1_000 });
      await started;
      await relay.refuse();
      const closing = Date.now();
      await running.close();
      const tookMs = Date.now() - closing;
      expect(succeeded).toEqual([7]);
      // BullMQ's stop either fails at once, hangs until the grace period ends, or (when its
      // connections were already gone) ends cleanly; giving it up takes at most the close bound
      // (a second, and core's second of slack). Which of the three happens is the machine's timing,
      // so what matters is only that the other engine was not held up.
      expect(tookMs).toBeLessThan(3_000 + 2_000 + 1_000);
    } finally {
      await relay.close();
    }
  });
});
