import { ConfigurationError, ConnectionError, TaskportError } from "@taskport/core";
import { ORIGIN } from "./sqs-limits.ts";

/** SDK error names that mean the credentials are missing, wrong or not allowed. */
const CREDENTIAL_ERRORS = new Set([
  "CredentialsProviderError",
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "SignatureDoesNotMatch",
  "InvalidSecurity",
  "ExpiredToken",
  "ExpiredTokenException",
  "AccessDenied",
  "AccessDeniedException",
  "MissingAuthenticationToken",
]);

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

function codeOf(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 4; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string") return code;
    const errors = (current as { errors?: unknown[] }).errors;
    if (Array.isArray(errors) && errors.length > 0) current = errors[0];
    else current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

export function isQueueMissing(error: unknown): boolean {
  const name = (error as { name?: string } | undefined)?.name;
  return name === "QueueDoesNotExist" || name === "AWS.SimpleQueueService.NonExistentQueue";
}

export function isNetworkError(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && NETWORK_CODES.has(code);
}

/**
 * A failure worth one more try: the network (a restarted service, a pooled socket gone stale), a
 * timeout, throttling or a server-side fault. The SDK retries these too, within a quota that a
 * burst of failures (every poller at once) can use up.
 */
export function isTransient(error: unknown): boolean {
  const e = error as { name?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } } | undefined;
  if (isNetworkError(error) || e?.name === "TimeoutError" || e?.$retryable) return true;
  const status = e?.$metadata?.httpStatusCode;
  return status !== undefined && (status >= 500 || status === 429);
}

/** A receipt handle the service no longer honours: the message's lease was lost, or it is gone. */
export function isLeaseLost(code: string | undefined): boolean {
  return code === "ReceiptHandleIsInvalid" || code === "MessageNotInflight" || code === "InvalidParameterValue";
}

/**
 * Turn an SDK error into a taskport error that says what happened and what to do. `where` names
 * the endpoint; it never contains a secret (credentials are not part of it).
 */
export function explainSqsError(error: unknown, where: string, action: string): TaskportError {
  if (error instanceof TaskportError) return error;
  const name = (error as { name?: string } | undefined)?.name ?? "Error";
  const message = (error as { message?: string } | undefined)?.message ?? String(error);
  if (CREDENTIAL_ERRORS.has(name)) {
    return new ConfigurationError(
      ORIGIN,
      `${action} at ${where} was refused: ${name}: ${message}. Check the credentials (the SDK's chain: environment, profile, role; or the URL's key:secret for an emulator) and their SQS permissions.`,
      { cause: error },
    );
  }
  if (isNetworkError(error)) {
    return new ConnectionError(
      ORIGIN,
      `${action}: cannot reach SQS at ${where} (${codeOf(error)}). Check the endpoint and region, and that the service (or emulator) is running.`,
      { cause: error },
    );
  }
  return new ConnectionError(ORIGIN, `${action} at ${where} failed: ${name}: ${message}.`, { cause: error });
}
