/** Where commands write; tests pass buffers, main passes the process streams. */
export interface CliIo {
  env: Record<string, string | undefined>;
  out(text: string): void;
  err(text: string): void;
  /** progress bars only on a terminal */
  isTty: boolean;
  /** terminal width for progress lines (undefined: not a terminal) */
  columns?: number | undefined;
  /** a command that printed its answer but must still fail (e.g. `db status` with a missing database) sets this */
  exitCode?: number;
  /**
   * Long work calls this after each step it completes (a batch verified, a window page read): the
   * command's no-progress deadline (three times CLI_TIMEOUT_MS) starts again. runCli provides it.
   */
  progress?: () => void;
}

export const processIo: CliIo = {
  env: process.env,
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  isTty: Boolean(process.stdout.isTTY),
  get columns() {
    return process.stdout.columns;
  },
};

/** Prints `rows` as aligned columns, or JSON when asked. */
export function printTable(io: CliIo, rows: Array<Record<string, unknown>>, json: boolean): void {
  if (json) {
    io.out(`${JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v), 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    io.out('(none)\n');
    return;
  }
  const columns = Object.keys(rows[0] ?? {});
  const cell = (v: unknown) => (v instanceof Date ? v.toISOString() : v === undefined || v === null ? '-' : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  io.out(`${line(columns)}\n`);
  for (const row of rows) io.out(`${line(columns.map((c) => cell(row[c])))}\n`);
}

/** Bad input found while running a command (not by commander's parser): exit 2 with the message. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
