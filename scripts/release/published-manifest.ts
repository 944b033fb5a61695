/**
 * The package.json that npm publishes, without the repository's development condition.
 *
 * Inside the repository every package's `exports` carries a `@taskport/source` condition that points
 * at its TypeScript sources, so tests, the examples and `tsc` use them without a build. Published,
 * that condition would send a user who sets it (as the repository's example scripts do) to `.ts`
 * files inside node_modules, which Node refuses to run. `npm pack` and `npm publish` take the
 * package.json from disk between `prepack` and `postpack`, so:
 *
 *   prepack:  node scripts/release/published-manifest.ts strip    (keeps the original beside it)
 *   postpack: node scripts/release/published-manifest.ts restore
 *
 * Run in the package's folder, as npm runs lifecycle scripts. A strip after a pack that died before
 * its postpack restores the kept original first, so the original is never lost.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const SOURCE_CONDITION = "@taskport/source";
const MANIFEST = "package.json";
const KEPT = "package.json.unpublished";

type Exports = string | null | Exports[] | { [key: string]: Exports };

/** `exports` with every `@taskport/source` condition removed, at any depth. */
export function withoutSourceCondition(exports: Exports): Exports {
  if (Array.isArray(exports)) return exports.map(withoutSourceCondition);
  if (exports === null || typeof exports !== "object") return exports;
  const out: { [key: string]: Exports } = {};
  for (const [key, value] of Object.entries(exports)) {
    if (key !== SOURCE_CONDITION) out[key] = withoutSourceCondition(value);
  }
  return out;
}

function strip(): void {
  if (existsSync(KEPT)) restore();
  const text = readFileSync(MANIFEST, "utf8");
  const manifest = JSON.parse(text) as { exports?: Exports };
  if (manifest.exports === undefined) return;
  writeFileSync(KEPT, text);
  writeFileSync(MANIFEST, `${JSON.stringify({ ...manifest, exports: withoutSourceCondition(manifest.exports) }, null, 2)}\n`);
}

function restore(): void {
  if (!existsSync(KEPT)) return;
  rmSync(MANIFEST, { force: true });
  renameSync(KEPT, MANIFEST);
}

// Run as a script (npm's lifecycle), not when a test imports withoutSourceCondition.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const command = process.argv[2];
  if (command === "strip") strip();
  else if (command === "restore") restore();
  else {
    console.error(`usage: node published-manifest.ts strip|restore (got "${command}")`);
    process.exitCode = 2;
  }
}
