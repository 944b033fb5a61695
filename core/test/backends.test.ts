import { afterEach, describe, expect, it } from "vitest";
import { importAdapter } from "../src/backends/schemes.ts";
import {
  type Adapter,
  Backend,
  ConfigurationError,
  closeBackends,
  configure,
  configuredBackends,
  defineTask,
  getBackend,
  redactUrl,
  registerScheme,
  startWorker,
  UnsupportedFeatureError,
} from "../src/index.ts";
import { RecordingAdapter } from "../src/testing/index.ts";

afterEach(async () => {
  delete process.env.TASKPORT_URL;
  await closeBackends();
});

describe("configuring backends", () => {
  it("defaults to the in-process memory engine with nothing configured", async () => {
    const adapter = await getBackend().adapter();
    expect(adapter.name).toBe("memory");
  });

  it("reads TASKPORT_URL for the default backend", async () => {
    const recording = new RecordingAdapter();
    registerScheme("recording-test", () => recording);
    process.env.TASKPORT_URL = "recording-test://anything";
    const job = defineTask("env-job", async () => {});
    await job.enqueue(undefined);
    expect(recording.jobsOf("env-job")).toHaveLength(1);
  });

  it("routes a task to a named backend with using(), never changing the task", async () => {
    const reports = new RecordingAdapter();
    configure({ backends: { default: "memory://", reports } });
    const job = defineTask("report", async (p: { id: number }) => p.id);
    await job.using({ backend: "reports", queue: "slow", priority: 5 }).enqueue({ id: 1 });
    expect(reports.jobs).toMatchObject([{ name: "report", queue: "slow", priority: 5, payload: { id: 1 } }]);
    expect((await getBackend().adapter()).name).toBe("memory");
  });

  it("lists the configured backends, for health checks", () => {
    configure({ backends: { default: "memory://", reports: "memory://?retainFinished=5" } });
    expect(configuredBackends().map((b) => b.name)).toEqual(["default", "reports"]);
  });

  it("names the backends it knows when asked for an unknown one", () => {
    configure({ backends: { default: "memory://" } });
    expect(() => getBackend("nope")).toThrow(/no backend named "nope". Configured: default/);
  });

  it("refuses a malformed URL at configure time, without echoing its password", () => {
    const error = (() => {
      try {
        configure({ backends: { default: "not a url :pass@" } });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error?.message).toMatch(/not a valid backend URL/);
  });

  it("refuses an unknown scheme, listing the known ones", async () => {
    configure({ backends: { default: "kafka://user:hunter2@localhost:9092" } });
    const error = await getBackend()
      .adapter()
      .catch((e: Error) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/unknown backend URL scheme "kafka:"/);
    expect((error as Error).message).toMatch(/bullmq/);
    expect((error as Error).message).not.toContain("hunter2");
  });

  it("says which package to install when an engine's adapter is missing", async () => {
    const url = new URL("fancy://user:secret@127.0.0.1:5672");
    const error = await importAdapter("@taskport/not-installed", url).catch((e: Error) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain("npm install @taskport/not-installed");
    expect((error as Error).message).not.toContain("secret");
  });

  it("configure() again closes the backends it replaces, but not an adapter object it names again", async () => {
    const closed: string[] = [];
    const tracked = (name: string) => Object.assign(new RecordingAdapter(), { close: async () => void closed.push(name) });
    const kept = tracked("kept");
    registerScheme("closing-test", () => tracked("from-url"));
    configure({ backends: { default: kept, reports: tracked("dropped"), byUrl: "closing-test://x" } });
    await Promise.all(configuredBackends().map((backend) => backend.adapter()));
    await configure({ backends: { default: kept } });
    expect(closed.sort()).toEqual(["dropped", "from-url"]);
  });

  it("configure() refuses while a worker runs on a backend it would replace, and changes nothing", async () => {
    configure({ backends: { default: "memory://" } });
    const before = getBackend();
    const worker = await startWorker({ tasks: [defineTask("busy", async () => {})] });
    expect(() => configure({ backends: { default: "memory://" } })).toThrow(/while a worker runs on it\. Close its workers first/);
    expect(getBackend()).toBe(before);
    await worker.close();
    await configure({ backends: { default: "memory://" } });
    expect(getBackend()).not.toBe(before);
  });

  it("opens no connection and imports nothing until first use", () => {
    configure({ backends: { default: "bullmq://127.0.0.1:1" } });
    expect(getBackend().description).toBe("bullmq://127.0.0.1:1");
  });
});

describe("capability validation", () => {
  const noFeatures = () =>
    new RecordingAdapter({ delay: false, priority: false, deduplication: false, transactions: false, results: false, cancel: false });

  it.each([
    ["delayMs", { delayMs: 10 }, "delays"],
    ["runAt", { runAt: new Date(Date.now() + 60_000) }, "delays"],
    ["priority", { priority: 10 }, "priority"],
    ["deduplicationKey", { deduplicationKey: "k" }, "deduplication keys"],
    ["transaction", { transaction: {} }, "transactional enqueue"],
  ])("refuses %s on an engine without it, naming adapter, feature and alternative", async (_, options, feature) => {
    const adapter = noFeatures();
    const job = defineTask("job", async () => {}).using({ backend: new Backend("b", adapter) });
    const error = await job.enqueue(undefined, options).catch((e: Error) => e);
    expect(error).toBeInstanceOf(UnsupportedFeatureError);
    expect((error as Error).message).toMatch(new RegExp(`^\\[taskport\\] \\[recording\\] does not support ${feature}\\.`));
    expect((error as Error).message).toContain("Nothing was enqueued");
    expect(adapter.jobs).toHaveLength(0);
  });

  it("drops a feature only when the app opted in explicitly", async () => {
    const adapter = noFeatures();
    const backend = new Backend("b", { adapter, ignoreUnsupported: ["priority"] });
    const job = defineTask("job", async () => {}).using({ backend });
    await job.enqueue(undefined, { priority: 50 });
    expect(adapter.jobs[0]?.priority).toBe(0);
    await expect(job.enqueue(undefined, { delayMs: 5 })).rejects.toBeInstanceOf(UnsupportedFeatureError);
  });

  it("a past runAt means now, on any engine", async () => {
    const adapter = noFeatures();
    const job = defineTask("job", async () => {}).using({ backend: new Backend("b", adapter) });
    await job.enqueue(undefined, { runAt: Date.now() - 1000 });
    expect(adapter.jobs[0]?.runAt).toBeUndefined();
  });

  it("checks payload size against the engine's limit before calling it", async () => {
    const adapter = new RecordingAdapter({ maxPayloadBytes: 100 });
    const job = defineTask("job", async (_: { s: string }) => {}).using({ backend: new Backend("b", adapter) });
    await job.enqueue({ s: "x".repeat(80) });
    await expect(job.enqueue({ s: "é".repeat(50) })).rejects.toThrow(/payload is 1\d\d bytes, over this engine's limit of 100 bytes/);
    expect(adapter.jobs).toHaveLength(1);
  });
});

describe("secrets", () => {
  it("redacts passwords and secret-looking query parameters", () => {
    expect(redactUrl("postgres://app:s3cr%40t@db:5432/x?sslmode=require&password=p")).toBe(
      "postgres://app:***@db:5432/x?sslmode=require&password=***",
    );
    expect(redactUrl("amqp://guest@host")).toBe("amqp://guest@host");
  });

  it("keeps the password out of check() output and enqueue errors", async () => {
    const leaky: Adapter = {
      ...new RecordingAdapter(),
      name: "leaky",
      capabilities: new RecordingAdapter().capabilities,
      consume: async () => ({ stop: async () => {}, abandon: async () => {} }),
      close: async () => {},
      enqueue: async () => {
        throw new Error("connect failed for redis://default:hunter2@10.0.0.1");
      },
      check: async () => [{ message: "AUTH hunter2 rejected" }],
    };
    registerScheme("leaky", () => leaky);
    const backend = new Backend("b", "leaky://default:hunter2@localhost");
    expect(await backend.check()).toEqual([{ message: "AUTH *** rejected" }]);
    const job = defineTask("job", async () => {}).using({ backend });
    const error = await job.enqueue(undefined).catch((e: Error) => e);
    expect((error as Error).message).not.toContain("hunter2");
    expect(backend.description).toBe("leaky://default:***@localhost");
  });
});

describe("logger", () => {
  it("a worker's error with no error listener goes to the configured logger, not the console", async () => {
    const { MemoryAdapter, setLogger } = await import("../src/index.ts");
    const lines: { level: string; message: string }[] = [];
    const record = (level: string) => (_context: object, message: string) => lines.push({ level, message });
    const engine = new MemoryAdapter();
    // An engine that loses its connection once consuming: it reports the problem through onError.
    const flaky: Adapter = {
      name: "flaky",
      capabilities: engine.capabilities,
      enqueue: (jobs, context) => engine.enqueue(jobs, context),
      consume: async (options, handler) => {
        const consumer = await engine.consume(options, handler);
        setImmediate(() => options.onError?.(new Error("lost the engine")));
        return consumer;
      },
      close: () => engine.close(),
    };
    configure({
      backends: { default: flaky },
      logger: { debug: record("debug"), info: record("info"), warn: record("warn"), error: record("error") },
    });
    try {
      const worker = await startWorker({ tasks: [defineTask("logged", async () => {})] });
      await new Promise((resolve) => setTimeout(resolve, 20));
      await worker.close();
      expect(lines).toEqual([{ level: "error", message: "[taskport] worker on default: lost the engine" }]);
    } finally {
      setLogger(undefined);
    }
  });
});
