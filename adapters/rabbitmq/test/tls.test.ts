import { describe, expect, it } from "vitest";
import { createAdapter } from "../src/index.ts";
import { AMQP_URL } from "./support.ts";

// The RabbitMQ broker here has no TLS listener; amqps:// goes to amqplib, which opens a TLS
// connection (port 5671 by default) and checks the broker's certificate against Node's trusted CAs.
describe("rabbitmq adapter and TLS", () => {
  it("amqps:// speaks TLS: against the broker's plain port, the handshake fails and check() says so", async () => {
    const url = new URL(AMQP_URL);
    url.protocol = "amqps:";
    url.port ||= "5672";
    const adapter = await createAdapter(url);
    const problems = (await adapter.check?.()) ?? [];
    await adapter.close();
    expect(problems).not.toEqual([]);
    expect(problems.map((p) => p.message).join(" ")).toMatch(/SSL routines|wrong version number/);
  });
});
