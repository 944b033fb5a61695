/**
 * A soak worker process: argv = backend URL, queue, ledger, role ("steady" is never killed and
 * reports its RSS; "chaos" may be killed at any moment). Writes "ready" on stdout once it takes jobs;
 * SIGTERM closes it gracefully.
 */
import { Backend, startWorker } from "@taskport/core";
import { record } from "./ledger.ts";
import { soakTask } from "./soak-task.ts";

const [url, queue, ledger, role] = process.argv.slice(2) as [string, string, string, string];
const backend = new Backend(`soak-${role}`, { url });
const work = soakTask(queue, async (payload, ctx) => {
  record(ledger, `start ${payload.i} ${ctx.attempt} ${Date.now() - payload.at}`);
  await new Promise((resolve) => setTimeout(resolve, 5 + (payload.i % 20)));
  record(ledger, `done ${payload.i}`);
}).using({ backend });
const worker = await startWorker({ tasks: [work], backend, concurrency: 20 });
// Lost connections and their recovery are expected here: the soak cuts them on purpose.
worker.on("error", () => {});
process.stdout.write("ready\n");
const rss = setInterval(() => record(ledger, `rss ${role} ${process.memoryUsage().rss}`), 5_000);
process.once("SIGTERM", async () => {
  clearInterval(rss);
  await worker.close({ graceMs: 10_000 });
  await backend.close();
  process.exit(0);
});
