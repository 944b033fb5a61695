import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { publishedPackages } from "../consumer-test/workspace-packages.ts";
import { withoutSourceCondition } from "./published-manifest.ts";

const repo = join(import.meta.dirname, "../..");
const packages = publishedPackages(repo);

describe("what npm publishes", () => {
  it("drops the @taskport/source condition at any depth and keeps the rest in order", () => {
    expect(
      withoutSourceCondition({
        ".": { "@taskport/source": "./src/index.ts", types: "./dist/index.d.ts", default: "./dist/index.js" },
        "./testing": [{ "@taskport/source": "./src/t.ts", import: "./dist/t.js" }, "./dist/t.js"],
        "./package.json": "./package.json",
      }),
    ).toEqual({
      ".": { types: "./dist/index.d.ts", default: "./dist/index.js" },
      "./testing": [{ import: "./dist/t.js" }, "./dist/t.js"],
      "./package.json": "./package.json",
    });
  });

  // Each published package's own files: a new package copied from one at another depth would
  // otherwise point its prepack at a script that is not there, and only `npm pack` would tell.
  it.each(packages.map((pkg) => [pkg.name, pkg] as const))(
    "%s builds and strips before packing, ships the LICENSE, and keeps a CHANGELOG",
    (_, pkg) => {
      const dir = join(repo, pkg.location);
      const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as {
        scripts?: Record<string, string>;
        peerDependencies?: Record<string, string>;
      };
      // Our own packages as peers take the whole 0.x line: a caret range of one minor would make
      // changesets release every dependent of a 0.x minor as 1.0.0 (.changeset/config.json).
      for (const [name, range] of Object.entries(manifest.peerDependencies ?? {})) {
        if (name.startsWith("@taskport/")) expect(range, `${pkg.name}: peer ${name}`).toBe("^0.x");
      }
      for (const [script, argument] of [
        ["prepack", "strip"],
        ["postpack", "restore"],
      ] as const) {
        const command = manifest.scripts?.[script] ?? "";
        const path = /node (\S+published-manifest\.ts) (\w+)/.exec(command);
        expect(path, `${pkg.name}: scripts.${script} runs scripts/release/published-manifest.ts`).not.toBeNull();
        expect(resolve(dir, path?.[1] ?? "")).toBe(join(repo, "scripts/release/published-manifest.ts"));
        expect(path?.[2]).toBe(argument);
      }
      expect(manifest.scripts?.prepack).toMatch(/^tsc -b --force && /);
      expect(readFileSync(join(dir, "LICENSE"), "utf8")).toBe(readFileSync(join(repo, "LICENSE"), "utf8"));
      expect(existsSync(join(dir, "README.md"))).toBe(true);
      expect(readFileSync(join(dir, "CHANGELOG.md"), "utf8")).toMatch(new RegExp(`^# ${pkg.name}\n`));
    },
  );
});
