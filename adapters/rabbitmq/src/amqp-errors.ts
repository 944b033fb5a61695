import { ConfigurationError, ConnectionError, TaskportError } from "@taskport/core";

const ORIGIN = "rabbitmq";

/** AMQP reply codes that a retry cannot fix: they describe the request, not the connection. */
const PERMANENT_CODES = new Set([403, 404, 405, 406, 530]);

/** True when `error` says the connection or channel went away, so a retry after reconnecting may work. */
export function isConnectionLoss(error: unknown): boolean {
  if (error instanceof TaskportError && !(error instanceof ConnectionError)) return false;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "number" && PERMANENT_CODES.has(code)) return false;
  return true;
}

/** Turn an amqplib connect failure into a taskport error a user can act on. `where` is redacted. */
export function explainConnectError(error: unknown, where: string): TaskportError {
  if (error instanceof TaskportError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (/ACCESS_REFUSED|ACCESS-REFUSED|Login was refused|authentication/i.test(message) || code === 403) {
    return new ConnectionError(
      ORIGIN,
      `RabbitMQ at ${where} refused the login. Check the user name and password in the URL or connection options.`,
    );
  }
  // Refusing connection.open (an unknown vhost, or one the user may not use) shows up as an unexpected close.
  if (/vhost .* not found|NOT_ALLOWED|Expected ConnectionOpenOk/i.test(message) || code === 530) {
    return new ConnectionError(
      ORIGIN,
      `RabbitMQ at ${where} has no such virtual host, or the user may not use it. Create it with \`rabbitmqctl add_vhost\` and grant permissions, or fix the URL's path.`,
    );
  }
  if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "EHOSTUNREACH" || code === "ETIMEDOUT" || code === "ECONNRESET") {
    return new ConnectionError(ORIGIN, `cannot reach RabbitMQ at ${where} (${code}). Start the broker or fix the host and port.`, {
      cause: error,
    });
  }
  if (/Expected amqp: or amqps:|URL/i.test(message)) {
    return new ConfigurationError(ORIGIN, `invalid connection settings for ${where}: ${firstLine(message)}`);
  }
  return new ConnectionError(ORIGIN, `cannot connect to RabbitMQ at ${where}: ${firstLine(message)}`, { cause: error });
}

function firstLine(text: string): string {
  return text.split("\n")[0] ?? text;
}
