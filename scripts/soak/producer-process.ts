/**
 * The soak's producer process: argv = backend URL, queue, ledger, jobs per second, seconds. Enqueues
 * at a steady rate, one job at a time (up to 50 in flight), and records each enqueue that resolved.
 * An enqueue that fails is counted on stderr and not recorded: the engine may not have it.
 */
import { Backend } from "@taskport/core";
import { record } from "./ledger.ts";
import { soakTask } from "./soak-task.ts";

const [url, queue, ledger, rate, seconds] = process.argv.slice(2) as [string, string, string, string, string];
const backend = new Backend("soak-producer", { url });
const task = soakTask(queue, async () => {}).using({ backend });
const total = Number(rate) * Number(seconds);
const started = Date.now();
let failed = 0;
let inFlight = 0;
for (let i = 0; i < total; i++) {
  // Job i is due at i / rate seconds after the start: the load stays steady whatever each enqueue takes.
  const due = started + (i * 1_000) / Number(rate);
  const wait = due - Date.now();
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  while (inFlight >= 50) await new Promise((resolve) => setTimeout(resolve, 5));
  inFlight++;
  task
    .enqueue({ i, at: Date.now() })
    .then(
      () => record(ledger, `enq ${i}`),
      (error: unknown) => {
        failed++;
        console.error(`[soak] enqueue ${i} failed: ${error instanceof Error ? error.message : String(error)}`);
      },
    )
    .finally(() => inFlight--);
}
while (inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 10));
await backend.close();
if (failed > 0) console.error(`[soak] ${failed} enqueues failed`);
