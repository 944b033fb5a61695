/**
 * Draw the README's benchmark chart (docs/bench-ratios.svg) from a results file written by
 * `npm run bench -- --all --json <file>`: for each engine, taskport's throughput ÷ the engine's own
 * library in every throughput scenario, with the 0.95 line marked. The SVG names the results file it
 * was drawn from; `--check` redraws it from that file and reports whether the committed SVG is
 * current (CI runs it, as it does the compatibility matrix's).
 *
 *   npm run bench:chart -- [<results file>] [--check]     (default bench/results/latest.json)
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { ResultsFile } from "../bench/src/results-file.ts";

const SVG = "docs/bench-ratios.svg";
const DEFAULT_RESULTS = "bench/results/latest.json";
/**
 * The engines whose `raw` arm is the engine's own library (or, for SQLite, its nearest peer), in
 * the README's order. The outbox and the job stores compare taskport with itself: not charted.
 */
const CHARTED: [string, string][] = [
  ["memory", "memory engine vs fastq"],
  ["bullmq", "BullMQ vs plain BullMQ"],
  ["bullmq-postgres", "BullMQ on PostgreSQL vs plain BullMQ on it"],
  ["bee-queue", "bee-queue vs plain bee-queue"],
  ["pg-boss", "pg-boss vs plain pg-boss"],
  ["rabbitmq", "RabbitMQ vs plain amqplib"],
  ["sqs", "SQS vs the plain AWS SDK (on fauxqs)"],
  ["sqlite", "SQLite vs plainjob and Sidequest"],
  ["nats", "NATS JetStream vs plain @nats-io/jetstream"],
];
const TARGET = 0.95;
/** The axis ends at 2×: a longer bar is cut there, with its figure printed beside it. */
const AXIS_MAX = 2;

const { values: flags, positionals } = parseArgs({ allowPositionals: true, options: { check: { type: "boolean" } } });

if (flags.check) {
  const committed = readFileSync(SVG, "utf8");
  const named = /drawn by npm run bench:chart from (\S+) /.exec(committed)?.[1];
  if (!named) {
    console.error(`${SVG} does not name its results file: run npm run bench:chart`);
    process.exit(1);
  }
  if (draw(named) !== committed) {
    console.error(`${SVG} is out of date with ${named}: run npm run bench:chart -- ${named}`);
    process.exit(1);
  }
  console.log(`${SVG} is up to date with ${named}`);
} else {
  const file = positionals[0] ?? DEFAULT_RESULTS;
  writeFileSync(SVG, draw(file));
  console.log(`${SVG} drawn from ${file}`);
}

interface Row {
  readonly label: string;
  readonly ratio: number;
}

