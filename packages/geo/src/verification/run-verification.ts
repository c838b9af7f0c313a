import { isFlagEnabled } from '@meridian/db';
import type { GeoContext } from '../geo-context';
import { insertGeoEvent } from '../events/geo-event-outbox';
import { verificationFlag, type ReplicatorDefinition } from '../replicator';
import { verificationStore, type ClaimedRow } from './verification-store';

export interface VerificationRunOptions {
  /** the clock (tests move it); default the wall clock */
  now?: () => Date;
}

export interface VerificationRunResult {
  /** false when `geo_<type>_verification` is off: nothing was done */
  enabled: boolean;
  timedOut: number;
  reverified: number;
  backfilled: number;
  succeeded: number;
  failed: number;
}

function failureMessage(error: unknown): string {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `Error during verification: ${message}`;
}

/** Checksums one claimed row and records the outcome; the success and its event share a transaction. */
async function verifyRow(context: GeoContext, definition: ReplicatorDefinition, row: ClaimedRow, now: () => Date): Promise<'succeeded' | 'failed' | 'superseded'> {
  const store = verificationStore(definition);
  let checksum: string;
  try {
    if (row.blobPath === null) throw new Error('the model row has no blob path');
    checksum = await context.storage.sha256(row.blobPath); // streaming, never the whole blob in memory
  } catch (error) {
    const recorded = await store.failed(context.mainSql, row, failureMessage(error), now());
    context.logger.warn({ replicable: definition.name, modelId: row.modelId, err: error }, 'primary verification failed');
    return recorded ? 'failed' : 'superseded';
  }
  return context.mainSql.begin(async (tx) => {
    if (!(await store.succeeded(tx, row, checksum, now()))) return 'superseded' as const;
    await insertGeoEvent(tx, definition.name, 'checksum_succeeded', { model_record_id: Number(row.modelId), checksum });
    return 'succeeded' as const;
  });
}

/**
 * One run of a type's primary verification: time out stuck rows, send old successes back to
 * pending, backfill missing state rows, then claim and checksum batches until none is left or the
 * run budget is spent. Any number of runs may overlap: claims skip each other's rows.
 */
export async function runVerification(context: GeoContext, definition: ReplicatorDefinition, options: VerificationRunOptions = {}): Promise<VerificationRunResult> {
  const now = options.now ?? (() => new Date());
  const result: VerificationRunResult = { enabled: false, timedOut: 0, reverified: 0, backfilled: 0, succeeded: 0, failed: 0 };
  if (!(await isFlagEnabled(context.mainSql, verificationFlag(definition)))) return result;
  result.enabled = true;
  const store = verificationStore(definition);
  const settings = context.settings;
  const sql = context.mainSql;
  result.timedOut = await store.failTimedOut(sql, settings.verificationTimeoutMs, now());
  if (result.timedOut > 0) context.logger.warn({ replicable: definition.name, rows: result.timedOut }, 'verifications timed out and will be retried');
  result.reverified = await store.reverify(sql, settings.reverificationIntervalMs, settings.reverificationBatchSize, now());
  result.backfilled = await store.backfill(sql, settings.verificationBackfillBatchSize);
  const deadline = Date.now() + settings.runBudgetMs;
  for (;;) {
    const rows = await sql.begin((tx) => store.claim(tx, settings.verificationBatchSize, now()));
    for (const row of rows) {
      const outcome = await verifyRow(context, definition, row, now);
      if (outcome !== 'superseded') result[outcome] += 1;
    }
    if (rows.length < settings.verificationBatchSize || Date.now() > deadline) break;
  }
  return result;
}
