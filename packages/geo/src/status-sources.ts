import { isFlagEnabled, type Sql, type TransactionSql } from '@meridian/db';
import type { SiteRole } from '@meridian/queue';
import { derive, verificationFlag, type ReplicatorDefinition } from './replicator';
import { newestEventId } from './status';

// The sources status figures come from. Each one is read on its own, in its own transaction with
// its own statement_timeout (and a timer for a pool that never hands out a connection), so a slow
// or failing source costs only its own fields: the others still report (upstream's pain point:
// one slow COUNT blocked every status update).

/** What status needs of a site (a narrow view of the geo context, whatever its role's type). */
export interface StatusSite {
  role: SiteRole;
  siteName: string;
  replicators: readonly ReplicatorDefinition[];
  /** primary: the main database; secondary: the read-only view of the primary's */
  mainSql: Sql;
  trackingSql?: Sql | undefined;
}

export class StatusSourceTimeoutError extends Error {
  override readonly name = 'StatusSourceTimeoutError';
}

/** Runs `read` in a transaction whose statements are cancelled after `ms`; rejects after `ms` + 1 s at the latest. */
export async function withinTimeout<T>(sql: Sql, ms: number, read: (tx: TransactionSql) => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const work = sql.begin(async (tx) => {
    await tx.unsafe(`set local statement_timeout = ${Math.max(1, Math.floor(ms))}`);
    return read(tx);
  }) as Promise<T>;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StatusSourceTimeoutError(`no answer within ${ms} ms`)), ms + 1_000);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
    work.catch(() => undefined); // a late failure after the deadline is already reported
  }
}

/** `${state}:${verification_state}` → rows */
export type RegistryCounts = Map<string, number>;

export interface CursorFigures {
  lastEventId: bigint;
  newestEventId: bigint;
  /** seconds since the oldest event this secondary has not applied yet was written (0 when caught up) */
  lagSeconds: number;
  openGaps: number;
  gapsDropped: bigint;
  unknownEvents: bigint;
}

export interface SecondaryFigures {
  siteName: string;
  cursorEventId: bigint;
  reportedAt: Date;
}

export interface FailureRow {
  /** registry id (secondary) or model id (primary) */
  id: string;
  modelId: string;
  kind: 'sync' | 'verification';
  message: string | null;
  retryCount: number;
  retryAt: string | null;
}

const byName = <T>(rows: readonly { replicable_name: string }[], value: (row: never) => T) => new Map(rows.map((r) => [r.replicable_name, value(r as never)]));

