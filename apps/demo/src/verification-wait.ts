import type { Sql } from '@meridian/db';
import { collectGeoStatus, type ReplicatorDefinition } from '@meridian/geo';

// After the secondary has every blob, the demo waits for verification on both sites: the primary
// has checksummed every row and the secondary has verified every registry against that checksum.

export interface VerificationWaitOptions {
  replicators: readonly ReplicatorDefinition[];
  /** the primary's main database (the secondary reads the same through its view) */
  main: Sql;
  tracking: Sql;
  timeoutMs: number;
  intervalMs?: number;
  write: (text: string) => void;
  cancelled?: () => boolean;
}

export interface VerificationFigures {
  title: string;
  count: number;
  checksummed: number;
  verified: number;
  registries: number;
}

export async function verificationFigures(options: Pick<VerificationWaitOptions, 'replicators' | 'main' | 'tracking'>): Promise<VerificationFigures[]> {
  const [primary, secondary] = await Promise.all([
    collectGeoStatus({ role: 'primary', siteName: 'primary', replicators: options.replicators, mainSql: options.main }),
    collectGeoStatus({ role: 'secondary', siteName: 'secondary', replicators: options.replicators, mainSql: options.main, trackingSql: options.tracking }),
  ]);
  return options.replicators.map((r) => ({
    title: r.titles.plural,
    count: primary.fields[`${r.plural}_count`] ?? 0,
    checksummed: primary.fields[`${r.plural}_checksummed_count`] ?? 0,
    verified: secondary.fields[`${r.plural}_verified_count`] ?? 0,
    registries: secondary.fields[`${r.plural}_registry_count`] ?? 0,
  }));
}

export function verifiedEverywhere(figures: readonly VerificationFigures[]): boolean {
  return figures.every((f) => f.count > 0 && f.checksummed === f.count && f.registries === f.count && f.verified === f.count);
}

const percent = (part: number, whole: number) => (whole === 0 ? 0 : Math.floor((part / whole) * 1000) / 10);

/** Prints a line whenever a figure changes; true once verified everywhere, false on timeout or cancel. */
export async function waitForVerification(options: VerificationWaitOptions): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  let last = '';
  for (;;) {
    const figures = await verificationFigures(options);
    const line = figures
      .map((f) => `${f.title}: primary checksummed ${f.checksummed}/${f.count} (${percent(f.checksummed, f.count)} %), secondary verified ${f.verified}/${f.registries} (${percent(f.verified, f.registries)} %)`)
      .join('; ');
    if (line !== last) options.write(`  ${line}\n`);
    last = line;
    if (verifiedEverywhere(figures)) return true;
    if (Date.now() > deadline || options.cancelled?.()) return false;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 1_000));
  }
}
