/** Where the CLI writes: human lines, or one JSON object per line with --json. */
export class Output {
  readonly json: boolean;

  constructor(json: boolean) {
    this.json = json;
  }

  /** A result or event on stdout. */
  info(event: Record<string, unknown>, human: string): void {
    process.stdout.write(`${this.json ? JSON.stringify({ time: new Date().toISOString(), ...event }) : human}\n`);
  }

  /** A problem on stderr, in the same form. */
  problem(event: Record<string, unknown>, human: string): void {
    process.stderr.write(`${this.json ? JSON.stringify({ time: new Date().toISOString(), ...event }) : human}\n`);
  }
}

/** `HH:MM:SS.mmm`, for log lines a human reads. */
export function clock(date = new Date()): string {
  return date.toISOString().slice(11, 23);
}

/** Exit once stdout and stderr have been flushed (a pipe may still hold lines). */
export async function exitAfterFlush(code: number): Promise<never> {
  await Promise.all([flush(process.stdout), flush(process.stderr)]);
  process.exit(code);
}

function flush(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0) resolve();
    else stream.write("", () => resolve());
  });
}
