import type { JobInfo } from "@taskport/core";

/**
 * Shows a job's state while `--wait` polls it. On a terminal, one line redrawn in place with a bar
 * for numeric progress; elsewhere (a pipe, a CI log), a new line only when something changed.
 */
export class ProgressDisplay {
  readonly #stream: NodeJS.WriteStream;
  readonly #live: boolean;
  #last = "";

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
    this.#live = stream.isTTY === true;
  }

  update(info: JobInfo): void {
    const text = describe(info);
    if (text === this.#last) return;
    this.#last = text;
    if (this.#live) this.#stream.write(`\r\x1b[2K${text}`);
    else this.#stream.write(`${text}\n`);
  }

  /** Leave the last line in place and move to a fresh one. */
  done(): void {
    if (this.#live && this.#last) this.#stream.write("\n");
  }
}

export function describe(info: JobInfo): string {
  const attempt = `attempt ${info.attempt}/${info.maxAttempts}`;
  const progress = info.progress === undefined ? "" : ` ${formatProgress(info.progress)}`;
  return `${info.name} ${info.id}: ${info.status} (${attempt})${progress}`;
}

/** A number is a percentage (0–100) and gets a bar; anything else is shown as JSON. */
export function formatProgress(value: unknown): string {
  if (typeof value === "number" && Number.isFinite(value)) {
    const percent = Math.max(0, Math.min(100, value));
    const filled = Math.round(percent / 5);
    return `[${"#".repeat(filled)}${"-".repeat(20 - filled)}] ${Math.round(percent)}%`;
  }
  return JSON.stringify(value);
}
