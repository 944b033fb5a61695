import type { Backend } from "../backends/backend.ts";
import { getBackend } from "../backends/registry.ts";
import { ConfigurationError } from "../errors.ts";
import { logger } from "../logger.ts";
import { OutboxAdapter, type RelayLease } from "./with-outbox.ts";

export interface StartRelayOptions {
  /** Backend name given to `configure`, or a backend object. Default `"default"`. */
  readonly backend?: string | Backend;
  /** Problems met while relaying (each retried). Default: the configured logger (stderr), never silent. */
  readonly onError?: (error: Error) => void;
}

/**
 * Run a backend's outbox relay in this process, without a worker: what `taskport relay` does.
 * Workers run one already (unless `relayInWorkers: false`); running more is safe. Stop it with the
 * returned lease's `stop()`.
 */
export async function startRelay(options: StartRelayOptions = {}): Promise<RelayLease> {
  const backend = typeof options.backend === "object" ? options.backend : getBackend(options.backend);
  const adapter = await backend.adapter();
  if (!(adapter instanceof OutboxAdapter)) {
    throw new ConfigurationError(
      "core",
      `backend "${backend.name}" (${backend.description}) has no outbox, so there is nothing to relay. ` +
        'Configure one beside its engine: { url, outbox: "postgres://…" }, or set TASKPORT_OUTBOX_URL.',
    );
  }
  const onError =
    options.onError ??
    ((error: Error) => logger().error({ backend: backend.name, error }, `[taskport] relay of backend "${backend.name}": ${error.message}`));
  return adapter.startRelay(onError);
}
