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
