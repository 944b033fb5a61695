export {
  applicableBreakers,
  BREAKERS,
  type Breaker,
  type BreakerCheck,
  type BreakerCheckOptions,
  type BreakerRunOptions,
  checkBreakers,
  forward,
  runBreakers,
} from "./breakers/index.ts";
export { type RelayMode, type RelayTarget, TcpRelay, type Throttle } from "./faults/tcp-relay.ts";
export {
  type AdapterContext,
  type ConformanceHarness,
  type ConformanceOptions,
  GROUPS,
  type GroupName,
} from "./harness.ts";
export { runConformance } from "./run-conformance.ts";
export { runStoreConformance, type StoreConformanceOptions } from "./run-store-conformance.ts";
export type { ConformanceReport, GroupOutcome } from "./support/report.ts";
export { gate, Recorder, sleep, waitFor } from "./support/waiting.ts";
