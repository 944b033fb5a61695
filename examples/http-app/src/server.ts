/**
 * Run the HTTP app alone, with a worker in another process (`npm run worker`): both open the
 * example's SQLite file (or TASKPORT_URL's engine), so they share its jobs.
 */
import { closeBackends } from "@taskport/core";
import { createApp } from "./app.ts";
import { configureEngine } from "./engine.ts";

configureEngine();

const port = Number(process.env.PORT ?? 3000);
const server = createApp().listen(port, () => console.log(`listening on http://localhost:${port}`));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => server.close(() => void closeBackends()));
}
