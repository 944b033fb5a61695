/**
 * Exit codes, documented in the README and in `taskport --help`. Scripts and orchestrators branch
 * on them, so they never change meaning.
 */
export const EXIT = {
  /** Done; for `worker`, stopped gracefully after a signal. */
  ok: 0,
  /** An unexpected error (a bug, or an engine error with no better code). */
  error: 1,
  /** Bad usage or configuration: unknown option, invalid JSON, module not found, no tasks, bad URL. */
  usage: 2,
  /** `check` found problems, or the engine is unreachable at start. */
  unhealthy: 3,
  /** A worker (or relay) lost its connection and could not get it back within `--give-up-after`. */
  connectionLost: 4,
  /** The job failed or was cancelled (`status --wait`, `enqueue --wait`), or conformance tests failed. */
  failed: 5,
  /** The engine cannot do what was asked (e.g. `status` on an engine that stores no status). */
  unsupported: 6,
  /** `--wait` ran out of time before the job finished. */
  timeout: 7,
  /** `status`: the engine does not know the job (wrong id or queue, removed after retention). */
  notFound: 8,
  /** A worker was stopped by a second signal before running jobs finished (they will be redelivered). */
  forced: 130,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const EXIT_CODES_HELP = `
Exit codes:
  0    success (worker: stopped gracefully)
  1    unexpected error
  2    bad usage or configuration
  3    check found problems / engine unreachable
  4    worker or relay lost its connection and could not recover
  5    job failed or was cancelled; conformance tests failed
  6    not supported by this engine
  7    --wait timed out
  8    job not found
  130  worker forced to stop by a second signal`;
