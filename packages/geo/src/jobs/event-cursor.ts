import { replicationEnabled, verificationEnabled } from '../replication-enabled';
import { registryVerificationStore } from '../secondary-verification/registry-verification-store';
import { requestSecondaryVerification } from '../secondary-verification/secondary-verification-jobs';
import type { TransactionSql } from '@meridian/db';
import { replicatorNamed, type SecondaryGeoContext } from '../geo-context';
import { modelStore } from '../registry/model-store';
import { registryStore } from '../registry/registry-store';
import type { ReplicatorDefinition } from '../replicator';
import { selectiveSyncOrganizations } from '../selective-sync';
import { enqueueSyncs } from './enqueue-syncs';
import { processPendingDeletions } from './pending-deletions';
import { isGeoEventName, UnknownGeoEventError, type GeoEventName } from '../events/event-names';

interface RawGeoEvent {
  id: bigint;
  replicable_name: string;
  /** as stored: a newer primary may write names this code does not know */
  event_name: string;
  payload: { model_record_id?: number | string; blob_path?: string | null; checksum?: string };
}

interface GeoEvent extends RawGeoEvent {
  event_name: GeoEventName;
}

/** Splits known events from unknown ones; each unknown one is logged as an error. */
function knownEvents(context: SecondaryGeoContext, raw: readonly RawGeoEvent[]): { known: GeoEvent[]; unknown: number } {
  const known: GeoEvent[] = [];
  let unknown = 0;
  for (const event of raw) {
    if (isGeoEventName(event.event_name)) {
      known.push(event as GeoEvent);
    } else {
      unknown += 1;
      const error = new UnknownGeoEventError(event.event_name, event.id);
      context.logger.error({ err: error, eventId: event.id, eventName: event.event_name, replicable: event.replicable_name }, 'unknown geo event name');
    }
  }
  return { known, unknown };
}


export interface EventBatchResult {
  events: number;
  gapsDetected: number;
  gapsRecovered: number;
  gapsDropped: number;
  /** events whose name this code does not know: logged as errors and counted in geo_event_stats */
  unknownEvents: number;
  /** true when the batch was full: more events are probably waiting */
  more: boolean;
}

/** A jump bigger than this is history pruned on the primary, not transactions in flight. */
const MAX_GAPS_PER_BATCH = 1_000;

function missingIds(after: bigint, events: readonly RawGeoEvent[]): bigint[] {
  const missing: bigint[] = [];
  let expected = after + 1n;
  for (const event of events) {
    for (let id = expected; id < event.id && missing.length <= MAX_GAPS_PER_BATCH; id += 1n) missing.push(id);
    expected = event.id + 1n;
  }
  return missing;
}

async function applyEvents(context: SecondaryGeoContext, tx: TransactionSql, events: readonly GeoEvent[]) {
  const toSync = new Map<ReplicatorDefinition, bigint[]>();
  const toVerify = new Set<ReplicatorDefinition>();
  const byType = new Map<string, GeoEvent[]>();
  for (const event of events) {
    const list = byType.get(event.replicable_name) ?? [];
    list.push(event);
    byType.set(event.replicable_name, list);
  }
  const organizations = byType.size > 0 ? await selectiveSyncOrganizations(tx) : [];
  for (const [name, list] of byType) {
    const definition = replicatorNamed(context, name);
    if (!definition) {
      context.logger.warn({ replicable: name, events: list.length }, 'events for an unknown replicable type ignored');
      continue;
    }
    const registry = registryStore(definition);
    const modelIdOf = (e: GeoEvent) => BigInt(String(e.payload.model_record_id ?? '0'));
    const deleted = list.filter((e) => e.event_name === 'deleted');
    const deletedIds = new Set(deleted.map(modelIdOf));
    // Deletes apply regardless of flags and selective sync: a blob must never outlive its model.
    if (deleted.length > 0) {
      const paths = new Map(deleted.map((e) => [modelIdOf(e), e.payload.blob_path ?? null]));
      await registry.remove(tx, [...deletedIds], paths);
    }
    // The primary (re)computed a checksum: synced registries compare their files with it again.
    const checksummed = list.filter((e) => e.event_name === 'checksum_succeeded' && !deletedIds.has(modelIdOf(e)));
    if (checksummed.length > 0 && (await verificationEnabled(context, definition))) {
      const marked = await registryVerificationStore(definition).primaryVerified(tx, [...new Set(checksummed.map(modelIdOf))]);
      if (marked > 0) toVerify.add(definition);
    }
    const changed = list.filter((e) => (e.event_name === 'created' || e.event_name === 'updated') && !deletedIds.has(modelIdOf(e)));
    if (changed.length === 0 || !(await replicationEnabled(context, definition))) continue;
    const candidates = [...new Set(changed.map(modelIdOf))];
    const inScope = await modelStore(definition).inScope(context.mainSql, candidates, organizations);
    const wanted = candidates.filter((id) => inScope.has(id));
    // A mutable blob that changed must be fetched again even if this site already has it.
    const queued = definition.mutable ? await registry.markPending(tx, wanted) : await registry.insertPending(tx, wanted);
    if (queued.length > 0) toSync.set(definition, queued);
  }
  return { toSync, toVerify };
}

