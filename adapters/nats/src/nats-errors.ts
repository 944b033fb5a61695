import { ConnectionError, TaskportError } from "@taskport/core";

export const ORIGIN = "nats";

/** A failed connect as a `ConnectionError` that says where and what to do, never with credentials. */
export function explainConnectError(error: unknown, where: string): TaskportError {
  if (error instanceof TaskportError) return error;
  const text = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string })?.code ?? "";
  let advice = "Check that nats-server is running there with JetStream enabled (`nats-server -js`).";
  if (/auth|authorization/i.test(text) || /AUTH/.test(code)) advice = "Check the user and password (or token) in the URL.";
  else if (/tls/i.test(text)) advice = "Check the TLS settings: use tls:// when the server requires TLS.";
  return new ConnectionError(ORIGIN, `cannot connect to NATS at ${where}: ${text}. ${advice}`, { cause: error });
}

/** Any other failure of a call to the server, as a TaskportError naming the action and the server. */
export function explainNatsError(error: unknown, where: string, action: string): TaskportError {
  if (error instanceof TaskportError) return error;
  const text = error instanceof Error ? error.message : String(error);
  if (/jetstream not enabled|no responders|503/i.test(text)) {
    return new ConnectionError(
      ORIGIN,
      `${action} at ${where}: ${text}. Is JetStream enabled on the server (nats-server -js), and does the account have it?`,
      { cause: error },
    );
  }
  return new ConnectionError(ORIGIN, `${action} at ${where} failed: ${text}`, { cause: error });
}
