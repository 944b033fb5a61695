import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Backend, type BackendSpec, ConfigurationError, defineTask, MemoryAdapter, startWorker, type Worker } from "@taskport/core";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, type ExpectStatic, expect, it } from "vitest";
import { deleteQueues } from "../../adapters/rabbitmq/test/support.ts";
import { dropSchema } from "../../stores/postgres/test/support.ts";
import { type ServedDashboard, serveDashboard } from "../src/index.ts";

// The dashboard in a real browser (Debian's Chromium, driven by playwright-core), against the
// memory engine and the server engines on loopback.

const CHROMIUM = process.env.TASKPORT_CHROMIUM ?? "/usr/bin/chromium";
const SCREENSHOT = fileURLToPath(new URL("../../docs/dashboard.png", import.meta.url));
const run = randomBytes(3).toString("hex");
// How often a test reads the page: the page itself refreshes every 2 s, and five tests reading it
// every 50 ms (expect.poll's default) kept a loaded two-core machine busy for nothing.
const POLL_MS = 250;

let browser: Browser;
/**
 * One context for the engines' pages, in one renderer process (--renderer-process-limit=1): a page
 * in a context and a process of its own took 10 to 20 s to open on the loaded two-core machine, five at once.
 */
let engines: BrowserContext;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    const message = `Chromium not found at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) or set TASKPORT_CHROMIUM`;
    if (process.env.CI === "true") throw new Error(message);
    console.warn(`\n[taskport] ${message}; the dashboard's browser tests are skipped.\n`);
    return;
  }
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--renderer-process-limit=1",
    ],
  });
  engines = await browser.newContext();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

const PG_URL = "postgres://postgres@127.0.0.1:5432/test";
const AMQP_URL = "amqp://guest:guest@127.0.0.1:5672";

/**
 * The engines the page is driven against, each by the same test body. `lacks` names what the page
 * must show as missing (as such, never as an error); everything else must work.
 */
const ENGINES: readonly { name: string; spec: () => BackendSpec; lacks?: "stats"; schema?: string; rabbit?: true }[] = [
  { name: "memory", spec: () => new MemoryAdapter() },
  { name: "bullmq", spec: () => `bullmq://127.0.0.1:6379?prefix=tpdash${run}` },
  { name: "pg-boss", spec: () => `${PG_URL}?schema=tpdash${run}`, schema: `tpdash${run}` },
  {
    name: "rabbitmq",
    spec: () => ({ url: AMQP_URL, store: `${PG_URL}?schema=tpdashstore${run}` }),
    schema: `tpdashstore${run}`,
    rabbit: true,
  },
  { name: "rabbitmq-bare", spec: () => AMQP_URL, lacks: "stats", rabbit: true },
];

// The engines run side by side: most of each test is waiting for the page's next refresh.
describe.concurrent.each(ENGINES)("dashboard on $name", ({ name, spec, lacks, schema, rabbit }) => {
  let backend: Backend;
  let served: ServedDashboard;
  let worker: Worker | undefined;
  const queue = `dash-${name.replace(/[^a-z]/g, "")}-${run}`;

  beforeAll(async () => {
    backend = new Backend(name, spec());
    served = await serveDashboard({ port: 0, backends: [backend] });
  });

  afterAll(async () => {
    await worker?.close({ graceMs: 0 });
    await served?.close();
    await backend?.close();
    if (rabbit) await deleteQueues([queue]);
    if (schema) await dropSchema(schema);
  });

  it(lacks
    ? `shows that the engine lacks ${lacks}, not an error`
    : "counts move as jobs run, failed jobs show in the dead letters, discard removes one, redrive runs the other", async (context) => {
    if (!browser) return context.skip();
    const page = await engines.newPage();
    try {
      // Concurrent tests must use their own expect (expect.poll refuses the global one).
      const { expect } = context;
      if (lacks) await showsMissingStats(expect, page, backend, served, queue);
      else await runsThroughThePage(expect, page, backend, served, queue, (started) => (worker = started));
    } catch (error) {
      // What the page showed when the test gave up: an assertion alone says only what was missing.
      const shown = await page
        .locator("body")
        .textContent({ timeout: 2_000 })
        .catch(() => "(no page)");
      if (error instanceof Error) error.message += `\n--- the page showed:\n${shown}`;
      throw error;
    } finally {
      await page.close();
    }
  }, 85_000);
});

/** An engine without statistics: the page says so where the queues would be, and shows no error. */
async function showsMissingStats(
  expect: ExpectStatic,
  page: Page,
  backend: Backend,
  served: ServedDashboard,
  queue: string,
): Promise<void> {
  expect((await backend.adapter()).capabilities.stats).toBeFalsy();
  await defineTask("dash-job", async (_: { n: number }) => {}, { queue })
    .using({ backend })
    .enqueue({ n: 1 });
  await page.goto(served.url);
  const section = page.locator(`section[data-backend="${backend.name}"]`);
  await expect
    .poll(() => section.textContent({ timeout: 1_000 }).catch(() => null), { timeout: 10_000, interval: POLL_MS })
    .toContain("no queue statistics");
  expect(await section.locator("li.no", { hasText: "Queue stats" }).count()).toBe(1);
  expect(await page.locator(".error").count()).toBe(0);
}

/**
 * The whole path an operator takes: jobs wait (counts), pause where the engine can (or the page says
 * it cannot), workers run them (counts move), two fail for good (dead letters, a payload shown as
 * text), discard removes one for good, redrive runs the other again.
 */
