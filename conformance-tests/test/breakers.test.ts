import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { MemoryAdapter } from "@taskport/core";
import { expect, it } from "vitest";
import { BREAKERS, checkBreakers } from "../src/index.ts";

// The suite proves its own strength: the memory engine wrapped by each breaker must fail the group
// that checks the obligation it breaks. (Unwrapped, the memory engine passes the whole suite: see
// core/test/memory-conformance.test.ts.) adapters/bullmq/test/breakers.test.ts does the same on a
// server engine.

const CONFIG = fileURLToPath(new URL("./fixtures/vitest.breakers.config.ts", import.meta.url));

it("every breaker is caught by the group that checks its obligation", async () => {
  // A caught breaker mostly waits out its test's deadline, so slices of them run in child vitests
  // side by side; far above the ~1.5 min a slice takes alone: CI runs this beside the whole suite.
  const { applicable, missed, output } = await checkBreakers({
    config: CONFIG,
    name: "memory",
    capabilities: new MemoryAdapter().capabilities,
    slices: 4,
  });
  expect(missed, `breakers the suite did not catch:\n${missed.join("\n")}\n--- child output (tail)\n${output.slice(-3000)}`).toEqual([]);
  expect(applicable.length).toBe(BREAKERS.length);
  console.log(`[taskport] the conformance suite's strength: ${applicable.length} obligations, each proven by a breaker.`);
}, 960_000);

it("every breaker names its obligation and a group, and no two break the same way", () => {
  const names = new Set(BREAKERS.map((b) => b.name));
  expect(names.size).toBe(BREAKERS.length);
  for (const breaker of BREAKERS) {
    expect(breaker.obligation.length).toBeGreaterThan(20);
    expect(breaker.name).toMatch(/^[a-z-]+$/);
  }
});

it('the README\'s "For adapter maintainers" lists every breaker and their count', () => {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## For adapter maintainers"), readme.indexOf("## Benchmarks"));
  for (const breaker of BREAKERS) expect(section).toContain(`| \`${breaker.name}\` |`);
  expect(section).toContain(`Obligations: ${BREAKERS.length}, each proven`);
});