/**
 * One batch, in one tracking-database transaction: read events after the cursor (and any gaps
 * that have since committed), apply them to the registries, record new gaps, advance the cursor.
 * The cursor row is locked for the duration, so concurrent runs serialize.
 */
export async function processEventBatch(context: SecondaryGeoContext): Promise<EventBatchResult> {
  const tracking = context.trackingSql;
  const { eventBatchSize, gapTimeoutMs } = context.settings;
  const main = context.mainSql;
  const outcome = await tracking.begin(async (tx) => {
    const [cursor] = await tx<{ last_event_id: bigint }[]>`select last_event_id from geo_event_cursor where id = 1 for update`;
    let after = cursor!.last_event_id;
    const gaps = await tx<{ event_id: bigint }[]>`select event_id from geo_event_gaps`;
    const events = await main<RawGeoEvent[]>`
      select id, replicable_name, event_name, payload from geo_events where id > ${after.toString()} order by id limit ${eventBatchSize}`;
    const recovered = gaps.length
      ? await main<RawGeoEvent[]>`
          select id, replicable_name, event_name, payload from geo_events where id = any(${gaps.map((g) => g.event_id.toString())}::bigint[]) order by id`
      : [];
    if (after === 0n && events.length > 0) after = events[0]!.id - 1n; // a new secondary starts at the oldest event still kept
    let newGaps = missingIds(after, events);
    if (newGaps.length > MAX_GAPS_PER_BATCH) {
      context.logger.warn({ after, firstEvent: events[0]?.id }, 'event ids jump: treating the hole as pruned history, not gaps');
      newGaps = [];
    }
    const { known, unknown } = knownEvents(context, [...recovered, ...events]);
    const { toSync, toVerify } = await applyEvents(context, tx, known);
    if (recovered.length > 0) {
      await tx`delete from geo_event_gaps where event_id = any(${recovered.map((e) => e.id.toString())}::bigint[])`;
    }
    if (newGaps.length > 0) {
      await tx`insert into geo_event_gaps (event_id) select unnest(${newGaps.map(String)}::bigint[]) on conflict do nothing`;
    }
    const dropped = await tx`
      delete from geo_event_gaps where detected_at < now() - make_interval(secs => ${gapTimeoutMs / 1000}) returning event_id`;
    if (dropped.length > 0) context.logger.warn({ gaps: dropped.map((d) => String(d.event_id)) }, 'event gaps dropped after the timeout');
    const last = events.at(-1)?.id ?? after;
    await tx`update geo_event_cursor set last_event_id = ${(last > after ? last : after).toString()}, updated_at = now() where id = 1`;
    await tx`
      update geo_event_stats set events_processed = events_processed + ${events.length + recovered.length},
        gaps_detected = gaps_detected + ${newGaps.length}, gaps_recovered = gaps_recovered + ${recovered.length},
        gaps_dropped = gaps_dropped + ${dropped.length}, events_unknown = events_unknown + ${unknown}
      where id = 1`;
    return {
      toSync,
      toVerify,
      result: {
        events: events.length + recovered.length,
        gapsDetected: newGaps.length,
        gapsRecovered: recovered.length,
        gapsDropped: dropped.length,
        unknownEvents: unknown,
        more: events.length === eventBatchSize,
      },
    };
  });
  // After the commit: the registries exist, so a sync job can never run ahead of its registry.
  for (const [definition, ids] of outcome.toSync) await enqueueSyncs(context, definition, ids);
  for (const definition of outcome.toVerify) await requestSecondaryVerification(context, definition);
  await processPendingDeletions(context);
  return outcome.result;
}

/** The scheduled job: batches until caught up or the run budget is spent. */
export async function runEventCursor(context: SecondaryGeoContext): Promise<{ events: number; batches: number }> {
  const deadline = Date.now() + context.settings.runBudgetMs;
  let events = 0;
  let batches = 0;
  for (;;) {
    const result = await processEventBatch(context);
    events += result.events;
    batches += 1;
    if (!result.more || Date.now() > deadline) break;
  }
  return { events, batches };
}
