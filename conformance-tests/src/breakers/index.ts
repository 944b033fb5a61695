export { BREAKERS } from "./all-breakers.ts";
export { type Breaker, forward } from "./breaker.ts";
export { type BreakerCheck, type BreakerCheckOptions, checkBreakers } from "./check-breakers.ts";
export { applicableBreakers, type BreakerRunOptions, runBreakers } from "./run-breakers.ts";
