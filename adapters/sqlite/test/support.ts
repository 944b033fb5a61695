import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/** A folder of database files for this test file, removed when it ends. */
export function tempFolder(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `taskport-sqlite-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Remove a database file and the WAL files beside it. */
export function removeDatabase(file: string): void {
  for (const suffix of ["", "-wal", "-shm"]) rmSync(`${file}${suffix}`, { force: true });
}

/** Count a table's rows from a new process: what another process finds in the file. */
export function countFromAnotherProcess(file: string, where = "1 = 1"): number {
  const script = `const { DatabaseSync } = require("node:sqlite");
const db = new DatabaseSync(process.argv[1], { readOnly: true });
process.stdout.write(String(db.prepare("SELECT count(*) AS n FROM taskport_jobs WHERE ${where}").get().n));`;
  return Number(execFileSync(process.execPath, ["-e", script, file], { encoding: "utf8", timeout: 30_000 }));
}

/** Wait for `condition`, failing with what was awaited. */
export async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
