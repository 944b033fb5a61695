import { TaskportError } from "@taskport/core";
import { expect } from "vitest";
import type { SuiteContext } from "../run-conformance.ts";
import { sleep, waitFor } from "../support/waiting.ts";

/**
 * A worker whose network misbehaves, through a `TcpRelay` between it and the engine (the
 * harness's `connectVia`). Jobs are enqueued over a direct connection and counted outside the
 * engine, in the handler: the engine's own counts are what is under test. Delivery is
 * at-least-once on every engine, so a job may run twice after a fault (its first run's outcome
 * can be lost with the connection); the tests count distinct jobs, and never accept a missing one.
 */
export function registerNetworkFaults(s: SuiteContext): void {
  const via = s.options.harness?.connectVia;
  s.group("networkFaults", via ? true : "needs harness.connectVia (no network connection to the engine)", () => {
    s.test(
      "networkFaults",
      "a worker whose connections are cut mid-run, and refused for a while, resumes by itself and loses no job",
      async (f) => {
        const { backend: relayed, relay } = await f.backendViaRelay();
        const seen = new Set<number>();
        const handler = async (p: { i: number }) => {
          seen.add(p.i);
          await sleep(5);
        };
        const enqueued = await f.task("job", handler);
        const consumed = await f.task("job", handler, {}, relayed);
        const worker = await f.worker({ tasks: [consumed], backend: relayed, concurrency: 10 });
        worker.on("error", () => {}); // reported, not fatal
        const count = 300;
        await enqueued.enqueueMany(Array.from({ length: count }, (_, i) => ({ i })));
        await waitFor(() => seen.size > 30, s.late(30_000), "the run to be under way");
        await relay.refuse(); // every connection destroyed, on both sides, and new ones refused
        await sleep(1_000);
        await relay.restore();
        await waitFor(() => seen.size === count, s.late(60_000), `all ${count} jobs (have ${seen.size})`);
      },
      120_000,
    );

    s.test(
      "networkFaults",
      "an enqueue into a black hole fails within the backend's deadline, with an error that names the engine",
      async (f) => {
        const timeouts = { connectMs: 1_000, operationMs: 2_000 };
        const { backend, relay, adapter } = await f.backendViaRelay({ timeouts });
        const job = await f.task("job", async () => {}, {}, backend);
        await job.enqueue(undefined); // connected, and answered once
        relay.blackHole();
        const started = Date.now();
        const error = await job.enqueue(undefined).then(
          () => new Error("the enqueue succeeded"),
          (e: unknown) => e,
        );
        const took = Date.now() - started;
        expect(error).toBeInstanceOf(TaskportError);
        expect((error as Error).message).toContain(adapter.name);
        // The backend's bound is connectMs + operationMs, plus core's second of slack.
        expect(took, "ms until the enqueue failed").toBeLessThan(timeouts.connectMs + timeouts.operationMs + 1_000 + s.late(2_000));
      },
      60_000,
    );
  });

  // Apart from the cut, because only a deadline or a heartbeat on every worker connection can pass
  // it: an engine without them opts out of this one and still proves it survives a cut.
  s.group("blackHole", via ? true : "needs harness.connectVia (no network connection to the engine)", () => {
    s.test(
      "blackHole",
      "a worker whose connections go silent (a black hole) notices, replaces them once the network is back, and runs every job",
      async (f) => {
        const { backend: relayed, relay } = await f.backendViaRelay();
        const seen = new Set<number>();
        const handler = async (p: { i: number }) => {
          seen.add(p.i);
        };
        const enqueued = await f.task("job", handler);
        const consumed = await f.task("job", handler, {}, relayed);
        const worker = await f.worker({ tasks: [consumed], backend: relayed, concurrency: 5 });
        worker.on("error", () => {}); // reported, not fatal
        await enqueued.enqueue({ i: 0 });
        await waitFor(() => seen.has(0), s.late(15_000), "the first job, before the fault");
        // Nothing passes either way, and nothing closes: only a deadline or a heartbeat can tell.
        relay.blackHole();
        await enqueued.enqueueMany(Array.from({ length: 20 }, (_, i) => ({ i: i + 1 })));
        await sleep(3_000);
        const acceptedBefore = relay.accepted;
        // New connections pass again; the black-holed ones stay silent until the worker replaces them.
        await relay.restore();
        await enqueued.enqueueMany(Array.from({ length: 20 }, (_, i) => ({ i: i + 21 })));
        await waitFor(() => seen.size === 41, s.late(60_000), `all 41 jobs (have ${seen.size})`);
        expect(relay.accepted, "connections made to replace the silent ones").toBeGreaterThan(acceptedBefore);
      },
      120_000,
    );
  });
}
