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
  write: (text: string) => void;
  /** stop early (resolve false) when this returns true */
  cancelled?: () => boolean;
}

/** Converged: every type has rows and every row on the primary is synced on this secondary. */
export function converged(statuses: readonly TypeStatus[]): boolean {
  return statuses.every((s) => s.count > 0 && s.synced >= s.count && s.registryCount === s.count);
}

const line = (s: TypeStatus) =>
  `${s.title}: ${s.synced}/${s.count} synced (${s.count ? Math.floor((s.synced / s.count) * 100) : 0} %), ${s.pending} pending, ${s.started} running, ${s.failed} failed`;

/** Shows per-type progress until every type is 100 % synced; resolves true when it got there. */
export async function watchGeoProgress(options: WatchOptions): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  const bars = options.tty
    ? new MultiBar({ format: ' {title} |{bar}| {value}/{total} synced  {pending} pending  {failed} failed', hideCursor: true, clearOnComplete: false }, Presets.shades_classic)
    : undefined;
  const byType = new Map<string, SingleBar>();
  let last = '';
  try {
    for (;;) {
      const statuses = await typeStatuses(options.replicators, options.main, options.tracking);
      if (bars) {
        for (const s of statuses) {
          const payload = { title: s.title.padEnd(22), pending: s.pending, failed: s.failed };
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
