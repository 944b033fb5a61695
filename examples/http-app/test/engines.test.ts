import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Backend } from "@taskport/core";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const demo = fileURLToPath(new URL("../src/demo.ts", import.meta.url));

// SQS needs no server of its own here: an emulator, started for this file on a free port.
let sqs: FauxqsServer | undefined;
beforeAll(async () => {
  sqs = await startFauxqs({ port: 0, host: "127.0.0.1", logger: false });
});
afterAll(() => sqs?.stop());

/** The same app, switched by TASKPORT_URL alone, on every engine whose server runs here. */
const ENGINES: [string, string | (() => string)][] = [
  ["BullMQ", process.env.TASKPORT_TEST_BULLMQ_URL ?? "bullmq://127.0.0.1:6379/0?prefix=example"],
  ["bee-queue", process.env.TASKPORT_TEST_BEE_QUEUE_URL ?? "bee-queue://127.0.0.1:6379/0?prefix=example"],
  ["pg-boss", process.env.TASKPORT_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test?schema=taskport_example"],
  ["RabbitMQ", process.env.TASKPORT_TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672"],
  ["SQS", () => `sqs://test:test@127.0.0.1:${sqs?.port}?region=us-east-1&createQueues=true`],
];

describe("the example app on each engine, switched by TASKPORT_URL only", () => {
  for (const [engine, target] of ENGINES) {
    it(`runs on ${engine}`, async (context) => {
      const url = typeof target === "string" ? target : target();
      const problems = await new Backend(engine, url).check();
      if (problems.length > 0) {
        const message = `${engine} is not available here: ${problems.map((p) => p.message).join("; ")}`;
        if (process.env.CI === "true") throw new Error(message);
        console.warn(`[taskport] example: SKIPPING ${message}`);
        context.skip();
      }
      const { stdout } = await run(process.execPath, ["--conditions=@taskport/source", demo], {
        env: { ...process.env, TASKPORT_URL: url },
        timeout: 60_000,
      });
      expect(stdout).toContain(`engine: ${new Backend("x", url).description}`);
      expect(stdout.match(/\[worker\] done/g)).toHaveLength(3);
      expect(stdout).toContain("done: 3 requests, 3 jobs, one worker.");
    }, 90_000);
  }
});
