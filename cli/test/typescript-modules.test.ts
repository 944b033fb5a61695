import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, runCli } from "./run-cli.ts";

const TYPESCRIPT_APP = fileURLToPath(new URL("./fixtures/typescript/tasks.ts", import.meta.url));
let outside: string;

beforeAll(() => {
  assertBuilt();
  // Outside the repository, where no tsx can be resolved from the module's folder.
  outside = mkdtempSync(join(tmpdir(), "taskport-cli-ts-"));
});
afterAll(() => rmSync(outside, { recursive: true, force: true }));

describe("TypeScript task modules", () => {
  it("load through the app's tsx: enums and .js imports of .ts files work, and the module's configure() is seen", async () => {
    const { code, stdout, stderr } = await runCli(["check", "--module", TYPESCRIPT_APP]);
    expect(stderr).toBe("");
    expect(stdout).toContain("ok   default (memory://)");
    expect(code).toBe(0);
    const enqueued = await runCli(["enqueue", "log-level", '{"level":1}', "--module", TYPESCRIPT_APP]);
    expect(enqueued.code).toBe(0);
    expect(enqueued.stdout).toContain("log-level");
  });

  it("without tsx, a module Node cannot strip fails with one line that names tsx", async () => {
    const module = join(outside, "tasks.ts");
    writeFileSync(module, "export enum Level { Low, High }\n");
    const { code, stderr } = await runCli(["check", "--module", module]);
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain(`could not load ${module}`);
    expect(stderr).toContain("npm install --save-dev tsx");
  });
});
