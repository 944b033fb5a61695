import { CommanderError } from "commander";
import { exitCodeOf, formatError } from "./cli-error.ts";
import { EXIT } from "./exit-codes.ts";
import { exitAfterFlush } from "./output.ts";
import { createProgram } from "./program.ts";

const verbose = process.argv.includes("--verbose");
const program = createProgram();

// A worker, a relay or the dashboard runs until a signal; every other command is done when its
// action resolves, even if an engine library left a timer or socket behind.
const UNTIL_SIGNALLED = new Set(["worker", "relay", "dashboard"]);
const command = process.argv.slice(2).find((arg) => !arg.startsWith("-"));

try {
  await program.parseAsync(process.argv);
  if (!UNTIL_SIGNALLED.has(command ?? "")) await exitAfterFlush(EXIT.ok);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has already printed the message (or the help, for --help and --version).
    await exitAfterFlush(error.exitCode === 0 ? EXIT.ok : EXIT.usage);
  }
  process.stderr.write(`${formatError(error, verbose)}\n`);
  await exitAfterFlush(exitCodeOf(error));
}
