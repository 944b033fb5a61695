import { fileURLToPath } from "node:url";
import { checkBreakers } from "@taskport/conformance";
import { expect, it } from "vitest";
import { testAdapter } from "./support.ts";

// The breakers on a server engine: BullMQ on Redis wrapped by each breaker that applies to it must
// fail the group that checks the obligation it breaks, as the memory engine does
// (conformance-tests/test/breakers.test.ts). Each breaker runs only that group.

const CONFIG = fileURLToPath(new URL("./fixtures/vitest.breakers.config.ts", import.meta.url));

it("every breaker that applies to BullMQ is caught by the group that checks its obligation", async () => {
  const adapter = testAdapter("breakers-probe");
  const capabilities = adapter.capabilities;
  await adapter.close();
  const { applicable, missed, output } = await checkBreakers({ config: CONFIG, name: "bullmq", capabilities, slices: 3 });
  expect(missed, `breakers the suite did not catch:\n${missed.join("\n")}\n--- child output (tail)\n${output.slice(-3000)}`).toEqual([]);
  console.log(`[taskport] bullmq: ${applicable.length} breakers, each caught.`);
}, 600_000);
