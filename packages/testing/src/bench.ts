// Benchmarks print one line per figure: the figure, the baseline measured in the same run, the
// ratio, and the target when there is one. Benchmarks are not tests: nothing here asserts.

export interface BenchFigure {
  name: string;
  value: number;
  unit: string;
  baseline?: { name: string; value: number };
  /** minimum acceptable ratio to the baseline, or minimum absolute value */
  target?: { ratio?: number; min?: number };
  /** extra figures (p50, p99, …) */
  details?: Record<string, string>;
}

const fmt = (n: number) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2));

export function formatBench(figure: BenchFigure): string {
  const parts = [`${figure.name}: ${fmt(figure.value)} ${figure.unit}`];
  if (figure.baseline) {
    const ratio = figure.value / figure.baseline.value;
    parts.push(`baseline ${figure.baseline.name}: ${fmt(figure.baseline.value)} ${figure.unit}`);
    parts.push(`ratio ${ratio.toFixed(2)}`);
    if (figure.target?.ratio !== undefined) parts.push(`target ≥ ${figure.target.ratio} ${ratio >= figure.target.ratio ? 'met' : 'MISSED'}`);
  }
  if (figure.target?.min !== undefined) parts.push(`target ≥ ${fmt(figure.target.min)} ${figure.value >= figure.target.min ? 'met' : 'MISSED'}`);
  for (const [key, value] of Object.entries(figure.details ?? {})) parts.push(`${key} ${value}`);
  return parts.join(' | ');
}

export function printBench(figure: BenchFigure): void {
  process.stdout.write(`BENCH ${formatBench(figure)}\n`);
}

/** Wall-clock seconds of `run`. */
export async function seconds(run: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
