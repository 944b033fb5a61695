import { SerializationError } from "./errors.ts";

/** A value that survives `JSON.stringify` → `JSON.parse` unchanged. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue | undefined };

/**
 * `T` with each part whose values would not survive JSON replaced by `never`: a `Date` (which JSON
 * turns into a string), a `Map` or `Set`, a function, a `bigint`, a class instance with methods. `T`
 * is JSON-compatible when it is assignable to this; unlike {@link JsonValue}, interfaces (which have
 * no index signature) are. `unknown` and `any` pass: such payloads are checked only when enqueued, as
 * every payload is. A class instance with data alone passes here and is refused at enqueue.
 */
export type JsonCompatible<T> = unknown extends T
  ? unknown
  : T extends JsonScalar
    ? T
    : T extends
          | bigint
          | symbol
          | ((...args: never) => unknown)
          | { toJSON(): unknown }
          | ReadonlyMap<unknown, unknown>
          | ReadonlySet<unknown>
      ? never
      : { [K in keyof T]: JsonCompatible<T[K]> };

/** What JSON holds besides arrays and objects; `undefined` as an optional property or a task without payload. */
// biome-ignore lint/suspicious/noConfusingVoidType: a handler that returns nothing has the result type void
type JsonScalar = string | number | boolean | null | undefined | void;

/**
 * Check that `value` is plain JSON and return its text.
 *
 * Stricter than `JSON.stringify`, which silently turns functions into nothing, `NaN` into `null`
 * and dates into strings: a job must arrive as it was sent, so anything that would not round-trip
 * is refused here, before an engine sees it. `undefined` object properties are allowed and dropped
 * (as optional fields in TypeScript produce them); `undefined` anywhere else is refused.
 */
export function encodeJson(origin: string, value: unknown, what = "payload"): string {
  assertJson(origin, value, what, "$", undefined);
  return JSON.stringify(value);
}

/**
 * Runs once per job on both sides (payload and result), so it allocates only for what nests: a
 * child's path is built only to recurse into it or to name it in an error, and `ancestors` (the
 * objects on the path, for cycles) is made only once an object has an object inside.
 */
function assertJson(origin: string, value: unknown, what: string, path: string, ancestors: Set<object> | undefined): void {
  switch (typeof value) {
    case "string":
    case "boolean":
      return;
    case "number":
      if (!Number.isFinite(value)) fail(origin, what, path, `is ${value}`, "use null or a string instead");
      return;
    case "object": {
      if (value === null) return;
      if (ancestors?.has(value)) fail(origin, what, path, "is a circular reference", "send an id instead of the object graph");
      // `value` joins the ancestors only to recurse into an object inside it, and leaves them after.
      let seen = ancestors;
      let added = false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) fail(origin, what, `${path}[${i}]`, "is undefined", "use null");
          if (typeof item === "object" && item !== null) {
            if (!added) {
              seen ??= new Set();
              seen.add(value);
              added = true;
            }
            assertJson(origin, item, what, `${path}[${i}]`, seen);
          } else if (!isJsonScalar(item)) {
            assertJson(origin, item, what, `${path}[${i}]`, seen);
          }
        }
        if (added) seen?.delete(value);
        return;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        const kind = (value as object).constructor?.name ?? "object";
        fail(origin, what, path, `is a ${kind}, not a plain object`, hintFor(kind));
      }
      for (const key in value) {
        const item = (value as Record<string, unknown>)[key];
        if (item === undefined) continue;
        if (typeof item === "object" && item !== null) {
          if (!added) {
            seen ??= new Set();
            seen.add(value);
            added = true;
          }
          assertJson(origin, item, what, `${path}.${key}`, seen);
        } else if (!isJsonScalar(item)) {
          assertJson(origin, item, what, `${path}.${key}`, seen);
        }
      }
      if (added) seen?.delete(value);
      return;
    }
    case "undefined":
      fail(origin, what, path, "is undefined", "pass null, or an object");
      break;
    case "bigint":
      fail(origin, what, path, "is a BigInt", "send it as a string and parse it in the handler");
      break;
    default:
      fail(origin, what, path, `is a ${typeof value}`, "send data, not code; a worker runs only the handlers it was given");
  }
}

/** A string, a boolean or a finite number: valid as it is, with no path to build. */
function isJsonScalar(value: unknown): boolean {
  return typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isFinite(value));
}

function hintFor(kind: string): string {
  if (kind === "Date") return "send date.toISOString() and parse it in the handler";
  if (kind === "Map" || kind === "Set") return "send an array or a plain object";
  if (kind === "Buffer" || kind === "Uint8Array") return "send it base64-encoded, or store it and send its key";
  return "convert it to plain objects, arrays, strings, numbers, booleans and null";
}

function fail(origin: string, what: string, path: string, problem: string, hint: string): never {
  throw new SerializationError(origin, `${what} is not JSON: ${path} ${problem}; ${hint}. Nothing was enqueued.`, path);
}

/** UTF-8 size of a JSON text, as engines count it. */
export function byteLength(text: string): number {
  // Fast path: most payloads are small; only measure precisely when it could matter.
  return Buffer.byteLength(text, "utf8");
}

/**
 * Job headers an engine carried as JSON text (a message header or attribute, a field of the job's
 * data): an object of strings, else none — a message from another producer must not fail its job.
 */
export function decodeHeaders(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  return Object.values(value).every((v) => typeof v === "string") ? (value as Record<string, string>) : undefined;
}
