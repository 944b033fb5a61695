import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { JobInfo, SerializedError } from "@taskport/core";
import { ATTRIBUTE, messageBytes, parseBody, readFacts, resendAttributes } from "./message-format.ts";

/** How long a peek holds dead letters before putting them back, in seconds. */
const PEEK_HOLD_SECONDS = 30;

/** The attributes of a dead letter: the job's, plus its last error, attempt and time of failure. */
export function deadLetterAttributes(
  attributes: Record<string, MessageAttributeValue> | undefined,
  body: string,
  error: SerializedError,
  attempt: number,
  maxMessageBytes: number,
): Record<string, MessageAttributeValue> {
  const out = resendAttributes(attributes, 0, undefined);
  out[ATTRIBUTE.attempt] = { DataType: "Number", StringValue: String(attempt) };
  out[ATTRIBUTE.failedAt] = { DataType: "Number", StringValue: String(Date.now()) };
  // The error must fit beside the payload: drop the stack, then cut the message, rather than lose the letter.
  const room = maxMessageBytes - messageBytes(body, out) - ATTRIBUTE.error.length - "String".length;
  let json = JSON.stringify(error);
  if (Buffer.byteLength(json) > room) json = JSON.stringify({ name: error.name, message: error.message });
  if (Buffer.byteLength(json) > room)
    json = JSON.stringify({ name: error.name, message: error.message.slice(0, Math.max(0, room / 4 - 64)) });
  out[ATTRIBUTE.error] = { DataType: "String", StringValue: json };
  return out;
}

/** A dead letter's FIFO message group: its own. Letters need no order among themselves. */
export function deadLetterGroupId(jobId: string): string {
  return `dead-${jobId}`.slice(0, 128);
}

function toJobInfo(message: Message, queue: string): JobInfo {
  const facts = readFacts(message.MessageAttributes, message.MessageId ?? "");
  const get = (name: string) => message.MessageAttributes?.[name]?.StringValue;
  let error: SerializedError | undefined;
  try {
    const raw = get(ATTRIBUTE.error);
    if (raw !== undefined) error = JSON.parse(raw) as SerializedError;
  } catch {
    error = { name: "Error", message: get(ATTRIBUTE.error) ?? "" };
  }
  const failedAt = Number(get(ATTRIBUTE.failedAt));
  return {
    id: facts.id,
    name: facts.name,
    queue,
    status: "failed",
    payload: parseBody(message.Body),
    attempt: Number(get(ATTRIBUTE.attempt) ?? facts.maxAttempts),
    maxAttempts: facts.maxAttempts,
    ...(error ? { error } : {}),
    ...(facts.enqueuedAt !== undefined ? { enqueuedAt: facts.enqueuedAt } : {}),
    ...(Number.isFinite(failedAt) ? { finishedAt: failedAt } : {}),
  };
}

/**
 * Peek at up to `limit` dead letters, newest first. SQS has no browse call: the letters are
 * received (hidden for a moment so that pages do not repeat), then made visible again at once.
 * Each peek counts as a receive of those messages.
 */
export async function peekDeadLetters(client: SQSClient, url: string, queue: string, limit: number): Promise<JobInfo[]> {
  const seen = new Map<string, Message>();
  while (seen.size < limit) {
    const out = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: Math.min(10, limit - seen.size),
        VisibilityTimeout: PEEK_HOLD_SECONDS,
        WaitTimeSeconds: seen.size === 0 ? 1 : 0,
        MessageAttributeNames: ["All"],
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    for (const message of messages) seen.set(message.MessageId ?? String(seen.size), message);
  }
  const held = [...seen.values()];
  for (let i = 0; i < held.length; i += 10) {
    const chunk = held.slice(i, i + 10);
    await client.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: url,
        Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
      }),
    );
  }
  return held
    .map((message) => toJobInfo(message, queue))
    .sort((a, b) => (b.finishedAt ?? 0) - (a.finishedAt ?? 0))
    .slice(0, limit);
}

/** How long a redrive holds the dead letters it receives, in seconds: long enough to send and delete them. */
const REDRIVE_HOLD_SECONDS = 60;

/** What a redrive sends: the dead letter as a fresh job of the source queue. */
export interface RedriveMessage {
  readonly id: string;
  readonly body: string;
  readonly attributes: Record<string, MessageAttributeValue>;
  /** The dead letter's SQS message id: one redrive of one letter, for a FIFO deduplication id. */
  readonly letterId: string;
}

/**
 * Send dead letters of `url` back (those with `ids`, or all), each through `send`, and delete each
 * from the dead letters only once `send` resolved: a crash between the two leaves the job both
 * queued and dead (it runs, and a second redrive would run it again), never lost. Letters not
 * asked for are made visible again at the end. Resolves to how many were sent.
 */
export async function redriveDeadLetters(
  client: SQSClient,
  url: string,
  ids: readonly string[] | undefined,
  send: (messages: RedriveMessage[]) => Promise<void>,
): Promise<number> {
  const wanted = ids ? new Set(ids) : undefined;
  // Letters that arrive during the redrive (a redriven job that failed again) are not redriven by it.
  const startedAt = Date.now();
  const skipped: Message[] = [];
  let sent = 0;
  try {
    while (wanted === undefined || wanted.size > 0) {
      const out = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: REDRIVE_HOLD_SECONDS,
          WaitTimeSeconds: sent === 0 && skipped.length === 0 ? 1 : 0,
          MessageAttributeNames: ["All"],
          MessageSystemAttributeNames: ["SentTimestamp"],
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) break;
      const chosen: Message[] = [];
      for (const message of messages) {
        const id = readFacts(message.MessageAttributes, message.MessageId ?? "").id;
        const late = Number(message.Attributes?.SentTimestamp) > startedAt;
        if (!late && (wanted === undefined || wanted.has(id))) {
          wanted?.delete(id);
          chosen.push(message);
        } else {
          skipped.push(message);
        }
      }
      if (chosen.length === 0) continue;
      await send(
        chosen.map((message) => ({
          id: readFacts(message.MessageAttributes, message.MessageId ?? "").id,
          body: message.Body ?? "null",
          attributes: freshAttributes(message.MessageAttributes),
          letterId: message.MessageId ?? "",
        })),
      );
      await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: url,
          Entries: chosen.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle })),
        }),
      );
      sent += chosen.length;
    }
  } finally {
    for (let i = 0; i < skipped.length; i += 10) {
      const chunk = skipped.slice(i, i + 10);
      await client
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: url,
            Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 })),
          }),
        )
        // Left hidden, a letter shows again after REDRIVE_HOLD_SECONDS anyway.
        .catch(() => undefined);
    }
  }
  return sent;
}

/**
 * Delete dead letters of `url` for good (those with `ids`, or all): received and deleted as a
 * redrive does, sent nowhere. Letters not asked for are made visible again at the end. Resolves
 * to how many were deleted.
 */
export function discardDeadLetters(client: SQSClient, url: string, ids: readonly string[] | undefined): Promise<number> {
  return redriveDeadLetters(client, url, ids, async () => {});
}

/** A dead letter's attributes as a fresh job's: no error, attempt or failure time; attempts start over. */
function freshAttributes(attributes: Record<string, MessageAttributeValue> | undefined): Record<string, MessageAttributeValue> {
  const out = resendAttributes(attributes, 0, undefined);
  delete out[ATTRIBUTE.error];
  delete out[ATTRIBUTE.attempt];
  delete out[ATTRIBUTE.failedAt];
  return out;
}
