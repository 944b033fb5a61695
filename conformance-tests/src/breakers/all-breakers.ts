import type { Breaker } from "./breaker.ts";
import { DELIVERY_BREAKERS } from "./delivery-breakers.ts";
import { LIFECYCLE_BREAKERS } from "./lifecycle-breakers.ts";

/** Every breaker: one per obligation of the contract the suite claims to check. */
export const BREAKERS: readonly Breaker[] = [...DELIVERY_BREAKERS, ...LIFECYCLE_BREAKERS];
