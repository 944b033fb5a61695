import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import type { JobInfo } from "@taskport/core";
import { copyHeaders, HEADER, parseData, readError, readFacts } from "./message-format.ts";
import type { QueueNames } from "./names.ts";

/** How long a read of the dead letters waits for the next one the stream said it has. */
const READ_EXPIRES_MS = 2_000;

/**
 * Every letter in a queue's dead-letter stream, oldest first, read by an ordered consumer (an
 * ephemeral one the server forgets): reading takes nothing away.
 */
export async function readLetters(js: JetStreamClient, jsm: JetStreamManager, names: QueueNames): Promise<JsMsg[]> {
  const info = await jsm.streams.info(names.deadStream);
  if (info.state.messages === 0) return [];
  const reader = await js.consumers.get(names.deadStream, { deliver_policy: DeliverPolicy.All });
  const letters: JsMsg[] = [];
  try {
    for (;;) {
      const msg = await reader.next({ expires: READ_EXPIRES_MS });
      if (msg === null) break;
      letters.push(msg);
      if (msg.info.pending === 0) break;
    }
  } finally {
    await reader.delete().catch(() => {});
  }
  return letters;
}

export function letterToJob(msg: JsMsg, queue: string): JobInfo {
  const facts = readFacts(msg.headers, String(msg.seq));
  const error = readError(msg.headers);
  const attempt = Number(msg.headers?.get(HEADER.attempt));
  const failedAt = Number(msg.headers?.get(HEADER.failedAt));
  return {
    id: facts.id,
    name: facts.name,
    queue,
    status: "failed",
    payload: parseData(msg.data),
    attempt: Number.isFinite(attempt) && attempt > 0 ? attempt : facts.maxAttempts,
    maxAttempts: facts.maxAttempts,
    ...(error ? { error } : {}),
    ...(facts.enqueuedAt !== undefined ? { enqueuedAt: facts.enqueuedAt } : {}),
    ...(Number.isFinite(failedAt) && failedAt > 0 ? { finishedAt: failedAt } : {}),
  };
}

/**
 * Send letters back to the queue as fresh jobs (deliveries, and so attempts, start over; due now),
 * each deleted from the dead letters only once JetStream confirmed its copy: a crash in between
 * leaves a job both queued and dead, never lost. The copy's message id is the letter's sequence,
 * so a redrive repeated after such a crash sends it once.
 */
export async function redriveLetters(
  js: JetStreamClient,
  jsm: JetStreamManager,
  names: QueueNames,
  ids: readonly string[] | undefined,
): Promise<number> {
  const letters = await chosenLetters(js, jsm, names, ids);
  await Promise.all(
    letters.map(async (msg) => {
      await js.publish(names.jobSubject, msg.data, {
        headers: copyHeaders(msg.headers, [HEADER.error, HEADER.attempt, HEADER.failedAt, HEADER.runAt]),
        msgID: `redrive:${names.deadStream}:${msg.seq}`,
      });
      await jsm.streams.deleteMessage(names.deadStream, msg.seq, false);
    }),
  );
  return letters.length;
}

/**
 * Delete letters from the dead-letter stream by sequence, publishing nothing: they never run
 * again, and with no job record on the server nothing else is left to forget. Resolves to how
 * many the stream deleted.
 */
export async function discardLetters(
  js: JetStreamClient,
  jsm: JetStreamManager,
  names: QueueNames,
  ids: readonly string[] | undefined,
): Promise<number> {
  const letters = await chosenLetters(js, jsm, names, ids);
  const deleted = await Promise.all(letters.map((msg) => jsm.streams.deleteMessage(names.deadStream, msg.seq, false)));
  return deleted.filter(Boolean).length;
}

/** The queue's letters whose job id is one of `ids`, or all of them. */
async function chosenLetters(js: JetStreamClient, jsm: JetStreamManager, names: QueueNames, ids: readonly string[] | undefined) {
  const wanted = ids ? new Set(ids) : undefined;
  return (await readLetters(js, jsm, names)).filter((msg) => wanted === undefined || wanted.has(readFacts(msg.headers, "").id));
}
