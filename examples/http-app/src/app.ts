/**
 * The HTTP side: each request enqueues a job and answers 202 with its id; `GET /jobs/:queue/:id`
 * reads it back where the engine stores results.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { getBackend, TaskportError, UnsupportedFeatureError } from "@taskport/core";
import { countWords, sendWelcomeEmail } from "./tasks.ts";

export function createApp(): Server {
  return createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      const status = error instanceof UnsupportedFeatureError ? 501 : error instanceof TaskportError ? 400 : 500;
      send(res, status, { error: error instanceof Error ? error.message : String(error) });
    });
  });
}

async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? "/", "http://localhost");
  if (req.method === "POST" && url.pathname === "/signup") {
    const body = (await readJson(req)) as { email?: unknown; name?: unknown };
    if (typeof body.email !== "string" || typeof body.name !== "string")
      return send(res, 422, { error: "email and name are required strings" });
    const job = await sendWelcomeEmail.enqueue({ email: body.email, name: body.name });
    return send(res, 202, { jobId: job.id, queue: job.queue, status: job.status });
  }
  if (req.method === "POST" && url.pathname === "/count") {
    const body = (await readJson(req)) as { text?: unknown };
    if (typeof body.text !== "string") return send(res, 422, { error: "text is required" });
    const job = await countWords.enqueue({ text: body.text });
    return send(res, 202, { jobId: job.id, queue: job.queue, status: job.status });
  }
  const match = /^\/jobs\/([\w.-]+)\/([\w-]+)$/.exec(url.pathname);
  if (req.method === "GET" && match) {
    const info = await getBackend().getJob(match[2] as string, match[1] as string);
    return info ? send(res, 200, info) : send(res, 404, { error: "no such job" });
  }
  send(res, 404, { error: "not found" });
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 1_000_000) throw new TaskportError("example", "request body over 1 MB");
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
  } catch {
    throw new TaskportError("example", "request body is not JSON");
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}
