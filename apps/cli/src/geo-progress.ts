import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { Sql } from '@meridian/db';
import { typeStatuses, type ReplicatorDefinition, type TypeStatus } from '@meridian/geo';

export interface WatchOptions {
  replicators: readonly ReplicatorDefinition[];
  main: Sql;
  tracking: Sql;
  /** stop (resolve false) after this long */
  timeoutMs: number;
  intervalMs?: number;
  /** progress bars on a terminal; one line per change otherwise */
  tty: boolean;
  /** where the bars go (default stdout; its `columns` sets the width) */
  stream?: NodeJS.WriteStream;
  write: (text: string) => void;
  /** stop early (resolve false) when this returns true */
  cancelled?: () => boolean;
}

/** Converged: every type has rows and every row on the primary is synced on this secondary. */
export function converged(statuses: readonly TypeStatus[]): boolean {
  return statuses.every((s) => s.count > 0 && s.synced >= s.count && s.registryCount === s.count);
}

export interface ProgressFigures {
  title: string;
  value: number;
  total: number;
  pending: number;
  failed: number;
}

const BAR_MAX = 40;
const BAR_MIN = 5;
const TITLE_MAX = 22;

/**
 * One progress line that fits `width` columns (one column spare, so the terminal never wraps):
 * the counts always show; the bar shrinks first, then the title.
 */
export function progressLine(f: ProgressFigures, width: number): string {
  const counts = `${f.value}/${f.total} synced  ${f.pending} pending  ${f.failed} failed`;
  const room = Math.max(0, width - 1);
  let title = f.title.length > TITLE_MAX ? `${f.title.slice(0, TITLE_MAX - 1)}…` : f.title.padEnd(TITLE_MAX);
  const barFor = (t: string) => room - (1 + t.length + 3 + 1 + counts.length); // " t |bar| counts"
  while (barFor(title) < BAR_MIN && title.trimEnd().length > 4) {
    const trimmed = title.trimEnd();
    title = trimmed.length < title.length ? trimmed : `${trimmed.slice(0, -2)}…`;
  }
  const size = Math.min(BAR_MAX, barFor(title));
  if (size < BAR_MIN) return ` ${title.trimEnd()} ${counts}`.slice(0, room);
  const done = f.total > 0 ? Math.round((Math.min(f.value, f.total) / f.total) * size) : 0;
  return ` ${title} |${'█'.repeat(done)}${'░'.repeat(size - done)}| ${counts}`;
}

const line = (s: TypeStatus) =>
  `${s.title}: ${s.synced}/${s.count} synced (${s.count ? Math.floor((s.synced / s.count) * 100) : 0} %), ${s.pending} pending, ${s.started} running, ${s.failed} failed`;

/** Shows per-type progress until every type is 100 % synced; resolves true when it got there. */
export async function watchGeoProgress(options: WatchOptions): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  const bars = options.tty
    ? new MultiBar(
        {
          // fitted to the terminal on every render (cli-progress would cut the line, hiding the counts)
          format: (_options, params, payload: { title: string; pending: number; failed: number; synced: number; count: number }) =>
            progressLine({ title: payload.title, value: payload.synced, total: payload.count, pending: payload.pending, failed: payload.failed }, params.maxWidth),
          hideCursor: true,
          clearOnComplete: false,
          ...(options.stream ? { stream: options.stream } : {}),
        },
        Presets.shades_classic,
      )
    : undefined;
  const byType = new Map<string, SingleBar>();
  let last = '';
  try {
    for (;;) {
      const statuses = await typeStatuses(options.replicators, options.main, options.tracking);
      if (bars) {
        for (const s of statuses) {
          const payload = { title: s.title, pending: s.pending, failed: s.failed, synced: s.synced, count: s.count };
          let bar = byType.get(s.name);
          if (!bar) {
            bar = bars.create(Math.max(s.count, 1), s.synced, payload);
            byType.set(s.name, bar);
          }
          bar.setTotal(Math.max(s.count, 1));
          bar.update(Math.min(s.synced, s.count), payload);
        }
      } else {
        const text = statuses.map(line).join('; ');
        if (text !== last) options.write(`${text}\n`);
        last = text;
      }
      if (converged(statuses)) return true;
      if (Date.now() > deadline || options.cancelled?.()) return false;
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
    }
  } finally {
    bars?.stop();
  }
}
