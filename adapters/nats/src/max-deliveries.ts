import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { deadLetterHeaders } from "./message-format.ts";
import type { QueueNames } from "./names.ts";
import { ORIGIN } from "./nats-errors.ts";

/**
 * `maxDeliver` is kept by the workers, not by the work consumer's `max_deliver`: a consumer at its
 * `max_deliver` stops delivering the job and leaves it in the work stream, saying so only in an
 * advisory, which is not stored. One sent while no worker listened (none running when the lease
 * ran out, or one starting or reconnecting) left the job there for good, neither run nor dead. The
 * consumer delivers without limit instead, and the worker that gets a job past its deliveries moves
 * it to the dead letters without running it: a confirmed copy (its message id the job's sequence,
 * so a worker dying before the ack hands it over once, whichever worker gets it next), then the ack.
 * Until a worker takes it, the job waits in the stream like any other.
 */
export async function deadLetterMaxDelivered(js: JetStreamClient, names: QueueNames, msg: JsMsg, maxDeliver: number): Promise<void> {
  const error = {
    name: "MaxDeliveriesError",
    message: `[taskport] [${ORIGIN}] JetStream delivered this job ${maxDeliver} times (the adapter's maxDeliver) without it being settled for good, and it runs no more. Find what stops it (a worker crashing on it, retries past maxDeliver), then redrive it from the dead letters.`,
  };
  await js.publish(names.deadSubject, msg.data, {
    headers: deadLetterHeaders(msg.headers, error, maxDeliver),
    msgID: `${msg.seq}:max-deliveries`,
  });
  msg.ack();
}
