import { defineTask } from "@taskport/core";

/** A task as an app defines it: against core only, typed from its handler. */
export const add = defineTask("consumer-add", async (payload: { a: number; b: number }) => ({ sum: payload.a + payload.b }), {
  queue: "consumer",
});
