/**
 * JetStream names of a taskport queue. A queue is a stream of its own, so its jobs, delays and
 * duplicate window are apart from every other queue's, and deleting the stream removes all of it:
 *
 * - stream `TASKPORT_<q>` (work-queue retention: a message is gone once acked), subjects
 *   `taskport.<q>.job` (jobs due now) and `taskport.<q>.delayed` (jobs due later);
 * - durable pull consumers `work` (on `.job`) and `delayed` (on `.delayed`);
 * - stream `TASKPORT_<q>_DEAD` (limits retention, kept until deleted), subject `taskport.<q>.dead`.
 *
 * `<q>` is the queue name with every character outside `[A-Za-z0-9-]` written as `_xx` (its UTF-8
 * bytes in hex): stream names and subject tokens refuse `.`, `*`, `>`, spaces and path separators,
 * and the escape keeps two queue names from ever sharing a stream.
 */
export interface QueueNames {
  readonly stream: string;
  readonly deadStream: string;
  readonly jobSubject: string;
  readonly delayedSubject: string;
  readonly deadSubject: string;
}

export const WORK_CONSUMER = "work";
export const DELAYED_CONSUMER = "delayed";

export function queueToken(queue: string): string {
  let out = "";
  for (const byte of Buffer.from(queue, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9-]/.test(c) ? c : `_${byte.toString(16).padStart(2, "0")}`;
  }
  return out;
}

export function queueNames(queue: string, prefix = "taskport"): QueueNames {
  const token = queueToken(queue);
  const stream = `${prefix.toUpperCase()}_${token}`;
  return {
    stream,
    deadStream: `${stream}_DEAD`,
    jobSubject: `${prefix}.${token}.job`,
    delayedSubject: `${prefix}.${token}.delayed`,
    deadSubject: `${prefix}.${token}.dead`,
  };
}
