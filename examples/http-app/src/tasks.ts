/**
 * The app's tasks. They name no engine: which one runs them is configuration (see engine.ts).
 */
import { defineTask } from "@taskport/core";

export interface WelcomeEmail {
  email: string;
  name: string;
}

/** Pretend to send an email; a real app would call its mail provider here, passing ctx.signal. */
export const sendWelcomeEmail = defineTask(
  "send-welcome-email",
  async (payload: WelcomeEmail, ctx) => {
    await new Promise((resolve) => setTimeout(resolve, 50));
    ctx.signal.throwIfAborted();
    return { messageId: `msg-${ctx.jobId.slice(-8)}`, to: payload.email };
  },
  { queue: "emails", retry: { maxAttempts: 3, delayMs: 200 }, timeoutMs: 10_000 },
);

/** Count the words of a text, reporting progress as it goes. */
export const countWords = defineTask(
  "count-words",
  async (payload: { text: string }, ctx) => {
    const words = payload.text.split(/\s+/).filter(Boolean);
    await ctx.progress({ done: 0, total: words.length });
    const counts: Record<string, number> = {};
    for (const word of words) counts[word.toLowerCase()] = (counts[word.toLowerCase()] ?? 0) + 1;
    await ctx.progress({ done: words.length, total: words.length });
    return { words: words.length, distinct: Object.keys(counts).length };
  },
  { queue: "default" },
);

export const tasks = [sendWelcomeEmail, countWords];
