/** Run a worker for the app's tasks until SIGINT or SIGTERM (then finish running jobs first). */
import { closeBackends, startWorker } from "@taskport/core";
import { configureEngine } from "./engine.ts";
import { tasks } from "./tasks.ts";

configureEngine();

const worker = await startWorker({ tasks, queues: ["emails", "default"], concurrency: 10 });
worker.on("succeeded", (e) => console.log(`done ${e.job.name} ${e.job.id} in ${e.durationMs.toFixed(0)} ms`));
worker.on("failed", (e) => console.error(`failed ${e.job.name} ${e.job.id}: ${e.error.message}`));
console.log(`worker on ${worker.queues.join(", ")} via ${worker.backend.description}`);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    await worker.close();
    await closeBackends();
  });
}
