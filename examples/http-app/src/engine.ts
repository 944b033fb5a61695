/**
 * Which engine the example runs on: `TASKPORT_URL` when it is set; otherwise a SQLite file in the
 * example's own folder, so that a first run already keeps its jobs — kill the app with jobs queued,
 * start it again, and they run. (Where nothing at all is configured, taskport itself uses the
 * in-process memory engine: a library never writes files unasked. This app asks.)
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { configure } from "@taskport/core";

/** The example's job file; `.gitignore` keeps it (and its `-wal` and `-shm` companions) out of the repository. */
export const EXAMPLE_DATABASE = join(import.meta.dirname, "..", "jobs.db");

export function configureEngine(): void {
  // As a URL path, so that a folder name with spaces or "#" stays one file name.
  const own = `sqlite:${pathToFileURL(EXAMPLE_DATABASE).pathname}`;
  configure({ backends: { default: process.env.TASKPORT_URL || own } });
}
