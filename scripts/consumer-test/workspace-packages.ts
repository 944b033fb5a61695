import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** A workspace package that is published: every one not marked private. */
export interface PublishedPackage {
  readonly name: string;
  /** Folder inside the repository. */
  readonly location: string;
  readonly version: string;
  readonly peerDependencies: Readonly<Record<string, string>>;
  readonly peerDependenciesMeta: Readonly<Record<string, { optional?: boolean }>>;
  readonly engines: Readonly<Record<string, string>>;
}

/** Every published workspace package, as npm lists them: new ones are picked up without a list here. */
export function publishedPackages(repo: string): PublishedPackage[] {
  const listed = JSON.parse(execFileSync("npm", ["query", ".workspace"], { cwd: repo, encoding: "utf8" })) as {
    location: string;
    private?: boolean;
  }[];
  return listed
    .filter((entry) => entry.private !== true)
    .map((entry) => {
      const manifest = JSON.parse(readFileSync(join(repo, entry.location, "package.json"), "utf8"));
      return {
        name: manifest.name,
        location: entry.location,
        version: manifest.version,
        peerDependencies: manifest.peerDependencies ?? {},
        peerDependenciesMeta: manifest.peerDependenciesMeta ?? {},
        engines: manifest.engines ?? {},
      };
    })
    .sort((a, b) => a.location.localeCompare(b.location));
}

/** The tarball name `npm pack` gives a package: `@scope/name@1.2.3` → `scope-name-1.2.3.tgz`. */
export function tarballName(pkg: { name: string; version: string }): string {
  return `${pkg.name.replace(/^@/, "").replace("/", "-")}-${pkg.version}.tgz`;
}

/** The lowest Node version `engines.node` promises (`>=22.12.0` → `22.12.0`). */
export function lowestNode(range: string | undefined): string {
  const match = /^>=\s*(\d+\.\d+\.\d+)$/.exec(range?.trim() ?? "");
  if (!match?.[1]) throw new Error(`engines.node is "${range}"; expected a floor such as ">=22.12.0"`);
  return match[1];
}
