import type { SiteRole } from '@meridian/queue';
import { RegistryState } from './registry/registry-store';
import type { CursorFigures, RegistryCounts } from './status-sources';

// The one declaration of every geo status field. The CLI (`meridian geo status`), the JSON API
// (`GET /api/v1/geo/status`), the status page and the Prometheus gauges all iterate these tables;
// none of them names a field of its own. Field names and definitions are upstream's (GeoNodeStatus)
// where upstream has the field; metric names follow upstream's rule (`geo_` + field without its
// trailing `_count`).

/** Verification states (upstream values), shared by `<model>_states` and the registry columns. */
const V = { pending: 0, started: 1, succeeded: 2, failed: 3, disabled: 4 } as const;

/** What the sources gave for one type; `undefined` = the source failed (the field is unknown). */
export interface TypeInputs {
  models?: number | undefined;
  /** the type's `geo_<replicable>_verification` flag; verification fields are null when it is off */
  verificationEnabled?: boolean | undefined;
  /** primary `<model>_states` rows per verification state */
  checksum?: Map<number, number> | undefined;
  /** registry rows per `${state}:${verification_state}` */
  registry?: RegistryCounts | undefined;
  /** seconds the oldest pending registry has waited (0: none pending) */
  pendingAgeSeconds?: number | null | undefined;
  lastLapAt?: Date | null | undefined;
  outboxEvents?: number | undefined;
}

/** A field's value: a number, null (not applicable: verification off, no lap yet), undefined (source failed). */
export type FieldValue = number | null | undefined;

export interface TypeStatusField {
  /** field name = `<plural><suffix>` */
  suffix: string;
  /** gauge name = `geo_<plural><metric>`; null: not exported (derived figures, bounded-count fields) */
  metric: string | null;
  help: string;
  /** how the figure is computed, for docs/operations.md */
  computed: string;
  roles: readonly SiteRole[];
  value(inputs: TypeInputs): FieldValue;
}

const sumRegistry = (registry: RegistryCounts | undefined, match: (state: number, verification: number) => boolean): number | undefined => {
  if (!registry) return undefined;
  let total = 0;
  for (const [key, n] of registry) {
    const [state, verification] = key.split(':').map(Number) as [number, number];
    if (match(state, verification)) total += n;
  }
  return total;
};

const sumChecksum = (checksum: Map<number, number> | undefined, match: (verification: number) => boolean): number | undefined => {
  if (!checksum) return undefined;
  let total = 0;
  for (const [state, n] of checksum) if (match(state)) total += n;
  return total;
};

/** Verification fields: unknown when the flag could not be read, null when verification is off (upstream: nil). */
const whenVerifying = (compute: (i: TypeInputs) => number | undefined) => (i: TypeInputs): FieldValue => {
  if (i.verificationEnabled === undefined) return undefined;
  if (!i.verificationEnabled) return null;
  return compute(i);
};

const percentage = (part: number | null | undefined, whole: number | undefined): FieldValue => {
  if (part === undefined || whole === undefined) return undefined;
  if (part === null) return null;
  return whole === 0 ? 0 : Math.floor((part / whole) * 10_000) / 100;
};

const registryTotal = (i: TypeInputs) => sumRegistry(i.registry, () => true);
const synced = (i: TypeInputs) => sumRegistry(i.registry, (s) => s === RegistryState.synced);
const verified = whenVerifying((i) => sumRegistry(i.registry, (s, v) => s === RegistryState.synced && v === V.succeeded));

const SECONDARY = ['secondary'] as const;
const PRIMARY = ['primary'] as const;

