import { defineTask, PayloadTooLargeError, SerializationError, UnknownTaskError, UnsupportedFeatureError } from "@taskport/core";
import { expect } from "vitest";
import type { SuiteContext } from "../run-conformance.ts";
import { Recorder, sleep } from "../support/waiting.ts";

/** Round trip, payload fidelity, queue isolation, bulk enqueue and validation. */
export function registerBasics(s: SuiteContext): void {
  const caps = s.capabilities;

  s.group("roundTrip", true, () => {
    s.test("roundTrip", "a job runs once with its payload and context", async (f) => {
      const seen = new Recorder<{
        payload: unknown;
        jobId: string;
        attempt: number;
        maxAttempts: number;
        taskName: string;
        queue: string;
      }>();
      const echo = await f.task("echo", async (payload: { n: number }, ctx) => {
        seen.push({
          payload,
          jobId: ctx.jobId,
          attempt: ctx.attempt,
          maxAttempts: ctx.maxAttempts,
          taskName: ctx.taskName,
          queue: ctx.queue,
        });
        return { doubled: payload.n * 2 };
      });
      await f.worker({ tasks: [echo] });
      const handle = await echo.enqueue({ n: 21 });
      const [got] = await seen.until(1, s.late(10_000), "deliveries");
      expect(got).toEqual({ payload: { n: 21 }, jobId: handle.id, attempt: 1, maxAttempts: 1, taskName: "echo", queue: f.queue() });
      expect(handle.taskName).toBe("echo");
      expect(handle.queue).toBe(f.queue());
      await sleep(100);
      expect(seen.length).toBe(1);
    });

    const limit = caps.maxPayloadBytes ?? 1_000_000;
    const large = "x".repeat(Math.min(200_000, limit - 2_000));
    const payloads: [string, unknown][] = [
      ["unicode", { text: "héllo wörld — 日本語 — עברית — 👩‍👩‍👧 — \u2028\u2029 — \\ \" '", empty: "" }],
      ["nesting", { a: { b: { c: { d: { e: [1, [2, [3, [4, { f: null }]]]] } } } } }],
      ["numbers", { int: 42, negative: -7, float: 0.1 + 0.2, tiny: 5e-324, big: Number.MAX_SAFE_INTEGER, zero: 0 }],
      ["scalars", [true, false, null, "", 0, [], {}]],
      ["a bare string", "just a string"],
      ["null", null],
      ["a large payload", { large }],
      // JSON text carries these as escapes (\u0000, \ud800); an engine must not refuse or alter them.
      [
        "U+0000, control characters and lone surrogates",
        { nul: "a\u0000b", controls: "\u0001\u001f\u007f", lone: "\ud800", reversed: "\udc00\ud800", pair: "\ud83d\ude00" },
      ],
      ["key order", { zebra: 1, apple: { yak: true, ant: false }, list: [{ z: 0, a: 0 }], "": "empty key", longer_key: null, k: "short" }],
    ];
    for (const [label, payload] of payloads) {
      s.test("roundTrip", `payload fidelity: ${label}`, async (f) => {
        const seen = new Recorder<unknown>();
        const echo = await f.task("echo", async (p: unknown) => {
          seen.push(p);
          return p as never;
        });
        await f.worker({ tasks: [echo] });
        const handle = await echo.enqueue(payload);
        const [got] = await seen.until(1, s.late(10_000), "deliveries");
        expect(got).toEqual(payload);
        // As JSON text: key order and every character, as the payload was sent.
        expect(JSON.stringify(got)).toBe(JSON.stringify(payload));
        if (caps.results) {
          const result = await handle.wait({ timeoutMs: s.late(10_000) });
          expect(result).toEqual(payload);
          expect(JSON.stringify(result)).toBe(JSON.stringify(payload));
          expect(JSON.stringify((await handle.refresh()).payload)).toBe(JSON.stringify(payload));
        }
      });
    }
  });

  s.group("queueIsolation", true, () => {
    s.test("queueIsolation", "a worker takes jobs only from its own queues", async (f) => {
      const seen = new Recorder<string>();
      const job = await f.task("job", async (p: { tag: string }) => seen.push(p.tag));
      await job.using({ queue: f.queue("a") }).enqueue({ tag: "a1" });
      await job.using({ queue: f.queue("b") }).enqueue({ tag: "b1" });
      await job.using({ queue: f.queue("a") }).enqueue({ tag: "a2" });
      await f.worker({ tasks: [job], queues: [f.queue("b")] });
      await seen.until(1, s.late(10_000), "deliveries");
      await sleep(300);
      expect(seen.items).toEqual(["b1"]);
      const other = await f.worker({ tasks: [job], queues: [f.queue("a")] });
      await seen.until(3, s.late(10_000), "deliveries");
      expect(seen.items.slice(1).sort()).toEqual(["a1", "a2"]);
      await other.close();
    });

    s.test("queueIsolation", "a worker on several queues takes from all of them", async (f) => {
      const seen = new Recorder<string>();
      const job = await f.task("job", async (p: { tag: string }) => seen.push(p.tag));
      await f.worker({ tasks: [job], queues: [f.queue("x"), f.queue("y")] });
      await job.using({ queue: f.queue("x") }).enqueue({ tag: "x" });
      await job.using({ queue: f.queue("y") }).enqueue({ tag: "y" });
      await seen.until(2, s.late(10_000), "deliveries");
      expect([...seen.items].sort()).toEqual(["x", "y"]);
    });
  });

  s.group("bulkEnqueue", true, () => {
    s.test(
      "bulkEnqueue",
      "enqueueMany stores every job once and each runs once",
      async (f) => {
        const seen = new Recorder<number>();
        const job = await f.task("job", async (p: { i: number }) => seen.push(p.i));
        const count = 500;
        const handles = await job.enqueueMany(Array.from({ length: count }, (_, i) => ({ i })));
        expect(handles).toHaveLength(count);
        expect(new Set(handles.map((h) => h.id)).size).toBe(count);
        await f.worker({ tasks: [job], concurrency: 20 });
        await seen.until(count, s.late(30_000), "deliveries");
        await sleep(200);
        expect(seen.length).toBe(count);
        expect(new Set(seen.items).size).toBe(count);
      },
      60_000,
    );

    s.test("bulkEnqueue", "enqueueMany of nothing is a no-op", async (f) => {
      const job = await f.task("job", async () => {});
      expect(await job.enqueueMany([])).toEqual([]);
    });
  });

  s.group("validation", true, () => {
    const bad: [string, unknown][] = [
      ["a function", { f: () => 1 }],
      ["a BigInt", { n: 10n }],
      [
        "a cycle",
        (() => {
          const o: Record<string, unknown> = {};
          o.self = o;
          return o;
        })(),
      ],
      ["NaN", { n: Number.NaN }],
      ["Infinity", { n: Number.POSITIVE_INFINITY }],
      ["a Date", { at: new Date(0) }],
      ["a Map", { m: new Map() }],
      ["undefined in an array", [1, undefined]],
      ["a symbol", { s: Symbol("x") }],
    ];
    for (const [label, payload] of bad) {
      s.test("validation", `a payload with ${label} is refused and nothing is enqueued`, async (f) => {
        const seen = new Recorder<unknown>();
        const job = await f.task("job", async (p: unknown) => seen.push(p));
        const sentinel = await f.task("sentinel", async () => seen.push("sentinel"));
        await expect(job.enqueue(payload)).rejects.toBeInstanceOf(SerializationError);
        await expect(job.enqueueMany([{ ok: true }, payload])).rejects.toBeInstanceOf(SerializationError);
        await sentinel.enqueue(undefined);
        await f.worker({ tasks: [job, sentinel] });
        await seen.until(1, s.late(10_000), "the sentinel");
        await sleep(100);
        expect(seen.items).toEqual(["sentinel"]);
      });
    }

    s.test("validation", "bad options are refused before anything is enqueued", async (f) => {
      const job = await f.task("job", async () => {});
      await expect(job.enqueue(undefined, { delayMs: -1 })).rejects.toThrow(/delayMs/);
      await expect(job.enqueue(undefined, { priority: 101 })).rejects.toThrow(/priority/);
      await expect(job.enqueue(undefined, { priority: 1.5 })).rejects.toThrow(/priority/);
      await expect(job.enqueue(undefined, { attempts: 0 })).rejects.toThrow(/attempts/);
      await expect(job.enqueue(undefined, { queue: "" })).rejects.toThrow(/queue/);
      await expect(job.enqueue(undefined, { queue: "has space" })).rejects.toThrow(/queue/);
      expect(() => defineTask("", async () => {})).toThrow(/name/);
      expect(() => defineTask("x".repeat(201), async () => {})).toThrow(/name/);
    });

    const unsupported: [keyof typeof caps, string, Record<string, unknown>][] = [
      ["delay", "delays", { delayMs: 1000 }],
      ["priority", "priority", { priority: 10 }],
      ["deduplication", "deduplication keys", { deduplicationKey: "k" }],
      ["transactions", "transactional enqueue", { transaction: {} }],
    ];
    for (const [capability, what, options] of unsupported) {
      if (caps[capability]) continue;
      s.test("validation", `${what}: refused with UnsupportedFeatureError naming the adapter`, async (f) => {
        const job = await f.task("job", async () => {});
        const error = await job.enqueue(undefined, options).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(UnsupportedFeatureError);
        expect((error as Error).message).toContain(`[${f.adapterName}]`);
      });
    }
    if (!caps.results) {
      s.test("validation", "results: refresh() and wait() refuse with UnsupportedFeatureError", async (f) => {
        const job = await f.task("job", async () => {});
        const handle = await job.enqueue(undefined);
        await expect(handle.refresh()).rejects.toBeInstanceOf(UnsupportedFeatureError);
        await expect(handle.wait()).rejects.toBeInstanceOf(UnsupportedFeatureError);
      });
    }
    if (!caps.cancel) {
      s.test("validation", "cancel: refused with UnsupportedFeatureError", async (f) => {
        const job = await f.task("job", async () => {});
        const handle = await job.enqueue(undefined);
        await expect(handle.cancel()).rejects.toBeInstanceOf(UnsupportedFeatureError);
      });
    }
    if (caps.maxPayloadBytes !== undefined) {
      const limit = caps.maxPayloadBytes;
      s.test("validation", "a payload over maxPayloadBytes raises PayloadTooLargeError", async (f) => {
        const job = await f.task("job", async () => {});
        const error = await job.enqueue({ big: "é".repeat(Math.ceil(limit / 2)) }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(PayloadTooLargeError);
        expect((error as PayloadTooLargeError).limit).toBe(limit);
      });
    }

    s.test("validation", "a job for a task the worker does not know fails visibly, without retry", async (f) => {
      const known = await f.task("known", async () => {});
      const stranger = await f.task("stranger", async () => {}, { retry: { maxAttempts: 3, delayMs: 10 } });
      const worker = await f.worker({ tasks: [known] });
      const failed = new Recorder<{ name: string; attempt: number; error: string }>();
      worker.on("failed", (e) => failed.push({ name: e.job.name, attempt: e.attempt, error: e.error.name }));
      await stranger.enqueue(undefined);
      await failed.until(1, s.late(10_000), "failed events");
      await sleep(300);
      expect(failed.items).toEqual([{ name: "stranger", attempt: 1, error: UnknownTaskError.name }]);
    });
  });
}
