/**
 * `--smoke`: every scenario once, with counts small enough that all of them run in a couple of
 * minutes. It proves the benchmarks still run (CI does it on every change, so they never rot); its
 * figures mean nothing. Each size is an environment variable the engine file reads at import; one
 * already set by the caller is kept.
 */
const SMOKE_SIZES: Record<string, string> = {
  BENCH_ROUNDS: "1",
  BENCH_WARMUP: "0",
  BENCH_JOBS: "2000",
  BENCH_DELAYED: "10000",
  BENCH_BULLMQ_SEQUENTIAL: "100",
  BENCH_BULLMQ_BULK: "1000",
  BENCH_BULLMQ_BACKLOG: "500",
  BENCH_BULLMQ_LATENCY: "10",
  BENCH_BULLMQ_PG_SEQUENTIAL: "50",
  BENCH_BULLMQ_PG_BULK: "1000",
  BENCH_BULLMQ_PG_BACKLOG: "500",
  BENCH_BULLMQ_PG_LATENCY: "10",
  BENCH_BQ_SEQUENTIAL: "100",
  BENCH_BQ_CONCURRENT: "200",
  BENCH_BQ_BULK: "1000",
  BENCH_BQ_BACKLOG: "500",
  BENCH_BQ_LATENCY: "10",
  BENCH_PG_SEQUENTIAL: "50",
  BENCH_PG_CONCURRENT: "200",
  BENCH_PG_BULK: "1000",
  BENCH_PG_BACKLOG: "500",
  BENCH_PG_DEFAULTS_BACKLOG: "2",
  BENCH_PG_LATENCY: "10",
  BENCH_PG_IDLE_MS: "500",
  BENCH_AMQP_SEQUENTIAL: "50",
  BENCH_AMQP_CONCURRENT: "200",
  BENCH_AMQP_BULK: "1000",
  BENCH_AMQP_BACKLOG: "500",
  BENCH_AMQP_LATENCY: "10",
  BENCH_NATS_SEQUENTIAL: "50",
  BENCH_NATS_CONCURRENT: "200",
  BENCH_NATS_BULK: "1000",
  BENCH_NATS_BACKLOG: "500",
  BENCH_NATS_LATENCY: "10",
  BENCH_SQS_SEQUENTIAL: "50",
  BENCH_SQS_CONCURRENT: "200",
  BENCH_SQS_BULK: "500",
  BENCH_SQS_BACKLOG: "500",
  BENCH_SQS_LATENCY: "10",
  BENCH_SQLITE_JOBS: "500",
  BENCH_SQLITE_SIDEQUEST_JOBS: "50",
  BENCH_SQLITE_BULK: "1000",
  BENCH_SQLITE_LATENCY: "5",
  BENCH_SQLITE_IDLE_MS: "500",
  BENCH_SQLITE_PROCESS_JOBS: "200",
  BENCH_OUTBOX_LATENCY: "5",
  BENCH_OUTBOX_BATCHES: "1",
  BENCH_STORE_LATENCY: "5",
  BENCH_STORE_AMQP_JOBS: "200",
  BENCH_STORE_SQS_JOBS: "200",
  BENCH_OTEL_JOBS: "200",
};

export function useSmokeSizes(): void {
  for (const [name, value] of Object.entries(SMOKE_SIZES)) process.env[name] ??= value;
}