export const TYPE_STATUS_FIELDS: readonly TypeStatusField[] = [
  { suffix: '_count', metric: '', roles: ['primary', 'secondary'], help: 'rows on the primary', computed: 'geo_replicable_counts (model table triggers) on the primary; a secondary reads the same counter through its read-only connection', value: (i) => i.models },
  { suffix: '_checksum_total_count', metric: '_checksum_total', roles: PRIMARY, help: 'rows the primary checksums (verification not disabled)', computed: '<model>_states rows with verification_state <> 4 (disabled), from geo_verification_counts', value: whenVerifying((i) => sumChecksum(i.checksum, (v) => v !== V.disabled)) },
  { suffix: '_checksummed_count', metric: '_checksummed', roles: PRIMARY, help: 'rows checksummed on the primary', computed: '<model>_states rows with verification_state = 2 (succeeded)', value: whenVerifying((i) => sumChecksum(i.checksum, (v) => v === V.succeeded)) },
  { suffix: '_checksum_failed_count', metric: '_checksum_failed', roles: PRIMARY, help: 'rows whose checksum failed on the primary', computed: '<model>_states rows with verification_state = 3 (failed)', value: whenVerifying((i) => sumChecksum(i.checksum, (v) => v === V.failed)) },
  { suffix: '_events_count', metric: null, roles: PRIMARY, help: 'events of this type still in the outbox', computed: 'count(*) of geo_events per type (the outbox is pruned behind every secondary)', value: (i) => i.outboxEvents },
  { suffix: '_registry_count', metric: '_registry', roles: SECONDARY, help: 'registry rows on this secondary', computed: 'registry rows, from geo_registry_verification_counts (registry triggers)', value: registryTotal },
  { suffix: '_pending_count', metric: '_pending', roles: SECONDARY, help: 'registry rows waiting to sync', computed: 'registry rows with state = 0 (pending)', value: (i) => sumRegistry(i.registry, (s) => s === RegistryState.pending) },
  { suffix: '_started_count', metric: '_started', roles: SECONDARY, help: 'syncs in flight (rows held by a running sync job)', computed: 'registry rows with state = 1 (started)', value: (i) => sumRegistry(i.registry, (s) => s === RegistryState.started) },
  { suffix: '_synced_count', metric: '_synced', roles: SECONDARY, help: 'registry rows synced', computed: 'registry rows with state = 2 (synced)', value: synced },
  { suffix: '_failed_count', metric: '_failed', roles: SECONDARY, help: 'registry rows whose sync failed (retrying with backoff)', computed: 'registry rows with state = 3 (failed)', value: (i) => sumRegistry(i.registry, (s) => s === RegistryState.failed) },
  { suffix: '_verification_total_count', metric: '_verification_total', roles: SECONDARY, help: 'synced rows to verify (verification not disabled)', computed: 'synced registry rows with verification_state <> 4', value: whenVerifying((i) => sumRegistry(i.registry, (s, v) => s === RegistryState.synced && v !== V.disabled)) },
  { suffix: '_verified_count', metric: '_verified', roles: SECONDARY, help: 'synced rows verified against the primary checksum', computed: 'synced registry rows with verification_state = 2 (succeeded)', value: verified },
  { suffix: '_verification_failed_count', metric: '_verification_failed', roles: SECONDARY, help: 'synced rows whose verification failed', computed: 'synced registry rows with verification_state = 3 (failed)', value: whenVerifying((i) => sumRegistry(i.registry, (s, v) => s === RegistryState.synced && v === V.failed)) },
  { suffix: '_synced_in_percentage', metric: null, roles: SECONDARY, help: 'synced share of the registry', computed: 'synced / registry × 100, two decimals rounded down; 0 when the registry is empty', value: (i) => percentage(synced(i), registryTotal(i)) },
  { suffix: '_verified_in_percentage', metric: null, roles: SECONDARY, help: 'verified share of the registry', computed: 'verified / registry × 100 (the registry count is the denominator, as upstream); null when verification is off', value: (i) => percentage(verified(i), registryTotal(i)) },
  { suffix: '_pending_oldest_age_seconds', metric: '_pending_oldest_age_seconds', roles: SECONDARY, help: 'seconds the oldest pending registry row has waited (0: none pending)', computed: 'now() − min(pending_since) over pending rows (partial index); pending_since is set when a row becomes pending', value: (i) => (i.pendingAgeSeconds === null ? 0 : i.pendingAgeSeconds === undefined ? undefined : Math.round(i.pendingAgeSeconds * 10) / 10) },
  { suffix: '_consistency_lap_completed_at', metric: '_consistency_lap_completed_timestamp_seconds', roles: SECONDARY, help: 'when the last full consistency lap finished (Unix seconds; null: none yet)', computed: 'newest geo_consistency_laps.finished_at of the type', value: (i) => (i.lastLapAt === undefined ? undefined : i.lastLapAt === null ? null : Math.floor(i.lastLapAt.getTime() / 1000)) },
];

/** Site-wide inputs. */
export interface SiteInputs {
  cursor?: CursorFigures | undefined;
  /** primary: the newest event id the outbox issued */
  newestEventId?: bigint | undefined;
}

