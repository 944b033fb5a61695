import type { Subscription } from "@nats-io/transport-node";
import type { NatsConnectionHolder } from "./connection.ts";
import { deadLetterHeaders } from "./message-format.ts";
import { type QueueNames, WORK_CONSUMER } from "./names.ts";
import { ORIGIN } from "./nats-errors.ts";

/** JetStream's advisory when a consumer gives up on a message at its `max_deliver`. */
export function maxDeliveriesSubject(stream: string): string {
  return `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.${WORK_CONSUMER}`;
}

/**
 * With `maxDeliver` set, JetStream stops delivering a job at its last delivery and leaves it in the
 * stream, where no worker would see it again: it only publishes an advisory. Workers listen for it
 * (in one queue group, so one of them acts) and move the job to the dead letters: a confirmed copy
 * first, then the message is deleted from the work stream. Advisories are not stored: one sent while
 * no worker of the queue runs is missed, and that job stays in the stream until redriven by hand.
 */
export async function moveMaxDelivered(
  connection: NatsConnectionHolder,
  names: QueueNames,
  report: (error: unknown, action: string) => void,
): Promise<Subscription> {
  const { nc } = await connection.handles();
  return nc.subscribe(maxDeliveriesSubject(names.stream), {
    queue: "taskport",
    callback: (error, msg) => {
      if (error) return report(error, "listening for max-deliveries advisories");
      let advisory: { stream_seq?: number; deliveries?: number };
      try {
        advisory = msg.json();
      } catch (parseError) {
        return report(parseError, "reading a max-deliveries advisory");
      }
      const seq = advisory.stream_seq;
      if (typeof seq !== "number") return;
      void moveOne(connection, names, seq, advisory.deliveries ?? 0).catch((moveError: unknown) =>
        report(moveError, `moving the message ${seq} of stream "${names.stream}" to the dead letters`),
      );
    },
  });
}

async function moveOne(connection: NatsConnectionHolder, names: QueueNames, seq: number, deliveries: number): Promise<void> {
  const { js, jsm } = await connection.handles();
  const held = await jsm.streams.getMessage(names.stream, { seq }).catch(() => null);
  if (!held) return; // settled meanwhile, or moved by another worker
  const error = {
    name: "MaxDeliveriesError",
    message: `[taskport] [${ORIGIN}] JetStream delivered this job ${deliveries} times (the work consumer's max_deliver) without it being settled for good, and delivers it no more. Find what stops it (a worker crashing on it, retries past max_deliver), then redrive it from the dead letters.`,
  };
  await js.publish(names.deadSubject, held.data, {
    headers: deadLetterHeaders(held.header, error, deliveries),
    msgID: `${seq}:max-deliveries`,
  });
  await jsm.streams.deleteMessage(names.stream, seq, false);
}
