/**
 * Type-level tests of the task API: `npm run typecheck` compiles this file (tsconfig.tests.json) and
 * fails on any line below whose error goes away or appears. Nothing here runs.
 */
import { defineTask, type Task } from "../src/index.ts";

interface Email {
  to: string;
  cc?: string[];
}

// Payloads and results that are JSON, interfaces included, are accepted and typed from the handler.
const sendEmail: Task<Email, { sentAt: string }> = defineTask("send-email", async (email: Email) => ({ sentAt: email.to }));
defineTask("scalars", (n: number) => `${n}`);
defineTask("nested", async (p: { items: { id: number; tags: (string | null)[] }[] }) => p.items.length);
defineTask("open", async (p: unknown) => p as string);
defineTask("record", async (p: Record<string, number>) => Object.keys(p));

// A Date, a Map, a bigint or a function in a payload or a result does not compile.
// @ts-expect-error a Date is not JSON: send date.toISOString()
defineTask("date", async (p: { when: Date }) => p.when.getTime());
// @ts-expect-error a Map is not JSON
defineTask("map", async (p: { counts: Map<string, number> }) => p.counts.size);
// @ts-expect-error a bigint is not JSON
defineTask("bigint", async (p: { id: bigint }) => String(p.id));
// @ts-expect-error a result that is a Date
defineTask("date-result", async (p: { n: number }) => new Date(p.n));
// @ts-expect-error a class instance with methods
defineTask("instance", async (p: { at: URL }) => p.at.href);

// A task without a payload is enqueued with no argument; one with a payload needs it.
const ping = defineTask("ping", async () => "pong");
export async function enqueueing(): Promise<void> {
  await ping.enqueue();
  await ping.enqueue(undefined, { priority: 5 });
  await sendEmail.enqueue({ to: "ada@example.com" });
  // @ts-expect-error the payload is required
  await sendEmail.enqueue();
  // @ts-expect-error and typed
  await sendEmail.enqueue({ to: 42 });
  const result: string = await (await ping.enqueue()).wait();
  void result;
}
