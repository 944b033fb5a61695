import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../bin/taskport.js", import.meta.url));
export const FIXTURE = fileURLToPath(new URL("./fixtures/tasks.ts", import.meta.url));
export const CONFIGURED = fileURLToPath(new URL("./fixtures/configured.ts", import.meta.url));
export const NO_RESULTS = fileURLToPath(new URL("./fixtures/no-results.ts", import.meta.url));
const DIST = fileURLToPath(new URL("../dist/main.js", import.meta.url));

/** The bin runs the compiled CLI, as when published: `npm test` builds it first (pretest: tsc -b). */
export function assertBuilt(adapter?: string): void {
  // Core loads an adapter package by URL scheme; outside vitest that is its compiled dist/ as well.
  const needed = [DIST, ...(adapter ? [fileURLToPath(new URL(`../../adapters/${adapter}/dist/index.js`, import.meta.url))] : [])];
  for (const file of needed) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`npx tsc -b\` before the CLI tests (npm test does it).`);
  }
}

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running `taskport` process with its output so far. */
export class CliProcess {
  readonly child: ChildProcess;
  stdout = "";
  stderr = "";
  readonly done: Promise<Result>;

  constructor(args: string[], env: Record<string, string | undefined> = {}, input?: string) {
    // The environment is given whole: a TASKPORT_URL from the caller's shell must not leak in.
    const base = { ...process.env };
    delete base.TASKPORT_URL;
    this.child = spawn(process.execPath, [BIN, ...args], { env: { ...base, ...env }, stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout?.on("data", (chunk: Buffer) => {
      this.stdout += chunk.toString();
    });
    this.child.stderr?.on("data", (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.child.stdin?.end(input ?? "");
    this.done = new Promise((resolve) => {
      this.child.on("close", (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr }));
    });
  }

  /** Resolve once stdout or stderr matches, or fail after `timeoutMs` with what was printed. */
  async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pattern.test(this.stdout) && !pattern.test(this.stderr)) {
      if (Date.now() > deadline || this.child.exitCode !== null) {
        throw new Error(`no ${pattern} in the CLI's output:\n--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  kill(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }
}

/** Run `taskport args…` to completion. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, input?: string): Promise<Result> {
  return new CliProcess(args, env, input).done;
}

/** Lines of output that look like a stack trace. */
export function stackLines(text: string): string[] {
  return text.split("\n").filter((line) => /^\s+at /.test(line));
}
