import type { ExitCode } from "./exit-codes.ts";
import { EXIT } from "./exit-codes.ts";

/** An error meant for the terminal: one line, and the exit code it stands for. */
export class CliError extends Error {
  override readonly name = "CliError";
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode = EXIT.usage, options?: ErrorOptions) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/**
 * The exit code for any error: a CliError's own, taskport errors by their stable `code` (the CLI may
 * load another copy of @taskport/core than the app, so `instanceof` is not reliable), else 1.
 */
export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  switch (code) {
    case "TASKPORT_CONFIGURATION":
    case "TASKPORT_VALIDATION":
    case "TASKPORT_SERIALIZATION":
    case "TASKPORT_PAYLOAD_TOO_LARGE":
      return EXIT.usage;
    case "TASKPORT_UNSUPPORTED_FEATURE":
      return EXIT.unsupported;
    case "TASKPORT_CONNECTION":
      return EXIT.unhealthy;
    case "TASKPORT_JOB_FAILED":
      return EXIT.failed;
    case "TASKPORT_TIMEOUT":
      return EXIT.timeout;
    default:
      return EXIT.error;
  }
}

/** One line for the terminal; the stack only when asked for with --verbose. */
export function formatError(error: unknown, verbose: boolean): string {
  if (!(error instanceof Error)) return prefixed(String(error));
  if (verbose) return `${prefixed(error.stack ?? error.message)}${error.cause ? `\ncaused by: ${formatCause(error.cause)}` : ""}`;
  return prefixed(error.message.split("\n")[0] ?? error.message);
}

/** taskport's own errors already say `[taskport] [origin]`; others get a `taskport:` prefix. */
export function prefixed(text: string): string {
  return text.startsWith("[taskport]") || text.includes(": [taskport]") ? text : `taskport: ${text}`;
}

function formatCause(cause: unknown): string {
  return cause instanceof Error ? (cause.stack ?? cause.message) : String(cause);
}
