/**
 * The quick start: the HTTP app and a worker in one process, driven by a few real HTTP requests.
 * With no TASKPORT_URL it keeps its jobs in a SQLite file in the example's folder, so it needs no
 * server and loses nothing: `--crash` answers the requests and then dies (SIGKILL) before its worker
 * takes the jobs, and the next run finds them and runs them first. Set TASKPORT_URL
 * (e.g. bullmq://127.0.0.1:6379, or memory://) and the same code runs on that engine.
 */
import type { AddressInfo } from "node:net";
import { closeBackends, getBackend, startWorker } from "@taskport/core";
import { createApp } from "./app.ts";
import { configureEngine } from "./engine.ts";
import { tasks } from "./tasks.ts";

const crash = process.argv.includes("--crash");
const queues = ["emails", "default"];
configureEngine();
const backend = getBackend();
console.log(
  `taskport demo — engine: ${backend.description}${process.env.TASKPORT_URL ? "" : " (the example's own file; set TASKPORT_URL to switch)"}`,
);

// Jobs an earlier run left behind (one that was killed), read through the inspection API where the engine has it.
const capabilities = (await backend.adapter()).capabilities;
const leftBehind = new Set<string>();
if (capabilities.listJobs && !crash) {
  for (const queue of queues) {
    for (const status of ["queued", "scheduled"] as const) {
      for (const job of (await backend.jobs(queue, { status, limit: 100 })).jobs) leftBehind.add(job.id);
    }
  }
  if (leftBehind.size > 0) console.log(`found ${leftBehind.size} jobs an earlier run left behind: they run first`);
}
const tag = (id: string) => (leftBehind.has(id) ? " (left by an earlier run)" : "");

const worker = crash ? undefined : await startWorker({ tasks, queues, concurrency: 4 });
worker?.on("started", (e) => console.log(`  [worker] start ${e.job.name} ${short(e.job.id)} (attempt ${e.attempt})${tag(e.job.id)}`));
worker?.on("progress", (e) => console.log(`  [worker] progress ${short(e.job.id)} ${JSON.stringify(e.value)}`));
worker?.on("succeeded", (e) =>
  console.log(`  [worker] done  ${e.job.name} ${short(e.job.id)} → ${JSON.stringify(e.result)}${tag(e.job.id)}`),
);
worker?.on("failed", (e) => console.log(`  [worker] FAILED ${e.job.name} ${short(e.job.id)}: ${e.error.message}`));

const server = createApp().listen(0);
await new Promise((resolve) => server.once("listening", resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const requests: [string, unknown][] = [
  ["/signup", { email: "ada@example.com", name: "Ada" }],
  ["/signup", { email: "grace@example.com", name: "Grace" }],
  ["/count", { text: "the quick brown fox jumps over the lazy dog" }],
];
const jobs: { jobId: string; queue: string }[] = [];
for (const [path, body] of requests) {
  const res = await fetch(base + path, { method: "POST", body: JSON.stringify(body) });
  const answer = (await res.json()) as { jobId: string; queue: string; error?: string };
  if (res.status !== 202) {
    console.error(`→ POST ${path} ${JSON.stringify(body)}  ← ${res.status} ${answer.error}`);
    process.exitCode = 1;
    continue;
  }
  console.log(`→ POST ${path} ${JSON.stringify(body)}  ← ${res.status} job ${short(answer.jobId)} on "${answer.queue}"`);
  jobs.push(answer);
}

if (crash) {
  console.log(`--crash: killed now (SIGKILL), with ${jobs.length} jobs queued and no worker having run them. Start the demo again.`);
  process.kill(process.pid, "SIGKILL");
}

if (capabilities.results) {
  for (const { jobId, queue } of jobs) {
    let info = (await (await fetch(`${base}/jobs/${queue}/${jobId}`)).json()) as { status: string; result?: unknown };
    for (let tries = 0; info.status !== "succeeded" && info.status !== "failed" && tries < 200; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      info = (await (await fetch(`${base}/jobs/${queue}/${jobId}`)).json()) as { status: string; result?: unknown };
    }
    console.log(`→ GET /jobs/${queue}/${short(jobId)}  ← ${info.status} ${JSON.stringify(info.result)}`);
  }
} else {
  await new Promise((resolve) => setTimeout(resolve, 1000));
  console.log(`(${backend.description} stores no results; see the worker's lines above)`);
}

server.close();
await worker?.close();
await closeBackends();
const earlier = leftBehind.size > 0 ? `, and the ${leftBehind.size} an earlier run left` : "";
console.log(`done: 3 requests, 3 jobs${earlier}, one worker. Next: npm test`);

/** The end of an id: engines with time-ordered ids (SQLite) differ there, not at the start. */
function short(id: string): string {
  return id.slice(-8);
}
