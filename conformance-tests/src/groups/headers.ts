import { UnsupportedFeatureError } from "@taskport/core";
import { expect } from "vitest";
import type { SuiteContext } from "../run-conformance.ts";
import { Recorder } from "../support/waiting.ts";

/** Headers: strings that travel with a job to its handler (trace context, correlation ids). */
export function registerHeaders(s: SuiteContext): void {
  const caps = s.capabilities;
  s.group("headers", caps.headers === true, () => {
    s.test("headers", "headers reach the handler as ctx.headers, on every attempt and from a bulk enqueue", async (f) => {
      const seen = new Recorder<{ n: number; attempt: number; headers: Readonly<Record<string, string>> }>();
      const job = await f.task(
        "traced",
        async (p: { n: number }, ctx) => {
          seen.push({ n: p.n, attempt: ctx.attempt, headers: ctx.headers });
          if (p.n === 1 && ctx.attempt === 1) throw new Error("once more");
        },
        { retry: { maxAttempts: 2, delayMs: 10, jitter: 0 } },
      );
      await f.worker({ tasks: [job] });
      const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
      await job.enqueue({ n: 1 }, { headers: { traceparent, "x-request-id": "req-ü-1" } });
      await job.enqueueMany([{ n: 2 }, { n: 3 }], { headers: { "x-request-id": "bulk" } });
      await job.enqueue({ n: 4 });
      await seen.until(5, s.late(10_000), "deliveries");
      const of = (n: number) => seen.items.filter((x) => x.n === n);
      expect(of(1).map((x) => x.attempt)).toEqual([1, 2]);
      for (const x of of(1)) expect(x.headers).toEqual({ traceparent, "x-request-id": "req-ü-1" });
      expect(of(2)[0]?.headers).toEqual({ "x-request-id": "bulk" });
      expect(of(3)[0]?.headers).toEqual({ "x-request-id": "bulk" });
      expect(of(4)[0]?.headers).toEqual({});
    });
  });

  if (caps.headers !== true) {
    s.group("validation", true, () => {
      s.test("validation", "headers: refused with UnsupportedFeatureError naming the adapter", async (f) => {
        const job = await f.task("job", async () => {});
        const error = await job.enqueue(undefined, { headers: { a: "b" } }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(UnsupportedFeatureError);
        expect((error as Error).message).toContain(`[${f.adapterName}]`);
      });
    });
  }
}
