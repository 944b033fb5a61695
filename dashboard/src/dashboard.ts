import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Backend, configuredBackends, type JobStatus, TaskportError } from "@taskport/core";
import { CSRF_HEADER, newToken, presentedToken, sameOriginAction, sameSecret, TOKEN_COOKIE } from "./auth.ts";
import { History } from "./history.ts";
import { renderPage } from "./page.ts";

export interface DashboardOptions {
  /** The backends to show. Default: every backend given to `configure()`. */
  readonly backends?: readonly Backend[] | (() => readonly Backend[]);
  /**
   * Required to see or act: `Authorization: Bearer <token>`, or `?token=` once (then a cookie).
   * Without it, anyone who can reach the handler can use it: mount it only where that is so.
   */
  readonly token?: string;
  /** The path the dashboard is served under, when the framework does not strip it (Fastify, plain http). */
  readonly basePath?: string;
  /** How many samples each queue's sparkline keeps (one per refresh, at most one a second). Default 300. */
  readonly historySamples?: number;
}

/** A request handler for Node's `http`, Express (`app.use("/jobs", handler)`) and Fastify (see README). */
export type DashboardHandler = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;

const ASSETS = {
  "dashboard.js": { type: "text/javascript; charset=utf-8", body: readFileSync(new URL("../assets/dashboard.js", import.meta.url)) },
  "dashboard.css": { type: "text/css; charset=utf-8", body: readFileSync(new URL("../assets/dashboard.css", import.meta.url)) },
} as const;

/** The POSTs: each changes the engine, so each needs the CSRF check. */
const ACTIONS: ReadonlySet<string> = new Set(["/api/redrive", "/api/discard", "/api/cancel", "/api/pause", "/api/resume"]);

const STATUSES: readonly JobStatus[] = ["scheduled", "queued", "running", "succeeded", "failed", "cancelled"];

/**
 * The web dashboard: every configured backend's queues with live counts, lag and a sparkline, their
 * recent jobs, and dead letters with redrive and discard — read through core's inspection API, so
 * it is the same page for every engine. A feature an engine lacks is shown as such.
 */
