import { runConformance } from "@taskport/conformance";
import { type Adapter, withOutbox } from "@taskport/core";
import { PostgresOutbox } from "../src/index.ts";
import { createAdapter, engineAdapter, type PairEngine } from "./pairs.ts";
import { deleteRowsOf, inTransaction, TEST_SCHEMA } from "./support.ts";

export interface PairRun {
  readonly engine: PairEngine;
  /** The engine pointed at a port where nothing answers. */
  readonly unreachableEngine: () => Adapter;
  /** Remove the engine's queues of a passed test. */
  readonly cleanupEngine: (testId: string, queues: readonly string[]) => Promise<void>;
  readonly sqsEndpoint?: string;
}

/** Run the whole conformance suite for `engine` with the PostgreSQL outbox, reported as `<engine>+outbox`. */
export async function runPairConformance(run: PairRun): Promise<void> {
  const args: [string, string?] = run.sqsEndpoint ? [run.engine, run.sqsEndpoint] : [run.engine];
  await runConformance({
    name: `${run.engine}+outbox`,
    createAdapter: (context) => createAdapter(context, ...args),
    // The engine's own run pins what it declares; the pair declares exactly that plus transactions.
    capabilities: { ...engineAdapter(run.engine, "probe", run.sqsEndpoint).capabilities, transactions: true },
    harness: {
      // The app's own transaction: a pg client inside BEGIN on the outbox's database.
      transaction: (_adapter, outcome, work) => inTransaction(outcome, work),
      relayChild: { module: new URL("./pairs.ts", import.meta.url).href, args: args.filter((arg) => arg !== undefined) },
      unreachableAdapter: () =>
        withOutbox(
          run.unreachableEngine(),
          new PostgresOutbox({ connectionString: "postgres://postgres@127.0.0.1:1/test", schema: TEST_SCHEMA }),
        ),
      async cleanup(testId, queues) {
        await run.cleanupEngine(testId, queues);
        await deleteRowsOf(testId);
      },
    },
    optOut: {
      serviceRestart: "covered by the engine's own run; the relay's restarts by outbox/postgres/test/relay-restarts.test.ts",
      networkFaults:
        "the engine's connections are faulted by its own run; the relay's cut connections by outbox/postgres/test/relay-restarts.test.ts",
      blackHole:
        "the engine's connections are faulted by its own run; the relay's cut connections by outbox/postgres/test/relay-restarts.test.ts",
    },
  });
}