/** Every source a role reads, by name; `undefined` when a source does not apply to the role. */
export function statusSources(site: StatusSite, options: { failuresPerType: number }) {
  const tracking = site.trackingSql;
  const secondary = site.role === 'secondary' && tracking !== undefined;
  const primary = site.role === 'primary';
  return {
    model_counts: async (tx: TransactionSql) =>
      byName(await tx<{ replicable_name: string; n: bigint }[]>`select replicable_name, sum(n)::bigint as n from geo_replicable_counts group by 1`, (r: { n: bigint }) => Number(r.n)),

    verification_flags: async (tx: TransactionSql) => {
      const out = new Map<string, boolean>();
      for (const r of site.replicators) out.set(r.name, await isFlagEnabled(tx, verificationFlag(r)));
      return out;
    },

    checksum_counts: primary
      ? async (tx: TransactionSql) => {
          const rows = await tx<{ replicable_name: string; verification_state: number; n: bigint }[]>`
            select replicable_name, verification_state, sum(n)::bigint as n from geo_verification_counts group by 1, 2`;
          const out = new Map<string, Map<number, number>>();
          for (const row of rows) {
            const states = out.get(row.replicable_name) ?? new Map<number, number>();
            states.set(row.verification_state, Number(row.n));
            out.set(row.replicable_name, states);
          }
          return out;
        }
      : undefined,

    // the outbox is pruned behind every secondary, so this count stays small on a healthy site
    outbox_events: primary
      ? async (tx: TransactionSql) =>
          byName(await tx<{ replicable_name: string; n: bigint }[]>`select replicable_name, count(*)::bigint as n from geo_events group by 1`, (r: { n: bigint }) => Number(r.n))
      : undefined,

    event_log: primary ? async (tx: TransactionSql) => newestEventId(tx as unknown as Sql) : undefined,

    secondaries: primary
      ? async (tx: TransactionSql) =>
          (await tx<{ site_name: string; cursor_event_id: bigint; reported_at: Date }[]>`
            select site_name, cursor_event_id, reported_at from geo_secondary_sites order by site_name`).map(
            (s): SecondaryFigures => ({ siteName: s.site_name, cursorEventId: s.cursor_event_id, reportedAt: s.reported_at }),
          )
      : undefined,

    registry_counts: secondary
      ? async (tx: TransactionSql) => {
          const rows = await tx<{ replicable_name: string; state: number; verification_state: number; n: bigint }[]>`
            select replicable_name, state, verification_state, sum(n)::bigint as n from geo_registry_verification_counts group by 1, 2, 3`;
          const out = new Map<string, RegistryCounts>();
          for (const row of rows) {
            const counts = out.get(row.replicable_name) ?? new Map<string, number>();
            counts.set(`${row.state}:${row.verification_state}`, Number(row.n));
            out.set(row.replicable_name, counts);
          }
          return out;
        }
      : undefined,

    // min(pending_since) over a partial index of pending rows: one index probe per type
    pending_age: secondary
      ? async (tx: TransactionSql) => {
          const out = new Map<string, number | null>();
          for (const r of site.replicators) {
            const [row] = await tx<{ age: number | null }[]>`
              select extract(epoch from now() - min(pending_since))::float8 as age from ${tx(derive(r).registryTable)} where state = 0`;
            out.set(r.name, row?.age == null ? null : Math.max(0, row.age));
          }
          return out;
        }
      : undefined,

    laps: secondary
      ? async (tx: TransactionSql) =>
          byName(
            await tx<{ replicable_name: string; finished_at: Date }[]>`
              select distinct on (replicable_name) replicable_name, finished_at from geo_consistency_laps order by replicable_name, finished_at desc`,
            (r: { finished_at: Date }) => r.finished_at,
          )
      : undefined,

    // tracking side of the cursor; the primary side (newest id, age of the next event) is `event_lag`
    event_cursor: secondary
      ? async (tx: TransactionSql) => {
          const [row] = await tx<{ last_event_id: bigint; open_gaps: number; gaps_dropped: bigint; events_unknown: bigint }[]>`
            select c.last_event_id, (select count(*)::int from geo_event_gaps) as open_gaps, s.gaps_dropped, s.events_unknown
            from geo_event_cursor c, geo_event_stats s`;
          return row!;
        }
      : undefined,

    failures: async (tx: TransactionSql, database: 'main' | 'tracking') => {
      const out = new Map<string, FailureRow[]>();
      const limit = options.failuresPerType;
      for (const r of site.replicators) {
        const d = derive(r);
        const rows: FailureRow[] = [];
        if (database === 'tracking') {
          const sync = await tx<{ id: bigint; model_id: bigint; message: string | null; retry_count: number; retry_at: Date | null }[]>`
            select id, ${tx(d.modelIdColumn)} as model_id, last_sync_failure as message, retry_count, retry_at
            from ${tx(d.registryTable)} where state = 3 order by retry_at nulls first limit ${limit}`;
          const verification = await tx<{ id: bigint; model_id: bigint; message: string | null; retry_count: number; retry_at: Date | null }[]>`
            select id, ${tx(d.modelIdColumn)} as model_id, verification_failure as message, verification_retry_count as retry_count, verification_retry_at as retry_at
            from ${tx(d.registryTable)} where verification_state = 3 order by verification_retry_at nulls first limit ${limit}`;
          for (const f of sync) rows.push(failure(f, 'sync'));
          for (const f of verification) rows.push(failure(f, 'verification'));
        } else {
          const checksum = await tx<{ id: bigint; model_id: bigint; message: string | null; retry_count: number; retry_at: Date | null }[]>`
            select ${tx(d.modelIdColumn)} as id, ${tx(d.modelIdColumn)} as model_id, verification_failure as message, verification_retry_count as retry_count, verification_retry_at as retry_at
            from ${tx(d.statesTable)} where verification_state = 3 order by verification_retry_at nulls first limit ${limit}`;
          for (const f of checksum) rows.push(failure(f, 'verification'));
        }
        out.set(r.name, rows);
      }
      return out;
    },
  };
}

function failure(row: { id: bigint; model_id: bigint; message: string | null; retry_count: number; retry_at: Date | null }, kind: FailureRow['kind']): FailureRow {
  return { id: row.id.toString(), modelId: row.model_id.toString(), kind, message: row.message, retryCount: row.retry_count, retryAt: row.retry_at?.toISOString() ?? null };
}

/** The primary side of a secondary's cursor: newest event id, and how long the next event to apply has waited. */
export async function eventLag(main: TransactionSql, lastEventId: bigint): Promise<{ newestEventId: bigint; lagSeconds: number }> {
  const newest = await newestEventId(main as unknown as Sql);
  const [next] = await main<{ age: number | null }[]>`
    select extract(epoch from now() - created_at)::float8 as age from geo_events where id > ${lastEventId.toString()} order by id limit 1`;
  return { newestEventId: newest > lastEventId ? newest : lastEventId, lagSeconds: Math.max(0, next?.age ?? 0) };
}
