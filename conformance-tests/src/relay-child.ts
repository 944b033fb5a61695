/**
 * The child process of the "relay killed mid-batch" test: builds the adapter under test from the
 * harness's module, and runs its outbox relay with small batches, pausing after the engine has
 * confirmed each batch and before the outbox deletes it, and saying so on stdout (`handed <n>`).
 * The parent kills it with SIGKILL during such a pause. Run as a script; it imports no vitest.
 *
 *   node relay-child.ts <module URL> <testId> [args for createAdapter…]
 */
import { type Adapter, OutboxAdapter, withOutbox } from "@taskport/core";
import type { AdapterContext } from "./harness.ts";
import { CHILD_BATCH, CHILD_PAUSE_MS } from "./support/relay-child-command.ts";

const [moduleUrl, testId, ...args] = process.argv.slice(2);
if (!moduleUrl || !testId) throw new Error("usage: relay-child <module URL> <testId> [args…]");
const module = (await import(moduleUrl)) as { createAdapter(context: AdapterContext, ...args: string[]): Adapter | Promise<Adapter> };
const adapter = await module.createAdapter({ testId }, ...args);
if (!(adapter instanceof OutboxAdapter)) throw new Error(`${moduleUrl} did not build an adapter with an outbox (withOutbox)`);

const engine = adapter.engine;
const pausing: Adapter = {
  name: engine.name,
  capabilities: engine.capabilities,
  async enqueue(jobs, context) {
    const receipts = await engine.enqueue(jobs, context);
    process.stdout.write(`handed ${jobs.length}\n`);
    await new Promise((resolve) => setTimeout(resolve, CHILD_PAUSE_MS));
    return receipts;
  },
  consume: (options, handler) => engine.consume(options, handler),
  close: () => engine.close(),
};
const relaying = withOutbox(pausing, adapter.outbox, { target: adapter.target, batchSize: CHILD_BATCH, pollMs: 100 });
await relaying.startRelay((error) => process.stderr.write(`relay error: ${error.message}\n`));
process.stdout.write("ready\n");
