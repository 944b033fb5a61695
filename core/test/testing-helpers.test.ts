import { describe, expect, it } from "vitest";
import { Backend, defineTask, JobFailedError } from "../src/index.ts";
import { ImmediateAdapter, RecordingAdapter } from "../src/testing/index.ts";

const sendEmail = defineTask("send-email", async (p: { to: string }) => ({ sent: p.to }), { queue: "mail" });

describe("RecordingAdapter", () => {
  it("records what was enqueued, with its options, and runs nothing", async () => {
    const recorder = new RecordingAdapter();
    const email = sendEmail.using({ backend: new Backend("test", recorder) });
    const handle = await email.enqueue({ to: "a@example.com" }, { delayMs: 1000, priority: 10, deduplicationKey: "a" });
    expect(recorder.jobsOf("send-email")).toEqual([
      expect.objectContaining({ id: handle.id, queue: "mail", payload: { to: "a@example.com" }, priority: 10, deduplicationKey: "a" }),
    ]);
    expect((await handle.refresh()).status).toBe("scheduled");
    recorder.clear();
    expect(recorder.jobs).toEqual([]);
  });

  it("can mimic an engine's refusals", async () => {
    const recorder = new RecordingAdapter({ priority: false });
    const email = sendEmail.using({ backend: new Backend("test", recorder) });
    await expect(email.enqueue({ to: "x" }, { priority: 5 })).rejects.toThrow(/does not support priority/);
  });
});

describe("ImmediateAdapter", () => {
  it("runs the job inside enqueue; its result is there at once", async () => {
    const backend = new Backend("test", new ImmediateAdapter([sendEmail]));
    const handle = await sendEmail.using({ backend }).enqueue({ to: "b@example.com" });
    expect((await handle.refresh()).status).toBe("succeeded");
    expect(await handle.wait()).toEqual({ sent: "b@example.com" });
  });

  it("retries without waiting, and reports a final failure", async () => {
    let calls = 0;
    const flaky = defineTask(
      "flaky",
      async () => {
        calls++;
        throw new Error("nope");
      },
      { retry: { maxAttempts: 3, delayMs: 60_000 } },
    );
    const backend = new Backend("test", new ImmediateAdapter([flaky]));
    const handle = await flaky.using({ backend }).enqueue(undefined);
    expect(calls).toBe(3);
    await expect(handle.wait()).rejects.toBeInstanceOf(JobFailedError);
  });

  it("refuses delays: running now would break the caller's intent", async () => {
    const backend = new Backend("test", new ImmediateAdapter([sendEmail]));
    await expect(sendEmail.using({ backend }).enqueue({ to: "c" }, { delayMs: 10 })).rejects.toThrow(/does not support delays/);
  });

  it("fails a task it was not given, visibly", async () => {
    const backend = new Backend("test", new ImmediateAdapter([]));
    const handle = await sendEmail.using({ backend }).enqueue({ to: "d" });
    const error = await handle.wait().catch((e: JobFailedError) => e);
    expect((error as JobFailedError).error?.name).toBe("UnknownTaskError");
  });
});