export interface SiteStatusField {
  name: string;
  /** full gauge name */
  metric: string | null;
  help: string;
  computed: string;
  roles: readonly SiteRole[];
  value(inputs: SiteInputs): FieldValue;
}

const fromCursor = (read: (c: CursorFigures) => number) => (i: SiteInputs): FieldValue => (i.cursor ? read(i.cursor) : undefined);

export const SITE_STATUS_FIELDS: readonly SiteStatusField[] = [
  { name: 'event_log_max_id', metric: 'geo_event_log_max_id', roles: ['primary', 'secondary'], help: 'newest geo event id on the primary', computed: 'the outbox sequence (never below the cursor), so pruning does not reset it', value: (i) => (i.cursor ? Number(i.cursor.newestEventId) : i.newestEventId === undefined ? undefined : Number(i.newestEventId)) },
  { name: 'cursor_last_event_id', metric: 'geo_cursor_last_event_id', roles: SECONDARY, help: 'last geo event id this secondary processed', computed: 'geo_event_cursor.last_event_id', value: fromCursor((c) => Number(c.lastEventId)) },
  { name: 'cursor_lag_events', metric: 'geo_cursor_lag_events', roles: SECONDARY, help: 'events the primary issued that the cursor has not reached', computed: 'event_log_max_id − cursor_last_event_id', value: fromCursor((c) => Number(c.newestEventId - c.lastEventId)) },
  { name: 'cursor_lag_seconds', metric: 'geo_cursor_lag_seconds', roles: SECONDARY, help: 'how long the oldest event not yet applied has waited (0: caught up)', computed: 'now() − created_at of the first geo_events row after the cursor (primary key probe)', value: fromCursor((c) => Math.round(c.lagSeconds * 10) / 10) },
  { name: 'event_gaps_open', metric: 'geo_event_gaps', roles: SECONDARY, help: 'event ids skipped and not yet seen (open gaps)', computed: 'rows of geo_event_gaps (bounded: dropped after an hour)', value: fromCursor((c) => c.openGaps) },
  { name: 'event_gaps_dropped', metric: 'geo_event_gaps_dropped', roles: SECONDARY, help: 'event gaps given up on after the timeout (total)', computed: 'geo_event_stats.gaps_dropped', value: fromCursor((c) => Number(c.gapsDropped)) },
  { name: 'events_unknown', metric: 'geo_events_unknown', roles: SECONDARY, help: 'geo events with a name this version does not know (total; logged as errors)', computed: 'geo_event_stats.events_unknown', value: fromCursor((c) => Number(c.unknownEvents)) },
];

/** The type fields a role reports, in declaration order. */
export const typeFieldsFor = (role: SiteRole) => TYPE_STATUS_FIELDS.filter((f) => f.roles.includes(role));
export const siteFieldsFor = (role: SiteRole) => SITE_STATUS_FIELDS.filter((f) => f.roles.includes(role));

/** A secondary's last report, as the primary sees it. */
export interface ReportInputs {
  cursorEventId: bigint;
  reportedAt: Date;
  newestEventId: bigint | undefined;
  now: number;
  /** a report older than this makes the secondary unhealthy (the same bound that stops pruning) */
  staleMs: number;
}

export interface SecondaryReportField {
  name: string;
  /** gauge name; label `url` = the secondary's name */
  metric: string;
  help: string;
  value(inputs: ReportInputs): FieldValue;
}

const ageSeconds = (i: ReportInputs) => Math.max(0, (i.now - i.reportedAt.getTime()) / 1000);

export const SECONDARY_REPORT_FIELDS: readonly SecondaryReportField[] = [
  { name: 'cursor_event_id', metric: 'geo_secondary_cursor_event_id', help: 'event id a secondary last reported it had processed', value: (i) => Number(i.cursorEventId) },
  { name: 'events_behind', metric: 'geo_secondary_events_behind', help: 'events between the newest event and the cursor the secondary reported', value: (i) => (i.newestEventId === undefined ? undefined : Math.max(0, Number(i.newestEventId - i.cursorEventId))) },
  { name: 'report_age_seconds', metric: 'geo_secondary_report_age_seconds', help: 'seconds since the secondary last reported', value: (i) => Math.round(ageSeconds(i)) },
  { name: 'healthy', metric: 'geo_secondary_healthy', help: '1 when the secondary reported within the stale bound (10 min), else 0', value: (i) => (ageSeconds(i) * 1000 <= i.staleMs ? 1 : 0) },
];
