/** Replace a URL's password with `***`, so it never reaches an error, a log line, an event or `check()`. */
export function redactUrl(url: string | URL): string {
  try {
    const parsed = new URL(String(url));
    if (parsed.password) parsed.password = "***";
    for (const key of [...parsed.searchParams.keys()]) {
      if (/pass|secret|token|key/i.test(key)) parsed.searchParams.set(key, "***");
    }
    return parsed.toString();
  } catch {
    // Not parseable as a URL: hide anything that looks like user:password@.
    return String(url).replace(/\/\/([^:/@]*):[^@/]*@/, "//$1:***@");
  }
}

/** Remove every occurrence of a secret from a message (drivers sometimes echo the connection string). */
export function redactSecrets(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of secrets) if (secret) out = out.split(secret).join("***");
  return out;
}

/**
 * A copy of a driver's error that is safe to keep as a `cause`: its name, `code` and message with
 * every secret removed, and the same for its own cause, and nothing else. Drivers hang what they
 * sent on their errors (node-redis: `args` of an AUTH; ioredis: `command`), which
 * `console.log(error)` and `util.inspect` print, so the original must not be kept.
 */
export function redactedError(error: unknown, secrets: readonly string[], depth = 0): Error {
  const original = error as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown } | undefined;
  const message = redactSecrets(String(original?.message ?? error), secrets);
  const copy = new Error(message);
  copy.name = typeof original?.name === "string" ? original.name : "Error";
  copy.stack = `${copy.name}: ${message}`;
  if (typeof original?.code === "string" || typeof original?.code === "number") Object.assign(copy, { code: original.code });
  if (original?.cause !== undefined && depth < 5) copy.cause = redactedError(original.cause, secrets, depth + 1);
  return copy;
}
