import { randomUUID } from "node:crypto";

/** A new job id: a random UUID, which every engine accepts as an id or carries in the message. */
export function newJobId(): string {
  return randomUUID();
}
