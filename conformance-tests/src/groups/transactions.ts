import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import type { Adapter, JobHandle } from "@taskport/core";
import { expect } from "vitest";
import type { ConformanceHarness } from "../harness.ts";
import type { SuiteContext } from "../run-conformance.ts";
import { CHILD_BATCH, relayChildCommand } from "../support/relay-child-command.ts";
import { Recorder, sleep, waitFor } from "../support/waiting.ts";

type Transaction = NonNullable<ConformanceHarness["transaction"]>;

/** Transactional enqueue: a job exists only if the caller's transaction commits, and then runs once. */
export function registerTransactions(s: SuiteContext): void {
  const caps = s.capabilities;
  const harness = s.options.harness;
  const transaction = harness?.transaction as Transaction;
  const when = caps.transactions ? (harness?.transaction ? true : "declared, but the harness gives no transaction()") : false;

  s.group("transactions", when, () => {
    for (const outcome of ["commit", "rollback"] as const) {
      s.test(
        "transactions",
        `a job enqueued in a transaction that is ${outcome === "commit" ? "committed runs" : "rolled back never runs"}`,
        async (f) => {
          const seen = new Recorder<string>();
          const job = await f.task("job", async (p: { tag: string }) => seen.push(p.tag));
          const adapter = await (await f.backend()).adapter();
          await transaction(adapter, outcome, async (tx) => {
            await job.enqueue({ tag: "in-transaction" }, { transaction: tx });
          });
          await job.enqueue({ tag: "after" });
          await f.worker({ tasks: [job] });
          await seen.until(outcome === "commit" ? 2 : 1, s.late(10_000), "jobs");
          await sleep(300);
          expect([...seen.items].sort()).toEqual(outcome === "commit" ? ["after", "in-transaction"] : ["after"]);
        },
      );
    }

    s.test("transactions", "many jobs in one transaction: all run once when it commits, none when it rolls back", async (f) => {
      const runs = new Map<string, number>();
      const job = await f.task("job", async (_p: { n: number }, ctx) => {
        runs.set(ctx.jobId, (runs.get(ctx.jobId) ?? 0) + 1);
      });
      const adapter = await (await f.backend()).adapter();
      const payloads = Array.from({ length: 300 }, (_, n) => ({ n }));
      let committed: JobHandle<void>[] = [];
      let rolledBack: JobHandle<void>[] = [];
      await transaction(adapter, "rollback", async (tx) => {
        rolledBack = await job.enqueueMany(payloads, { transaction: tx });
      });
      await transaction(adapter, "commit", async (tx) => {
        committed = await job.enqueueMany(payloads, { transaction: tx });
      });
      expect(rolledBack).toHaveLength(payloads.length);
      await f.worker({ tasks: [job], concurrency: 20 });
      await waitFor(() => runs.size >= committed.length, s.late(30_000), `${committed.length} jobs to run (ran ${runs.size})`);
      await sleep(500);
      expect([...runs.keys()].sort()).toEqual(committed.map((handle) => handle.id).sort());
      expect([...runs.values()].every((count) => count === 1)).toBe(true);
    });

    if (caps.delay) {
      s.test("transactions", "a job enqueued in a transaction keeps its delay: it starts no earlier", async (f) => {
        const started = new Recorder<number>();
        const job = await f.task("job", async () => started.push(Date.now()));
        const adapter = await (await f.backend()).adapter();
        let enqueuedAt = 0;
        await transaction(adapter, "commit", async (tx) => {
          enqueuedAt = Date.now();
          await job.enqueue(undefined, { transaction: tx, delayMs: 1_500 });
        });
        await f.worker({ tasks: [job] });
        const [at] = await started.until(1, s.late(12_000), "the delayed job");
        expect((at as number) - enqueuedAt).toBeGreaterThanOrEqual(1_500 - 5);
      });
    }

    if (caps.headers) {
      s.test("transactions", "a job enqueued in a transaction keeps its headers and attempts", async (f) => {
        const seen = new Recorder<{ headers: Readonly<Record<string, string>>; maxAttempts: number }>();
        const job = await f.task("job", async (_p: undefined, ctx) => seen.push({ headers: ctx.headers, maxAttempts: ctx.maxAttempts }));
        const adapter = await (await f.backend()).adapter();
        await transaction(adapter, "commit", async (tx) => {
          await job.enqueue(undefined, { transaction: tx, headers: { "x-request-id": "req-ü-1" }, attempts: 3 });
        });
        await f.worker({ tasks: [job] });
        const [got] = await seen.until(1, s.late(10_000), "the job");
        expect(got).toEqual({ headers: { "x-request-id": "req-ü-1" }, maxAttempts: 3 });
      });
    }

    const relayChild = harness?.relayChild;
    if (relayChild) {
      s.test(
        "transactions",
        "a relay killed (SIGKILL) in a child process mid-batch: every committed job runs, none is lost",
        async (f) => {
          const runs = new Map<string, number>();
          const job = await f.task("job", async (_p: { n: number }, ctx) => {
            runs.set(ctx.jobId, (runs.get(ctx.jobId) ?? 0) + 1);
          });
          const adapter: Adapter = await (await f.backend()).adapter();
          let committed: JobHandle<void>[] = [];
          await transaction(adapter, "commit", async (tx) => {
            committed = await job.enqueueMany(
              Array.from({ length: 4 * CHILD_BATCH }, (_, n) => ({ n })),
              { transaction: tx },
            );
          });

          // The child relays a batch, deletes it, relays the next, and is killed while that one is
          // in the engine but still in the outbox: the worst moment, which re-publishes it.
          const { command, args } = relayChildCommand(relayChild.module, f.testId, relayChild.args ?? []);
          const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
          let stderr = "";
          child.stderr.on("data", (chunk: Buffer) => {
            stderr += chunk.toString();
          });
          const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
          const handed = new Recorder<number>();
          createInterface({ input: child.stdout }).on("line", (line) => {
            const match = /^handed (\d+)$/.exec(line);
            if (match) handed.push(Number(match[1]));
          });
          try {
            await Promise.race([
              handed.until(2, s.late(30_000), "the child relay to hand over two batches"),
              exited.then(() => {
                throw new Error(`the relay child exited early:\n${stderr}`);
              }),
            ]);
          } finally {
            child.kill("SIGKILL");
            await exited;
          }

          // A worker's own relay takes over the rows the dead one held.
          await f.worker({ tasks: [job], concurrency: 20 });
          await waitFor(() => runs.size >= committed.length, s.late(30_000), `${committed.length} jobs to run (ran ${runs.size})`);
          await sleep(1_000);
          expect([...runs.keys()].sort()).toEqual(committed.map((handle) => handle.id).sort());
          const duplicates = [...runs.values()].reduce((sum, count) => sum + count - 1, 0);
          // At most the batch the dead relay had handed over but not deleted runs twice.
          expect(duplicates).toBeLessThanOrEqual(CHILD_BATCH);
          console.info(
            `[taskport] conformance: ${s.options.name}: relay killed mid-batch: ${committed.length} jobs committed, ` +
              `${runs.size} ran, ${duplicates} ran twice (re-published after the kill and not deduplicated by the engine)`,
          );
        },
        60_000,
      );
    }
  });
}
