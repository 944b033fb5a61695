/** Print rows as aligned columns under their titles; a missing value shows as "-". */
export function printTable<K extends string>(
  titles: Readonly<Record<K, string>>,
  rows: readonly Partial<Record<K, string | number | null>>[],
): void {
  const columns = Object.keys(titles) as K[];
  const text = (row: Partial<Record<K, string | number | null>>, column: K) => String(row[column] ?? "-");
  const widths = columns.map((c) => Math.max(titles[c].length, ...rows.map((row) => text(row, c).length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => cell.padEnd(widths[i] as number))
      .join("  ")
      .trimEnd();
  process.stdout.write(`${line(columns.map((c) => titles[c]))}\n`);
  for (const row of rows) process.stdout.write(`${line(columns.map((c) => text(row, c)))}\n`);
}
