/**
 * The oldest version of each engine library an adapter declares as a peer, installed beside the
 * newest under an npm alias: a devDependency `<name>-oldest: "npm:<library>@<version>"` of the
 * adapter, where `<version>` is the lower bound of its peer range. With
 * `TASKPORT_ENGINE_VERSIONS=oldest`, vitest resolves each `<library>` import of the tests and of the
 * adapters' sources to that alias, so the same suites run on the oldest versions the ranges promise.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface OldestVersion {
  /** The workspace package that declares it, e.g. `@taskport/bullmq`. */
  readonly declaredBy: string;
  /** The engine library, e.g. `bullmq`. */
  readonly library: string;
  /** Its devDependency alias, e.g. `bullmq-oldest`. */
  readonly alias: string;
  /** The version the alias installs. */
  readonly version: string;
  /** The peer range it is the floor of, or undefined when the library is no peer (a mistake). */
  readonly peerRange: string | undefined;
}

/** The environment switch: `oldest` runs the tests on the aliases. */
export const ENGINE_VERSIONS_ENV = "TASKPORT_ENGINE_VERSIONS";

export function usingOldest(): boolean {
  return process.env[ENGINE_VERSIONS_ENV] === "oldest";
}

interface Manifest {
  name?: string;
  workspaces?: string[];
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

function manifest(dir: string): Manifest {
  return JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;
}

/** Folders of the root's workspaces (`dir` and `dir/*` patterns, as this repository writes them). */
function workspaceDirs(repo: string): string[] {
  return (manifest(repo).workspaces ?? []).flatMap((pattern) => {
    if (!pattern.endsWith("/*")) return [join(repo, pattern)];
    const parent = join(repo, pattern.slice(0, -2));
    if (!existsSync(parent)) return [];
    return readdirSync(parent, { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && existsSync(join(parent, entry.name, "package.json")))
      .map((entry) => join(parent, entry.name));
  });
}

/** Every `*-oldest` alias declared by a workspace package. */
export function oldestVersions(repo: string): OldestVersion[] {
  const found: OldestVersion[] = [];
  for (const dir of workspaceDirs(repo)) {
    const pkg = manifest(dir);
    for (const [alias, spec] of Object.entries(pkg.devDependencies ?? {})) {
      const match = /^npm:(@?[^@]+)@(\d+\.\d+\.\d+)$/.exec(spec);
      if (!alias.endsWith("-oldest") || !match) continue;
      const [, library, version] = match as unknown as [string, string, string];
      found.push({ declaredBy: pkg.name ?? dir, library, alias, version, peerRange: pkg.peerDependencies?.[library] });
    }
  }
  return found;
}

/** The lower bound of a peer range as this repository writes them (`^5.55.0 || ^6.0.0` → `5.55.0`). */
export function rangeFloor(range: string): string | undefined {
  return /\d+\.\d+\.\d+/.exec(range)?.[0];
}

/** vite `resolve.alias` entries sending `<library>` and `<library>/…` to the oldest alias. */
export function oldestAliases(repo: string): { find: RegExp; replacement: string }[] {
  const seen = new Map<string, string>();
  for (const { library, alias } of oldestVersions(repo)) seen.set(library, alias);
  return [...seen].map(([library, alias]) => ({
    find: new RegExp(`^${library.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}(?=/|$)`),
    replacement: alias,
  }));
}
