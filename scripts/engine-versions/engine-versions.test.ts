import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { oldestVersions, rangeFloor, usingOldest } from "./oldest-versions.ts";

const repo = join(import.meta.dirname, "../..");
const versions = oldestVersions(repo);

describe("the oldest engine-library versions", () => {
  it("are declared for every adapter with a range wider than one version", () => {
    expect(versions.map((v) => v.declaredBy)).toEqual(
      expect.arrayContaining(["@taskport/bullmq", "@taskport/pg-boss", "@taskport/rabbitmq", "@taskport/sqs", "@taskport/nats"]),
    );
  });

  it.each(versions.map((v) => [`${v.declaredBy}: ${v.alias}`, v] as const))("%s is the floor of its peer range", (_, v) => {
    expect(v.peerRange, `${v.library} is not a peer dependency of ${v.declaredBy}`).toBeDefined();
    expect(rangeFloor(v.peerRange as string)).toBe(v.version);
    // Read from the folder: a package's exports may not offer its package.json.
    const installed = JSON.parse(readFileSync(join(repo, "node_modules", v.alias, "package.json"), "utf8")) as {
      name: string;
      version: string;
    };
    expect(installed).toMatchObject({ name: v.library, version: v.version });
  });

  it("the README's table states each peer range and its oldest version", () => {
    const readme = readFileSync(join(repo, "README.md"), "utf8");
    const table = readme.slice(readme.indexOf("<!-- engine-ranges:start -->"), readme.indexOf("<!-- engine-ranges:end -->"));
    for (const v of versions) {
      const row = table.split("\n").find((line) => line.startsWith(`| \`${v.declaredBy}\``)) ?? "";
      expect(row.replaceAll("\\|", "|"), v.declaredBy).toContain(`\`${v.library}\` \`${v.peerRange}\``);
      expect(row, v.declaredBy).toContain(v.version);
    }
  });

  it.runIf(usingOldest())("are what the tests import when TASKPORT_ENGINE_VERSIONS=oldest", async () => {
    for (const v of versions) {
      expect(await import(/* @vite-ignore */ v.library), v.library).toBe(await import(/* @vite-ignore */ v.alias));
    }
  });
});
