import { TaskportError } from "@taskport/core";
import { expect } from "vitest";
import type { SuiteContext } from "../run-conformance.ts";

/** Lazy connection, `check()`, and what an unreachable server looks like to a user. */
export function registerConnection(s: SuiteContext): void {
  s.group("connection", true, () => {
    s.test("connection", "constructing an adapter opens no connection", async (f) => {
      const before = sockets();
      const adapter = await f.adapter();
      await new Promise((resolve) => setTimeout(resolve, 50));
      // At most as many as before: another test's socket may close meanwhile (the count is process-wide).
      expect(sockets(), "sockets opened by createAdapter()").toBeLessThanOrEqual(before);
      expect(adapter.name).toBeTruthy();
    });

    s.test("connection", "check() finds no problem with a reachable, well-configured engine", async (f) => {
      const adapter = await f.adapter();
      expect((await adapter.check?.()) ?? []).toEqual([]);
    });

    const unreachable = s.options.harness?.unreachableAdapter;
    if (unreachable) {
      s.test(
        "connection",
        "an unreachable server: check() explains, enqueue fails with a named error",
        async (f) => {
          const adapter = await unreachable();
          try {
            const problems = (await adapter.check?.()) ?? [];
            expect(problems.length).toBeGreaterThan(0);
            expect(problems[0]?.message).not.toMatch(/^\s+at /m);
            const job = await f.task("job", async () => {});
            const { Backend } = await import("@taskport/core");
            const backend = new Backend("unreachable", adapter);
            const error = await job
              .using({ backend })
              .enqueue(undefined)
              .catch((e: unknown) => e);
            expect(error).toBeInstanceOf(TaskportError);
            expect((error as Error).message).toContain(`[${adapter.name}]`);
          } finally {
            await adapter.close();
          }
        },
        60_000,
      );
    }
  });
}

/** Open TCP sockets and pipes of this process. */
function sockets(): number {
  return process.getActiveResourcesInfo().filter((r) => r === "TCPWRAP" || r === "PipeWrap" || r === "TCPSocketWrap").length;
}