async function runsThroughThePage(
  expect: ExpectStatic,
  page: Page,
  backend: Backend,
  served: ServedDashboard,
  queue: string,
  started: (worker: Worker) => void,
): Promise<void> {
  const name = backend.name;
  const caps = (await backend.adapter()).capabilities;
  expect(caps.stats).toBe(true);
  let healed = false;
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const ran: number[] = [];
  let doomedRuns = 0;
  const job = defineTask(
    "dash-job",
    async (payload: { n: number; html?: string }) => {
      if (payload.n === 0 && !healed) throw new Error("broken until healed");
      if (payload.n < 0 && ++doomedRuns) throw new Error("never works");
      await gate;
      ran.push(payload.n);
    },
    { queue },
  ).using({ backend });
  await job.enqueueMany([1, 2, 3].map((n) => ({ n })));
  await job.enqueue({ n: 0, html: "<img src=x onerror=alert(1)>" });
  const doomed = await job.enqueue({ n: -1 });

  await page.goto(served.url);
  const row = page.locator(`section[data-backend="${name}"] tr[data-queue="${queue}"]`);
  await expect.poll(() => cell(page, name, queue, "queued"), { timeout: 15_000, interval: POLL_MS }).toBe("5");

  await row.click();
  if (caps.pause) {
    await page.locator("#tabs button.pause").click();
    await expect.poll(() => row.locator(".badge", { hasText: "paused" }).count(), { timeout: 10_000, interval: POLL_MS }).toBe(1);
    await page.locator("#tabs button.resume").click();
    await expect.poll(() => row.locator(".badge").count(), { timeout: 10_000, interval: POLL_MS }).toBe(0);
  } else {
    expect(await page.locator("#tabs .unsupported").textContent()).toContain("not supported");
  }

  started(await startWorker({ tasks: [job], backend, concurrency: 4 }));
  release();
  await expect.poll(() => cell(page, name, queue, "queued"), { timeout: 20_000, interval: POLL_MS }).toBe("0");
  if (caps.results) await expect.poll(() => cell(page, name, queue, "succeeded"), { timeout: 20_000, interval: POLL_MS }).toBe("3");
  await expect.poll(() => cell(page, name, queue, "failed"), { timeout: 20_000, interval: POLL_MS }).toBe("2");

  await page.locator("#tabs button", { hasText: "Dead letters" }).click();
  await expect.poll(() => page.locator("#detail-body tr[data-job]").count(), { timeout: 10_000, interval: POLL_MS }).toBe(2);
  // Discard: the dead letter leaves the page for good (the operator confirms first).
  expect(caps.discardDeadLetters).toBe(true);
  page.once("dialog", (dialog) => void dialog.accept());
  await page.locator(`#detail-body tr[data-job="${doomed.id}"] button.discard`).click();
  await expect.poll(() => page.locator("#detail-body tr[data-job]").count(), { timeout: 10_000, interval: POLL_MS }).toBe(1);
  await expect.poll(() => cell(page, name, queue, "failed"), { timeout: 10_000, interval: POLL_MS }).toBe("1");
  // The payload is shown as text: the markup in it never becomes an element.
  expect(await page.locator("#detail-body pre.payload").textContent()).toContain("<img src=x onerror=alert(1)>");
  expect(await page.locator("#detail-body img").count()).toBe(0);
  expect(await page.locator(".error").count()).toBe(0);
  if (name === "memory") {
    mkdirSync(fileURLToPath(new URL("../../docs/", import.meta.url)), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
  }
  expect(caps.redrive).toBe(true);
  healed = true;
  await page.locator("#detail-body button.redrive").click();
  await expect.poll(() => ran.includes(0), { timeout: 20_000, interval: POLL_MS }).toBe(true);
  await expect.poll(() => cell(page, name, queue, "failed"), { timeout: 20_000, interval: POLL_MS }).toBe("0");
  // The discarded job never ran again: a redrive of the whole queue does not bring it back.
  expect(await backend.redrive(queue)).toBe(0);
  expect(doomedRuns).toBe(1);
}

it("an engine that is down shows its error beside what it can do", async () => {
  const down = new Backend("down", "bullmq://127.0.0.1:1?connectTimeoutMs=1000");
  const served = await serveDashboard({ port: 0, backends: [down] });
  try {
    const { backends } = (await (await fetch(`${served.url}api/overview`)).json()) as {
      backends: { error?: string; capabilities?: { stats?: boolean } }[];
    };
    expect(backends[0]?.error).toMatch(/cannot reach Redis/);
    expect(backends[0]?.capabilities?.stats).toBe(true);
  } finally {
    await served.close();
    await down.close();
  }
});

describe("dashboard safety", () => {
  it("refuses to listen beyond loopback without a token", async () => {
    await expect(serveDashboard({ port: 0, host: "0.0.0.0" })).rejects.toBeInstanceOf(ConfigurationError);
  });

  it("beyond loopback, a request without the token is refused (in the browser too); ?token= sets a cookie and the page loads", async (context) => {
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
        expect((await page.goto(url))?.status()).toBe(401);
        expect(await page.locator("section").count()).toBe(0);
        await page.goto(`${url}?token=${token}`);
        expect(page.url()).toBe(url);
        await expect.poll(() => page.locator('section[data-backend="memory"]').count(), { timeout: 10_000, interval: POLL_MS }).toBe(1);
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
      const discard = (headers: Record<string, string>) =>
        fetch(`${served.url}api/discard`, { method: "POST", body, headers: { "content-type": "application/json", ...headers } });
      expect((await discard({})).status).toBe(403);
      expect(await (await discard({ "x-taskport-csrf": csrf })).json()).toEqual({ discarded: 0 });
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
