/**
 * The outbox contract: a companion beside an engine that lets `{ transaction }` work on every
 * engine. A job enqueued inside the app's database transaction is written into an outbox table in
 * that same transaction, so it exists only if the transaction commits; a relay (see `Relay`) then
 * hands committed jobs to the engine and deletes them once the engine confirmed. The app's data
 * usually lives in PostgreSQL even when its jobs go to Redis, RabbitMQ or SQS: that database
 * carries the jobs until they are safely handed over.
 *
 * Like the adapter contract: construction opens no connection, every method may be called
 * concurrently, and errors are `TaskportError`s whose messages start with the outbox's name and
 * never contain a password.
 *
 * Rows belong to a *target*: the backend they are for (its name, `default` unless configured
 * otherwise). A relay moves only its own target's rows, so backends on different engines can share
 * one outbox table without a job reaching the wrong engine.
 */
import type { CheckProblem, NewJob } from "../contract.ts";

/** A batch of committed rows one relay holds; no other relay sees them until it ends. */
export interface OutboxClaim {
  /** The claimed jobs, oldest first, exactly as they were inserted (same ids, same options). */
  readonly jobs: readonly NewJob[];
  /**
   * End the claim: delete the rows of `handedIds` (the engine holds those jobs) and release the
   * others, to be claimed again. Durable before it resolves. If it fails, or the relay dies before
   * it, every row of the claim is released and will be handed over again: the at-least-once window
   * that engines which deduplicate by job id close.
   */
  finish(handedIds: readonly string[]): Promise<void>;
}

export interface Outbox {
  /** Short name used in messages: `postgres-outbox`. */
  readonly name: string;

  /**
   * Write a batch of jobs into the caller's transaction (the `transaction` given to `enqueue`: a
   * `pg` client inside `BEGIN`, a Kysely, Knex or Drizzle transaction — see `toSqlExecutor`), in
   * one statement where possible. Must run on the transaction's own connection and never commit or
   * roll it back: the rows appear to relays only if the caller commits, and never if it rolls back.
   * Wakes the target's relays at commit (not before), where the database can.
   */
  insert(jobs: readonly NewJob[], target: string, transaction: unknown): Promise<void>;

  /**
   * Claim up to `limit` committed rows of `target`, oldest first, that no other claim holds
   * (`FOR UPDATE SKIP LOCKED`): several relays at once each get their own rows. `null` when there
   * are none. A claim whose relay dies (its connection drops) releases its rows by itself.
   */
  claim(target: string, limit: number): Promise<OutboxClaim | null>;

  /** A committed job still waiting in the outbox, or `null`: lets `refresh()` say "queued" before the hand-over. */
  get(id: string, target: string): Promise<NewJob | null>;

  /**
   * Call `wake` soon after rows of `target` are committed (LISTEN/NOTIFY), and once more after the
   * listening connection was lost and came back, since notifications sent meanwhile are gone; report
   * such a loss to `onError` and reconnect, never stop silently. Resolves once listening; the
   * returned function stops it. Where the database cannot notify, resolve without ever calling
   * `wake`: the relay polls as well.
   */
  listen(target: string, wake: () => void, onError: (error: Error) => void): Promise<() => Promise<void>>;

  /** Configuration and reachability problems; an empty list means all is well. */
  check(): Promise<CheckProblem[]>;

  /** Release every connection. Idempotent. Claims must have been finished first. */
  close(): Promise<void>;
}

/** Builds an outbox from a parsed URL; the outbox packages export one as `createOutbox`. */
export type OutboxFactory = (url: URL) => Outbox | Promise<Outbox>;
