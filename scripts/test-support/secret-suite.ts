/**
 * The secrets test every engine, store and outbox runs: a URL with a password, pointed at a port
 * where nobody listens and at a black hole (see black-hole.ts). Whatever a user may log — the
 * error of an enqueue, `check()`'s problems, every event a worker emits, each printed with
 * `util.inspect(x, { depth: Infinity, showHidden: true })`, which is what `console.log(error)`
 * shows and more — must not contain the password. Drivers attach what they were sent to their
 * errors (node-redis: `args` of an AUTH; pg: the connection parameters), so checking `message`
 * and `stack` alone is not enough.
 */
import { createServer } from "node:net";
import { inspect } from "node:util";
import { Backend, type BackendOptions, defineTask, Worker } from "@taskport/core";
import { afterAll, describe, expect, it } from "vitest";
import { type BlackHole, startBlackHole } from "./black-hole.ts";

export const SECRET_PASSWORD = "tp-Secret-pw-4b1d";
/** Short bounds, so that a black hole answers with a deadline in seconds. */
export const SHORT_TIMEOUTS = "connectTimeoutMs=500&operationTimeoutMs=500&closeTimeoutMs=500";

export interface SecretSuite {
  readonly name: string;
  /**
   * A backend whose URL (engine, store or outbox) carries `SECRET_PASSWORD` and, unless
   * `noTimeouts`, `SHORT_TIMEOUTS`, for a server on `port`.
   */
  backend(port: number): BackendOptions;
  /**
   * A backend for a real server that refuses `SECRET_PASSWORD` (Redis with no password set answers
   * AUTH with an error; RabbitMQ refuses the login): the error drivers build from what they sent.
   */
  wrongPassword?(): BackendOptions;
  /** Set when the engine does not take `SHORT_TIMEOUTS` yet: its black-hole case is skipped with this reason. */
  readonly noTimeouts?: string;
  /** The queue a worker consumes (default `secrets`). */
  readonly queue?: string;
}

/** A port nobody listens on: taken, then given back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function shown(value: unknown): string {
  return inspect(value, { depth: Number.POSITIVE_INFINITY, showHidden: true, getters: true });
}

export function describeSecrets(suite: SecretSuite): void {
  describe(`${suite.name}: a password in the URL reaches no error, problem or event`, () => {
    const holes: BlackHole[] = [];
    afterAll(async () => {
      await Promise.all(holes.map((hole) => hole.close()));
    });

    const places: [string, () => Promise<number>][] = [
      ["nobody listens on the port", closedPort],
      [
        "the server is a black hole",
        async () => {
          const hole = await startBlackHole("read");
          holes.push(hole);
          return hole.port;
        },
      ],
    ];
    const cases: [string, () => Promise<BackendOptions>][] = places.map(([where, port]) => [
      where,
      async () => suite.backend(await port()),
    ]);
    const wrong = suite.wrongPassword;
    if (wrong) cases.push(["the server refuses the password", async () => wrong()]);
    for (const [where, options] of cases) {
      const skip = suite.noTimeouts !== undefined && where.includes("black hole");
      it.skipIf(skip)(
        skip ? `${where} (skipped: ${suite.noTimeouts})` : where,
        async () => {
          const backend = new Backend(`secrets-${suite.name}`, await options());
          const seen: unknown[] = [];
          try {
            const task = defineTask("secrets", async () => {}, { queue: suite.queue ?? "secrets" }).using({ backend });
            seen.push(await task.enqueue(undefined).catch((error: unknown) => error));
            seen.push(await task.enqueueMany([undefined, undefined]).catch((error: unknown) => error));
            seen.push(await backend.check().catch((error: unknown) => error));
            const worker = new Worker({ tasks: [task], backend, queues: [suite.queue ?? "secrets"] });
            const emit = worker.emit.bind(worker);
            worker.emit = ((type: never, event: never) => {
              seen.push({ type, event });
              emit(type, event);
            }) as typeof worker.emit;
            worker.on("error", () => {});
            seen.push(await worker.start().catch((error: unknown) => error));
            await new Promise((resolve) => setTimeout(resolve, 1_500));
            seen.push(await worker.close({ graceMs: 0 }).catch((error: unknown) => error));
          } finally {
            seen.push(await backend.close().catch((error: unknown) => error));
          }
          if (process.env.TASKPORT_SECRETS_DEBUG) console.log(seen.map((item) => shown(item).slice(0, 400)).join("\n---\n"));
          // Failed for the reason under test, not over a bad URL.
          const errors = seen.map((item) => (item as { event?: { error?: unknown } })?.event?.error ?? item);
          const reached = errors.filter((item) =>
            ["TASKPORT_CONNECTION", "TASKPORT_DEADLINE"].includes((item as { code?: string })?.code ?? ""),
          );
          expect(reached.length, `no ConnectionError nor DeadlineError among:\n${seen.map(shown).join("\n")}`).toBeGreaterThan(0);
          for (const item of seen) {
            const text = shown(item);
            expect(text, text).not.toContain(SECRET_PASSWORD);
          }
        },
        60_000,
      );
    }
  });
}
