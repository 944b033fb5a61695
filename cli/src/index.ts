export { CliError, exitCodeOf, formatError } from "./cli-error.ts";
export { EXIT, type ExitCode } from "./exit-codes.ts";
export { isTask, loadTasks } from "./load-tasks.ts";
export { createProgram } from "./program.ts";
