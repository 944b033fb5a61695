import { realpathSync } from "node:fs";
import { resolve } from "node:path";

/** One path for one file, however it was named (relative, through a symlink): how handles on one file are recognised. */
export function canonicalPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}