export function createDashboard(options: DashboardOptions = {}): DashboardHandler {
  const csrf = newToken();
  const history = new History(options.historySamples ?? 300);
  const backends = () => (typeof options.backends === "function" ? options.backends() : (options.backends ?? configuredBackends()));
  const basePath = (options.basePath ?? "").replace(/\/$/, "");

  return (req, res, next) => {
    handle(req, res).catch((error: unknown) => {
      if (next) next(error);
      else if (!res.headersSent) send(res, 500, { error: "internal error" });
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://dashboard.invalid");
    let path = url.pathname;
    if (basePath && path.startsWith(basePath)) path = path.slice(basePath.length);
    const mountedAt = (req as { originalUrl?: string }).originalUrl?.split("?")[0] ?? `${basePath}${path}`;

    if (options.token !== undefined) {
      const given = presentedToken(req, url);
      if (given === undefined || !sameSecret(given, options.token)) {
        res.setHeader("www-authenticate", 'Bearer realm="taskport dashboard"');
        send(res, 401, { error: "a token is required: open the dashboard with ?token=<token>, or send Authorization: Bearer <token>" });
        return;
      }
      if (url.searchParams.has("token")) {
        // Move the token from the URL (history, logs) into a cookie only this site receives.
        res.setHeader("set-cookie", `${TOKEN_COOKIE}=${encodeURIComponent(given)}; HttpOnly; SameSite=Strict; Path=/`);
        url.searchParams.delete("token");
        redirect(res, `${mountedAt}${url.search}`);
        return;
      }
    }

    if (path === "" || path === "/") {
      // Relative links need the trailing slash: /jobs → /jobs/.
      if (!mountedAt.endsWith("/")) {
        redirect(res, `${mountedAt}/${url.search}`);
        return;
      }
      if (req.method !== "GET") return send(res, 405, { error: "GET only" });
      res.writeHead(200, { "content-type": "text/html; charset=utf-8", ...SECURITY_HEADERS });
      res.end(renderPage(csrf));
      return;
    }
    if (path.startsWith("/assets/")) {
      const asset = ASSETS[path.slice("/assets/".length) as keyof typeof ASSETS];
      if (!asset) return send(res, 404, { error: "no such asset" });
      res.writeHead(200, { "content-type": asset.type, "cache-control": "no-cache", ...SECURITY_HEADERS });
      res.end(asset.body);
      return;
    }
    if (path === "/api/overview" && req.method === "GET") return send(res, 200, await overview());
    if (path === "/api/jobs" && req.method === "GET")
      return withQueue(res, url, async (backend, queue) => {
        const status = url.searchParams.get("status") as JobStatus | null;
        if (status !== null && !STATUSES.includes(status)) return [400, { error: `status must be one of ${STATUSES.join(", ")}` }];
        return [200, await backend.jobs(queue, { limit: 25, ...(status ? { status } : {}) })];
      });
    if (path === "/api/dead-letters" && req.method === "GET") {
      return withQueue(res, url, async (backend, queue) => [200, { jobs: await backend.deadLetters(queue, 25) }]);
    }
    if (ACTIONS.has(path) && req.method === "POST") {
      if (!sameOriginAction(req, csrf))
        return send(res, 403, { error: `actions need the page's ${CSRF_HEADER} header and the same origin` });
      const body = await readJson(req);
      const backend = backends().find((b) => b.name === body.backend);
      if (!backend || typeof body.queue !== "string") return send(res, 400, { error: "name a backend and a queue" });
      return act(res, async () => {
        const ids = Array.isArray(body.ids) ? body.ids.filter((id): id is string => typeof id === "string") : undefined;
        if (path === "/api/redrive") return { redriven: await backend.redrive(body.queue as string, ids) };
        if (path === "/api/discard") return { discarded: await backend.discardDeadLetters(body.queue as string, ids) };
        if (path === "/api/pause" || path === "/api/resume") {
          const pause = path === "/api/pause";
          await (pause ? backend.pause(body.queue as string) : backend.resume(body.queue as string));
          return { paused: pause };
        }
        if (typeof body.id !== "string") throw new TypeError("name the job to cancel");
        return { cancelled: await backend.cancel(body.id, body.queue as string) };
      });
    }
    send(res, 404, { error: "not found" });
  }

  async function overview(): Promise<unknown> {
    const now = Date.now();
    return {
      backends: await Promise.all(
        backends().map(async (backend) => {
          // What the engine can do is known without reaching it: an engine that is down still shows
          // its capabilities beside the error, not as an engine that can do nothing.
          let base: Record<string, unknown> = { name: backend.name, description: backend.description };
          try {
            const adapter = await backend.adapter();
            const capabilities = adapter.capabilities;
            base = { ...base, engine: adapter.name, capabilities };
            if (!capabilities.stats) return { ...base, queues: [] };
            const stats = await backend.stats();
            history.record(backend.name, stats, now);
            return { ...base, queues: stats.map((queue) => ({ ...queue, history: history.of(backend.name, queue.queue) })) };
          } catch (error) {
            return { ...base, error: messageOf(error), queues: [] };
          }
        }),
      ),
    };
  }

  async function withQueue(
    res: ServerResponse,
    url: URL,
    read: (backend: Backend, queue: string) => Promise<[number, unknown]>,
  ): Promise<void> {
    const backend = backends().find((b) => b.name === url.searchParams.get("backend"));
    const queue = url.searchParams.get("queue");
    if (!backend || !queue) return send(res, 400, { error: "name a backend and a queue" });
    try {
      const [status, body] = await read(backend, queue);
      send(res, status, body);
    } catch (error) {
      send(res, error instanceof TaskportError ? 409 : 500, { error: messageOf(error) });
    }
  }
}

async function act(res: ServerResponse, action: () => Promise<unknown>): Promise<void> {
  try {
    send(res, 200, await action());
  } catch (error) {
    send(res, error instanceof TaskportError ? 409 : 400, { error: messageOf(error) });
  }
}

const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
} as const;

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store", ...SECURITY_HEADERS });
  res.end(JSON.stringify(body));
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { location });
  res.end();
}

/** A request's JSON body, at most 64 KiB. */
async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 65_536) throw new TypeError("request body too large");
    chunks.push(chunk as Buffer);
  }
  try {
    const value: unknown = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
