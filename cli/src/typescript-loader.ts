import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const TYPESCRIPT = /\.(?:c|m)?tsx?$/;

/** Errors of Node's own TypeScript support that tsx does not have. */
const STRIPPING_FAILURES = new Set([
  "ERR_UNKNOWN_FILE_EXTENSION", // Node before 22.18 without --experimental-strip-types
  "ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX", // enums, namespaces, parameter properties
  "ERR_INVALID_TYPESCRIPT_SYNTAX",
  "ERR_MODULE_NOT_FOUND", // `./tasks.js` naming a tasks.ts, as tsc-style imports do
]);

let registered = false;

/**
 * Make `import()` of the app's TypeScript module work the way the app's own tooling does: through
 * tsx when the app has it installed (any syntax, `.js` imports of `.ts` files, any Node 22), else
 * through Node's type stripping. tsx is resolved from the module's folder, as the app installed it,
 * and registered globally rather than in a namespace, so the module and the CLI share one copy of
 * every package (the app's `configure()` must reach the CLI's worker). Returns whether tsx is used.
 */
export async function prepareTypeScript(absolutePath: string): Promise<boolean> {
  if (!TYPESCRIPT.test(absolutePath)) return false;
  if (registered) return true;
  let api: string;
  try {
    api = createRequire(absolutePath).resolve("tsx/esm/api");
  } catch {
    return false;
  }
  const { register } = (await import(pathToFileURL(api).href)) as { register: () => unknown };
  register();
  registered = true;
  return true;
}

/** A hint naming tsx when Node's own TypeScript support is what failed to load `absolutePath`. */
export function typeScriptHint(absolutePath: string, error: unknown): string {
  if (!TYPESCRIPT.test(absolutePath)) return "";
  const code = (error as { code?: unknown } | undefined)?.code;
  if (!(error instanceof SyntaxError) && !(typeof code === "string" && STRIPPING_FAILURES.has(code))) return "";
  return (
    ` Node ${process.versions.node} loads TypeScript by stripping types only (from 22.18; no enums or namespaces, imports naming the .ts file).` +
    " Install tsx beside your app (npm install --save-dev tsx) and taskport loads the module through it."
  );
}
