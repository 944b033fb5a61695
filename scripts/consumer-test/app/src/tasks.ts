import { defineTask } from "@taskport/core";

/** A task as an app defines it: against core only, typed from its handler. */
export const add = defineTask("consumer-add", async (payload: { a: number; b: number }) => ({ sum: payload.a + payload.b }), {
  queue: "consumer",
});

/** Compiles only because the published types refuse a payload that JSON would turn into something else. */
export const notJson = defineTask(
  "consumer-not-json",
  // @ts-expect-error a Date is not JSON: the app sends date.toISOString()
  async (payload: { when: Date }) => payload.when.getTime(),
);

/** A task without payload is enqueued with no argument. */
export const ping = defineTask("consumer-ping", async () => "pong", { queue: "consumer" });
