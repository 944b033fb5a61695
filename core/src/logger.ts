/**
 * Where the library itself writes: problems no caller listens for (a worker's `error` with no
 * `error` listener, a failed background write). Any object of pino's shape works — pino itself,
 * or `console` — given as `configure({ logger })`. Each method takes a context object (for
 * structured loggers) and a message.
 */
export interface Logger {
  debug(context: object, message: string): void;
  info(context: object, message: string): void;
  warn(context: object, message: string): void;
  error(context: object, message: string): void;
}

/** The default: warnings and errors to stderr, one line each; debug and info dropped. */
const STDERR: Logger = Object.freeze({
  debug() {},
  info() {},
  warn: (_context: object, message: string) => process.stderr.write(`${message}\n`),
  error: (_context: object, message: string) => process.stderr.write(`${message}\n`),
});

let current: Logger = STDERR;

/** The logger library code writes to. */
export function logger(): Logger {
  return current;
}

/** Set the logger (`configure({ logger })` calls this); `undefined` restores the default. */
export function setLogger(next: Logger | undefined): void {
  current = next ?? STDERR;
}
