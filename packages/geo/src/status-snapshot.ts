import type { Sql, TransactionSql } from '@meridian/db';
import type { SiteRole } from '@meridian/queue';
import { SECONDARY_REPORT_FIELDS, siteFieldsFor, typeFieldsFor, type FieldValue, type SiteInputs, type TypeInputs } from './status-fields';
import { eventLag, statusSources, withinTimeout, type CursorFigures, type FailureRow, type StatusSite } from './status-sources';

export interface StatusOptions {
  /** each source's own bound (statement_timeout; default 5 s) */
  sourceTimeoutMs?: number;
  /** failed rows listed per type (JSON API and page); 0 = none read */
  failuresPerType?: number;
  /** a secondary whose last report is older is unhealthy (default 10 min, as event pruning) */
  secondaryStaleMs?: number;
}

export const DEFAULT_STATUS_SOURCE_TIMEOUT_MS = 5_000;
export const DEFAULT_SECONDARY_STALE_MS = 10 * 60_000;

export interface SourceResult {
  name: string;
  ok: boolean;
  error?: string;
  durationMs: number;
}

export interface TypeSnapshot {
  name: string;
  plural: string;
  title: string;
  /** null: the flag could not be read */
  verificationEnabled: boolean | null;
  /** `<plural><suffix>` → value; null when unknown (its source failed) or not applicable */
  fields: Record<string, number | null>;
  /** the same, as the definitions' suffixes without the plural (`_synced_count`), for pages */
  values: Record<string, FieldValue>;
  failures: FailureRow[];
  /** where the registry admin API lists this type's rows */
  registryListPath: string;
}

export interface SecondarySnapshot {
  site: string;
  reportedAt: string;
  fields: Record<string, number | null>;
}

export interface GeoStatusSnapshot {
  site: string;
  role: SiteRole;
  collectedAt: string;
  /** every flat field of the role (types and site), upstream names: `package_files_synced_count`, … */
  fields: Record<string, number | null>;
  types: TypeSnapshot[];
  site_fields: Record<string, number | null>;
  /** primary: each secondary's last report */
  secondaries: SecondarySnapshot[];
  sources: SourceResult[];
}

type Read<T> = (tx: TransactionSql) => Promise<T>;

/**
 * Reads every source of the site's role in parallel, each on its own with its own timeout, then
 * computes each declared field. A failed source leaves its fields null and says why in `sources`.
 */
export async function collectGeoStatus(site: StatusSite, options: StatusOptions = {}): Promise<GeoStatusSnapshot> {
  const timeoutMs = options.sourceTimeoutMs ?? DEFAULT_STATUS_SOURCE_TIMEOUT_MS;
  const failuresPerType = options.failuresPerType ?? 0;
  const staleMs = options.secondaryStaleMs ?? DEFAULT_SECONDARY_STALE_MS;
  const sources = statusSources(site, { failuresPerType });
  const results: SourceResult[] = [];
  const run = async <T>(name: string, sql: Sql | undefined, read: Read<T> | undefined): Promise<T | undefined> => {
    if (!read || !sql) return undefined;
    const started = performance.now();
    try {
      const value = await withinTimeout(sql, timeoutMs, read);
      results.push({ name, ok: true, durationMs: Math.round(performance.now() - started) });
      return value;
    } catch (error) {
      results.push({ name, ok: false, error: (error as Error).message, durationMs: Math.round(performance.now() - started) });
      return undefined;
    }
  };
  const tracking = site.role === 'secondary' ? site.trackingSql : undefined;
  const [models, flags, checksum, outbox, newest, secondaries, registry, pendingAge, laps, cursor, failures] = await Promise.all([
    run('model_counts', site.mainSql, sources.model_counts),
    run('verification_flags', site.mainSql, sources.verification_flags),
    run('checksum_counts', site.mainSql, sources.checksum_counts),
    run('outbox_events', site.mainSql, sources.outbox_events),
    run('event_log', site.mainSql, sources.event_log),
    run('secondaries', site.mainSql, sources.secondaries),
    run('registry_counts', tracking, sources.registry_counts),
    run('pending_age', tracking, sources.pending_age),
    run('laps', tracking, sources.laps),
    // the cursor needs both databases: the tracking row, then the primary's side of the lag
    run('event_cursor', tracking, sources.event_cursor).then(async (row) => {
      if (!row) return undefined;
      const lag = await run('event_lag', site.mainSql, (tx) => eventLag(tx, row.last_event_id));
      if (!lag) return undefined;
      const figures: CursorFigures = { lastEventId: row.last_event_id, openGaps: row.open_gaps, gapsDropped: row.gaps_dropped, unknownEvents: row.events_unknown, ...lag };
      return figures;
    }),
    failuresPerType > 0 ? run('failures', tracking ?? site.mainSql, (tx) => sources.failures(tx, tracking ? 'tracking' : 'main')) : Promise.resolve(undefined),
  ]);

  const fields: Record<string, number | null> = {};
  const types: TypeSnapshot[] = site.replicators.map((r) => {
    const inputs: TypeInputs = {
      models: models?.get(r.name) ?? (models ? 0 : undefined),
      verificationEnabled: flags?.get(r.name),
      checksum: checksum ? (checksum.get(r.name) ?? new Map()) : undefined,
      registry: registry ? (registry.get(r.name) ?? new Map()) : undefined,
      pendingAgeSeconds: pendingAge ? (pendingAge.get(r.name) ?? null) : undefined,
      lastLapAt: laps ? (laps.get(r.name) ?? null) : undefined,
      outboxEvents: outbox ? (outbox.get(r.name) ?? 0) : undefined,
    };
    const typeFields: Record<string, number | null> = {};
    const values: Record<string, FieldValue> = {};
    for (const field of typeFieldsFor(site.role)) {
      const value = field.value(inputs);
      values[field.suffix] = value;
      typeFields[`${r.plural}${field.suffix}`] = value ?? null;
    }
    Object.assign(fields, typeFields);
    return {
      name: r.name,
      plural: r.plural,
      title: r.titles.plural,
      verificationEnabled: flags?.get(r.name) ?? null,
      fields: typeFields,
      values,
      failures: failures?.get(r.name) ?? [],
      registryListPath: `/api/v1/geo/registries?replicable=${encodeURIComponent(r.name)}`,
    };
  });

  const siteInputs: SiteInputs = { cursor, newestEventId: newest };
  const siteFields: Record<string, number | null> = {};
  for (const field of siteFieldsFor(site.role)) siteFields[field.name] = field.value(siteInputs) ?? null;
  Object.assign(fields, siteFields);

  const now = Date.now();
  const newestId = newest ?? undefined;
  return {
    site: site.siteName,
    role: site.role,
    collectedAt: new Date(now).toISOString(),
    fields,
    types,
    site_fields: siteFields,
    secondaries: (secondaries ?? []).map((s) => {
      const inputs = { cursorEventId: s.cursorEventId, reportedAt: s.reportedAt, newestEventId: newestId, now, staleMs };
      return {
        site: s.siteName,
        reportedAt: s.reportedAt.toISOString(),
        fields: Object.fromEntries(SECONDARY_REPORT_FIELDS.map((f) => [f.name, f.value(inputs) ?? null])),
      };
    }),
    sources: results.sort((a, b) => a.name.localeCompare(b.name)),
  };
}
