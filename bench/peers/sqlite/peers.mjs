/**
 * The peers of the sqlite benchmark, loaded from this folder's own node_modules (see package.json):
 * plainjob over better-sqlite3, and Sidequest with its SQLite backend. Sidequest runs a job by
 * importing the module its class is defined in, so the class lives here, beside its package.
 */
import Database from "better-sqlite3";
import { better, defineQueue, defineWorker } from "plainjob";
import { Job, Sidequest } from "sidequest";

export { better, Database, defineQueue, defineWorker, Sidequest };

/** Calls `onRun` for each job the Sidequest arm runs, in this process (its inline runner). */
export const sidequestRuns = { onRun: () => {} };

export class NoopJob extends Job {
  async run() {
    sidequestRuns.onRun();
    return null;
  }
}
