import { fileURLToPath } from "node:url";

/** Jobs per batch of the child relay; the parent commits four batches' worth. */
export const CHILD_BATCH = 50;
/** How long the child waits between the engine's confirmation of a batch and the outbox's delete. */
export const CHILD_PAUSE_MS = 300;

/**
 * How to start the relay child (`relay-child.ts`) for one test: the same Node, reading TypeScript
 * sources where the suite itself runs from them.
 */
export function relayChildCommand(module: string, testId: string, args: readonly string[]): { command: string; args: string[] } {
  const fromSource = import.meta.url.endsWith(".ts");
  const script = fileURLToPath(new URL(fromSource ? "../relay-child.ts" : "../relay-child.js", import.meta.url));
  return {
    command: process.execPath,
    args: [...(fromSource ? ["--conditions=@taskport/source"] : []), script, module, testId, ...args],
  };
}
