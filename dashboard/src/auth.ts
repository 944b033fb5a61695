import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** The cookie that carries the token after a first visit with `?token=`. */
export const TOKEN_COOKIE = "taskport_dashboard";
/** The header every action (POST) must carry: the page's CSRF token. */
export const CSRF_HEADER = "x-taskport-csrf";

/** Compare two secrets in constant time (hashing first makes their lengths equal). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** A fresh random token, for CSRF protection of one dashboard instance. */
export function newToken(): string {
  return randomBytes(24).toString("base64url");
}

/** The token a request presents: `Authorization: Bearer …`, the cookie, or `?token=`. */
export function presentedToken(req: IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ")) return auth.slice("Bearer ".length).trim();
  const cookie = req.headers.cookie
    ?.split(";")
    .map((part) => part.trim())
    .find((part) => part.startsWith(`${TOKEN_COOKIE}=`));
  if (cookie) return decodeURIComponent(cookie.slice(TOKEN_COOKIE.length + 1));
  return url.searchParams.get("token") ?? undefined;
}

/**
 * An action must come from the dashboard's own page: the CSRF header (which another site's form
 * cannot set) must match, and a browser's Origin, when sent, must be this host.
 */
export function sameOriginAction(req: IncomingMessage, csrf: string): boolean {
  const header = req.headers[CSRF_HEADER];
  if (typeof header !== "string" || !sameSecret(header, csrf)) return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
