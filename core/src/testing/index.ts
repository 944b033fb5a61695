/** Test helpers: adapters for asserting on enqueued jobs without running an engine. */
export { ImmediateAdapter } from "./immediate-adapter.ts";
export { type RecordedJob, RecordingAdapter } from "./recording-adapter.ts";