function draw(file: string): string {
  const results = JSON.parse(readFileSync(file, "utf8")) as ResultsFile;
  const groups = CHARTED.flatMap(([engine, name]) => {
    const measured = results.engines.find((e) => e.engine === engine);
    const rows: Row[] = (measured?.scenarios ?? [])
      .filter((s) => s.unit === "jobs/s" && s.ratio !== undefined)
      .map((s) => ({ label: s.name, ratio: s.ratio as number }));
    // Engines of one file may have been measured at different times: each says when, and how loaded.
    const heading = `${name}  (${measured?.date.slice(0, 16).replace("T", " ")} UTC, load average ${measured?.loadAtEnd})`;
    return rows.length ? [{ heading, rows }] : [];
  });

  const font = 12;
  const charWidth = font * 0.6; // monospace: widths known without a browser to measure them
  const rowHeight = 20;
  const headingHeight = 26;
  const margin = 16;
  const labelWidth = Math.ceil(Math.max(...groups.flatMap((g) => g.rows.map((r) => r.label.length))) * charWidth) + 12;
  const plotWidth = 360;
  const valueWidth = 80;
  const width = margin * 2 + labelWidth + plotWidth + valueWidth;
  const plotX = margin + labelWidth;
  const x = (ratio: number) => plotX + (Math.min(ratio, AXIS_MAX) / AXIS_MAX) * plotWidth;

  const m = results.machine;
  const header = [
    `taskport ÷ the engine's own library, throughput (higher is better; ${TARGET} marked)`,
    `median of ${results.rounds} rounds per arm, arms alternated · ${m.cpus} × ${m.cpuModel}, shared with other test runs: noisy figures`,
  ];
  const body: string[] = [
    `<text class="title" x="${margin}" y="${margin + 16}">${xml(header[0] as string)}</text>`,
    `<text class="note" x="${margin}" y="${margin + 34}">${xml(header[1] as string)}</text>`,
  ];
  let y = margin + 48;
  const plotTop = y;
  for (const group of groups) {
    y += headingHeight;
    body.push(`<text class="heading" x="${margin}" y="${y - 8}">${xml(group.heading)}</text>`);
    for (const row of group.rows) {
      const barY = y + 3;
      const cut = row.ratio > AXIS_MAX;
      body.push(
        `<text class="label" x="${plotX - 8}" y="${y + 14}" text-anchor="end">${xml(row.label)}</text>`,
        `<rect class="${row.ratio >= TARGET ? "good" : "short"}" x="${plotX}" y="${barY}" width="${(x(row.ratio) - plotX).toFixed(1)}" height="${rowHeight - 6}"/>`,
        `<text class="value" x="${x(row.ratio) + 6}" y="${y + 14}">${cut ? "▸ " : ""}${ratioText(row.ratio)}</text>`,
      );
      y += rowHeight;
    }
  }
  const plotBottom = y + 4;
  const axis: string[] = [];
  for (let tick = 0; tick <= AXIS_MAX; tick += 0.5) {
    axis.push(
      `<line class="grid" x1="${x(tick)}" y1="${plotTop}" x2="${x(tick)}" y2="${plotBottom}"/>`,
      `<text class="tick" x="${x(tick)}" y="${plotBottom + 14}" text-anchor="middle">${tick}×</text>`,
    );
  }
  axis.push(
    `<line class="target" x1="${x(TARGET)}" y1="${plotTop}" x2="${x(TARGET)}" y2="${plotBottom}"/>`,
    `<text class="target-label" x="${x(TARGET) - 4}" y="${plotTop + 10}" text-anchor="end">${TARGET}</text>`,
  );
  const height = plotBottom + 24 + margin;

  return `${[
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${xml(header[0] as string)}">`,
    `<!-- drawn by npm run bench:chart from ${file} -->`,
    "<style>",
    // Its own background, switched together with the text: readable whatever the page's theme.
    "  .bg { fill: #ffffff; } text { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; fill: #1f2328; }",
    `  .title { font-size: 14px; font-weight: bold; } .note, .tick { font-size: 11px; fill: #59636e; } .heading { font-size: ${font}px; font-weight: bold; }`,
    `  .label, .value { font-size: ${font}px; } .grid { stroke: #d1d9e0; } .target { stroke: #bc4c00; stroke-width: 2; stroke-dasharray: 4 3; }`,
    "  .target-label { font-size: 11px; fill: #bc4c00; } .good { fill: #1f883d; } .short { fill: #cf222e; }",
    "  @media (prefers-color-scheme: dark) {",
    "    .bg { fill: #0d1117; } text { fill: #f0f6fc; } .note, .tick { fill: #9198a1; } .grid { stroke: #3d444d; }",
    "    .target { stroke: #f0883e; } .target-label { fill: #f0883e; } .good { fill: #3fb950; } .short { fill: #f85149; }",
    "  }",
    "</style>",
    `<rect class="bg" width="${width}" height="${height}" rx="6"/>`,
    ...axis,
    ...body,
    "</svg>",
  ].join("\n")}\n`;
}

function ratioText(ratio: number): string {
  return ratio >= 100 ? `${Math.round(ratio).toLocaleString("en-US")}×` : `${ratio.toFixed(2)}×`;
}

function xml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
