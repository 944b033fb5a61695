import { randomBytes } from "node:crypto";
import { beforeAll, describe, expect, it } from "vitest";
import { assertBuilt, CliProcess, runCli, stackLines } from "./run-cli.ts";

// `taskport dashboard` as an operator starts it: the compiled CLI loading the compiled dashboard.
// What the page does is the dashboard's own browser test; this is the command around it.

beforeAll(() => assertBuilt());

/** The URL from the `ready` line of a dashboard started with `--json`. */
async function readyUrl(cli: CliProcess): Promise<string> {
  await cli.waitFor(/"event":"ready"/, 30_000);
  const line = cli.stdout.split("\n").find((l) => l.includes('"event":"ready"')) as string;
  return (JSON.parse(line) as { url: string }).url;
}

describe("taskport dashboard", () => {
  it("serves the page and its data on loopback, and stops on SIGTERM with exit 0", async () => {
    const cli = new CliProcess(["dashboard", "--url", "memory://", "--port", "0", "--json"]);
    try {
      const url = await readyUrl(cli);
      expect(new URL(url).hostname).toBe("127.0.0.1");
      const page = await fetch(url);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<script type="module" src="./assets/dashboard.js">');
      const { backends } = (await (await fetch(`${url}api/overview`)).json()) as { backends: { name: string }[] };
      expect(backends.map((b) => b.name)).toEqual(["default"]);
    } finally {
      cli.kill("SIGTERM");
    }
    expect((await cli.done).code).toBe(0);
  });

  it("refuses to listen beyond loopback without a token: says how to give one, exit 2, no stack", async () => {
    const { code, stderr } = await runCli(["dashboard", "--url", "memory://", "--port", "0", "--host", "0.0.0.0"], {
      TASKPORT_DASHBOARD_TOKEN: undefined,
    });
    expect(code).toBe(2);
    expect(stderr).toMatch(/give a token \(--token or TASKPORT_DASHBOARD_TOKEN\)/);
    expect(stackLines(stderr)).toEqual([]);
  });

  it("beyond loopback with a token (from the environment): a request without it is refused, one with it is served", async () => {
    const token = randomBytes(16).toString("hex");
    const cli = new CliProcess(["dashboard", "--url", "memory://", "--port", "0", "--host", "0.0.0.0", "--json"], {
      TASKPORT_DASHBOARD_TOKEN: token,
    });
    try {
      const url = (await readyUrl(cli)).replace("0.0.0.0", "127.0.0.1");
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: `Bearer ${token.slice(1)}x` } })).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      expect(cli.stdout).not.toContain(token);
    } finally {
      cli.kill("SIGTERM");
    }
    expect((await cli.done).code).toBe(0);
  });
});
