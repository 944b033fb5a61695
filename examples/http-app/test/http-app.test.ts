import type { AddressInfo } from "node:net";
import { closeBackends, startWorker, type Worker } from "@taskport/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/app.ts";
import { tasks } from "../src/tasks.ts";

// The app runs on whatever TASKPORT_URL names; unset, that is the in-process memory engine.
describe(`http app on ${process.env.TASKPORT_URL ?? "memory://"}`, () => {
  let base = "";
  let worker: Worker;
  const server = createApp();

  beforeAll(async () => {
    worker = await startWorker({ tasks, queues: ["emails", "default"] });
    server.listen(0);
    await new Promise((resolve) => server.once("listening", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.close();
    await worker.close();
    await closeBackends();
  });

  async function post(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
    const res = await fetch(base + path, { method: "POST", body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  async function until(queue: string, id: string, status: string): Promise<Record<string, unknown>> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const info = (await (await fetch(`${base}/jobs/${queue}/${id}`)).json()) as Record<string, unknown>;
      if (info.status === status || Date.now() > deadline) return info;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it("a signup request enqueues an email job that the worker runs", async () => {
    const res = await post("/signup", { email: "ada@example.com", name: "Ada" });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ queue: "emails", status: "queued" });
    const info = await until("emails", res.body.jobId as string, "succeeded");
    expect(info).toMatchObject({ status: "succeeded", name: "send-welcome-email", result: { to: "ada@example.com" } });
  });

  it("progress is stored with the job", async () => {
    const res = await post("/count", { text: "a b a" });
    const info = await until("default", res.body.jobId as string, "succeeded");
    expect(info).toMatchObject({ result: { words: 3, distinct: 2 }, progress: { done: 3, total: 3 } });
  });

  it("many requests at once each get their job run once", async () => {
    const seen = new Map<string, number>();
    const off = worker.on("succeeded", (e) => seen.set(e.job.id, (seen.get(e.job.id) ?? 0) + 1));
    const responses = await Promise.all(Array.from({ length: 50 }, (_, i) => post("/count", { text: `word ${i}` })));
    const ids = responses.map((r) => r.body.jobId as string);
    const deadline = Date.now() + 10_000;
    while (ids.some((id) => !seen.has(id)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    off();
    expect(ids.every((id) => seen.get(id) === 1)).toBe(true);
  });

  it("bad requests get a 422 and enqueue nothing", async () => {
    const res = await post("/signup", { email: 42 });
    expect(res.status).toBe(422);
  });

  it("an unknown job is a 404", async () => {
    const res = await fetch(`${base}/jobs/emails/00000000-0000-4000-8000-000000000000`);
    expect(res.status).toBe(404);
  });
});
