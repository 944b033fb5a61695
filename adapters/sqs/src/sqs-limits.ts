/** The adapter's name in error messages. */
export const ORIGIN = "sqs";

/** SQS's ceiling on `DelaySeconds`: 15 minutes. */
export const MAX_DELAY_MS = 900_000;
/** SQS's ceiling on a message's visibility, counted from when it was received: 12 hours. */
export const MAX_VISIBILITY_SECONDS = 43_200;
/** Kept free below the visibility ceiling, so that a change made late in a hold still fits. */
export const VISIBILITY_MARGIN_SECONDS = 60;
/** SQS's largest message, body and attributes together: 256 KiB. */
export const MAX_MESSAGE_BYTES = 262_144;
/** How long a FIFO queue drops a repeated MessageDeduplicationId: 5 minutes. */
export const FIFO_DEDUPLICATION_WINDOW_MS = 300_000;
/** SQS takes at most 10 messages per batch call. */
export const MAX_BATCH_COUNT = 10;
