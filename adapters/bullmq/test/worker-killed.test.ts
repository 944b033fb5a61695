import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Backend, defineTask, startWorker, type Worker, WorkerLostError } from "@taskport/core";
import { afterAll, expect, it } from "vitest";
import { testAdapter } from "./support.ts";

// Workers in processes of their own, killed with SIGKILL while they run a job: nothing of theirs
// settles or closes anything, and BullMQ's stalled-job check is what brings the job back.
const HANGING_WORKER = fileURLToPath(new URL("./fixtures/hanging-worker.ts", import.meta.url));
const id = `tpk${randomBytes(3).toString("hex")}`;
const queue = `${id}-main`;
const adapter = testAdapter(id);
const backend = new Backend(id, adapter);
const children: ChildProcess[] = [];
let survivor: Worker | undefined;

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  await survivor?.close({ graceMs: 0 });
  await adapter.destroyQueue(queue).catch(() => {});
  await adapter.close();
});

/** Start a hanging worker process, wait until it has started `jobs` jobs, and kill it with SIGKILL. */
async function killWhileRunning(jobs: number, round: number): Promise<string[]> {
  const child = spawn(process.execPath, ["--conditions=@taskport/source", HANGING_WORKER, queue, `${id}-${round}`], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    out += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    err += chunk.toString();
  });
  const deadline = Date.now() + 60_000;
  const started = () => out.split("\n").filter((line) => line.startsWith("started "));
  while (started().length < jobs) {
    if (Date.now() > deadline || child.exitCode !== null) {
      throw new Error(`worker process ${round} started ${started().length} of ${jobs} jobs:\n${out}\n${err}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGKILL");
  await exited;
  return started();
}

it("a job whose worker process is SIGKILLed twice runs again while it has attempts left; one of a single attempt, killed on it and on its extra start, fails for good, visibly", async () => {
  const hang = (maxAttempts: number) =>
    defineTask("hang", async (_: { which: string }) => "done", { queue, retry: { maxAttempts, delayMs: 10 } });
  const lasting = await hang(5).using({ backend }).enqueue({ which: "five attempts" });
  const doomed = await hang(1).using({ backend }).enqueue({ which: "one attempt" });

  const first = await killWhileRunning(2, 1);
  const second = await killWhileRunning(2, 2);
  const attemptsOf = (lines: string[], job: string) => lines.filter((line) => line.includes(job)).map((line) => Number(line.split(" ")[2]));
  expect([...attemptsOf(first, lasting.id), ...attemptsOf(second, lasting.id)]).toEqual([1, 2]);
  expect([...attemptsOf(first, doomed.id), ...attemptsOf(second, doomed.id)]).toEqual([1, 2]);

  const succeeded: { id: string; attempt: number }[] = [];
  const failed: { id: string; attempt: number; error: string }[] = [];
  survivor = await startWorker({ tasks: [hang(5)], backend: new Backend(`${id}-survivor`, testAdapter(`${id}-survivor`)) });
  survivor.on("succeeded", (e) => succeeded.push({ id: e.job.id, attempt: e.attempt }));
  survivor.on("failed", (e) => failed.push({ id: e.job.id, attempt: e.attempt, error: e.error.name }));

  expect(await lasting.wait({ timeoutMs: 30_000 })).toBe("done");
  await expect(doomed.wait({ timeoutMs: 30_000 })).rejects.toThrow(/last attempt \(1 of 1\) and on the extra start/);
  expect(succeeded).toEqual([{ id: lasting.id, attempt: 3 }]);
  expect(failed).toEqual([{ id: doomed.id, attempt: 2, error: WorkerLostError.name }]);
  // Its attempt and the extra start.
  expect(await doomed.refresh()).toMatchObject({ status: "failed", attempt: 2, maxAttempts: 1 });
  const letters = await adapter.listDeadLetters(queue, 10);
  expect(letters.map((letter) => [letter.id, letter.error?.name])).toEqual([[doomed.id, WorkerLostError.name]]);
}, 120_000);
