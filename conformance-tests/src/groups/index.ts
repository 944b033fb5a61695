import type { SuiteContext } from "../run-conformance.ts";
import { registerBasics } from "./basics.ts";
import { registerConnection } from "./connection.ts";
import { registerFailures } from "./failures.ts";
import { registerHeaders } from "./headers.ts";
import { registerNetworkFaults } from "./network-faults.ts";
import { registerOperations } from "./operations.ts";
import { registerRetention } from "./retention.ts";
import { registerSchedules } from "./schedules.ts";
import { registerScheduling } from "./scheduling.ts";
import { registerState } from "./state.ts";
import { registerTransactions } from "./transactions.ts";
import { registerWorkers } from "./workers.ts";

export function registerGroups(s: SuiteContext): void {
  registerBasics(s);
  registerConnection(s);
  registerFailures(s);
  registerHeaders(s);
  registerRetention(s);
  registerOperations(s);
  registerScheduling(s);
  registerSchedules(s);
  registerState(s);
  registerTransactions(s);
  registerWorkers(s);
  registerNetworkFaults(s);
}
