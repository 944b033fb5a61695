/**
 * One worker process of the sqlite benchmark's several-processes scenario: runs `noop` jobs from
 * the file argv[2], each taking argv[3] ms, with argv[4] slots, and says "ready" once consuming.
 */
import { Backend, defineTask, startWorker } from "@taskport/core";
import { SqliteAdapter } from "@taskport/sqlite";

const [file, handlerMs, slots] = process.argv.slice(2) as [string, string, string];
const backend = new Backend("worker-process", new SqliteAdapter({ filename: file }));
const task = defineTask("noop", (_: { i: number }) => new Promise<void>((resolve) => setTimeout(resolve, Number(handlerMs))), {
  queue: "bench",
}).using({ backend });
await startWorker({ tasks: [task], backend, concurrency: Number(slots) });
process.stdout.write("ready\n");
