/** Run the HTTP app alone (with a worker in another process: `npm run worker`). Needs a shared engine. */
import { closeBackends } from "@taskport/core";
import { createApp } from "./app.ts";

const port = Number(process.env.PORT ?? 3000);
const server = createApp().listen(port, () => console.log(`listening on http://localhost:${port}`));
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => server.close(() => void closeBackends()));
}
