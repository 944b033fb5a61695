import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Backend, ConfigurationError, defineTask, MemoryAdapter, startWorker, type Worker } from "@taskport/core";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ServedDashboard, serveDashboard } from "../src/index.ts";

// The dashboard in a real browser (Debian's Chromium, driven by playwright-core), against the
// memory engine and the server engines on loopback.

const CHROMIUM = process.env.TASKPORT_CHROMIUM ?? "/usr/bin/chromium";
const SCREENSHOT = fileURLToPath(new URL("../../docs/dashboard.png", import.meta.url));
const run = randomBytes(3).toString("hex");

let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    const message = `Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set TASKPORT_CHROMIUM`;
    if (process.env.CI === "true") throw new Error(message);
    console.warn(`\n[taskport] ${message}; the dashboard's browser tests are skipped.\n`);
    return;
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

const ENGINES = [
  { name: "memory", url: undefined },
  { name: "bullmq", url: `bullmq://127.0.0.1:6379?prefix=tpdash${run}` },
  { name: "pg-boss", url: `postgres://postgres@127.0.0.1:5432/test?schema=tpdash${run}` },
  { name: "rabbitmq", url: "amqp://guest:guest@127.0.0.1:5672" },
] as const;

describe.each(ENGINES)("dashboard on $name", ({ name, url }) => {
  let backend: Backend;
  let served: ServedDashboard;
  let worker: Worker | undefined;
  const queue = `dash-${name.replace(/[^a-z]/g, "")}-${run}`;

  beforeAll(async () => {
    backend = new Backend(name, url ?? new MemoryAdapter());
    served = await serveDashboard({ port: 0, backends: [backend] });
  });

  afterAll(async () => {
    await worker?.close({ graceMs: 0 });
    await served?.close();
    await backend?.close();
  });

  it("counts move as jobs run, a failed job shows in the dead letters, and redrive runs it again", async (context) => {
    if (!browser) return context.skip();
    const adapter = await backend.adapter();
    const caps = adapter.capabilities;
    let healed = false;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const ran: number[] = [];
    const job = defineTask(
      "dash-job",
      async (payload: { n: number; html?: string }) => {
        if (payload.n === 0 && !healed) throw new Error("broken until healed");
        await gate;
        ran.push(payload.n);
      },
      { queue },
    ).using({ backend });
    await job.enqueueMany([1, 2, 3].map((n) => ({ n })));
    await job.enqueue({ n: 0, html: "<img src=x onerror=alert(1)>" });

    const page = await browser.newPage();
    try {
      await page.goto(served.url);
      if (!caps.stats) {
        await expect.poll(() => page.textContent(`section[data-backend="${name}"]`)).toContain("no queue statistics");
        return;
      }
      const row = page.locator(`section[data-backend="${name}"] tr[data-queue="${queue}"]`);
      await expect.poll(() => cell(page, name, queue, "queued"), { timeout: 15_000 }).toBe("4");

      worker = await startWorker({ tasks: [job], backend, concurrency: 4 });
      release();
      await expect.poll(() => cell(page, name, queue, "queued"), { timeout: 20_000 }).toBe("0");
      if (caps.results) await expect.poll(() => cell(page, name, queue, "succeeded"), { timeout: 20_000 }).toBe("3");
      await expect.poll(() => cell(page, name, queue, "failed"), { timeout: 20_000 }).toBe("1");

      await row.click();
      await expect.poll(() => page.locator("#detail-body tr[data-job]").count(), { timeout: 10_000 }).toBe(1);
      // The payload is shown as text: the markup in it never becomes an element.
      expect(await page.locator("#detail-body pre.payload").textContent()).toContain("<img src=x onerror=alert(1)>");
      expect(await page.locator("#detail-body img").count()).toBe(0);
      if (name === "memory") {
        mkdirSync(fileURLToPath(new URL("../../docs/", import.meta.url)), { recursive: true });
        await page.screenshot({ path: SCREENSHOT, fullPage: true });
      }
      if (!caps.redrive) {
        expect(await page.locator("#detail-body button.redrive").count()).toBe(0);
        return;
      }
      healed = true;
      await page.locator("#detail-body button.redrive").click();
      await expect.poll(() => ran.includes(0), { timeout: 20_000 }).toBe(true);
      await expect.poll(() => cell(page, name, queue, "failed"), { timeout: 20_000 }).toBe("0");
    } finally {
      await page.close();
    }
  }, 90_000);
});

describe("dashboard safety", () => {
  it("refuses to listen beyond loopback without a token", async () => {
    await expect(serveDashboard({ port: 0, host: "0.0.0.0" })).rejects.toBeInstanceOf(ConfigurationError);
  });

  it("with a token: a request without it is refused, ?token= sets a cookie and the page loads", async (context) => {
    if (!browser) return context.skip();
    const token = randomBytes(16).toString("hex");
    const served = await serveDashboard({ port: 0, host: "0.0.0.0", token, backends: [new Backend("memory", new MemoryAdapter())] });
    try {
      const url = served.url.replace("0.0.0.0", "127.0.0.1");
      const bare = await fetch(url);
      expect(bare.status).toBe(401);
      const wrong = await fetch(`${url}api/overview`, { headers: { authorization: "Bearer nope" } });
      expect(wrong.status).toBe(401);
      const page = await browser.newPage();
      try {
        await page.goto(`${url}?token=${token}`);
        expect(page.url()).toBe(url);
        await expect.poll(() => page.locator('section[data-backend="memory"]').count()).toBe(1);
      } finally {
        await page.close();
      }
    } finally {
      await served.close();
    }
  });

  it("an action without the page's CSRF header, or from another origin, is refused", async () => {
    const served = await serveDashboard({ port: 0, backends: [new Backend("memory", new MemoryAdapter())] });
    try {
      const body = JSON.stringify({ backend: "memory", queue: "default" });
      const noHeader = await fetch(`${served.url}api/redrive`, { method: "POST", body, headers: { "content-type": "application/json" } });
      expect(noHeader.status).toBe(403);
      const html = await (await fetch(served.url)).text();
      const csrf = /name="csrf-token" content="([^"]+)"/.exec(html)?.[1] as string;
      const foreign = await fetch(`${served.url}api/redrive`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json", "x-taskport-csrf": csrf, origin: "https://evil.example" },
      });
      expect(foreign.status).toBe(403);
      const own = await fetch(`${served.url}api/redrive`, {
        method: "POST",
        body,
        headers: { "content-type": "application/json", "x-taskport-csrf": csrf },
      });
      expect(await own.json()).toEqual({ redriven: 0 });
    } finally {
      await served.close();
    }
  });
});

/** The text of one status cell of a queue's row, as the page shows it now. */
function cell(page: Page, backend: string, queue: string, status: string): Promise<string | null> {
  return page
    .locator(`section[data-backend="${backend}"] tr[data-queue="${queue}"] td[data-status="${status}"]`)
    .textContent({ timeout: 1_000 })
    .catch(() => null);
}
