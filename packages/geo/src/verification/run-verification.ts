import { isFlagEnabled } from '@meridian/db';
import type { PrimaryGeoContext } from '../geo-context';
import { insertGeoEvents } from '../events/geo-event-outbox';
import { verificationFlag, type ReplicatorDefinition } from '../replicator';
import { verificationStore, type ClaimedRow } from './verification-store';

export interface VerificationRunOptions {
  /** the clock (tests move it); default the wall clock */
  now?: () => Date;
  /** called once when a batch comes back full (the processor fills the type's other verification slots) */
  onBacklog?: () => Promise<unknown>;
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

/**
 * Checksums a claimed batch, one blob after another, then records the successes and their
 * `checksum_succeeded` events in one transaction (one commit per batch, not per blob). A failure
 * is recorded at once. Returns what was recorded; rows superseded meanwhile are not counted.
 */
async function verifyBatch(context: PrimaryGeoContext, definition: ReplicatorDefinition, rows: readonly ClaimedRow[], now: () => Date): Promise<{ succeeded: number; failed: number }> {
  const store = verificationStore(definition);
  const checksums: Array<{ row: ClaimedRow; checksumHex: string }> = [];
  let failed = 0;
  for (const row of rows) {
    try {
      if (row.blobPath === null) throw new Error('the model row has no blob path');
      checksums.push({ row, checksumHex: await context.storage.sha256(row.blobPath) }); // 1 MiB reads: never the whole blob in memory
    } catch (error) {
      if (await store.failed(context.mainSql, row, failureMessage(error), now())) failed += 1;
      context.logger.warn({ replicable: definition.name, modelId: row.modelId, err: error }, 'primary verification failed');
    }
  }
  const recorded = await context.mainSql.begin(async (tx) => {
    const done = await store.succeededMany(tx, checksums, now());
    await insertGeoEvents(tx, definition.name, 'checksum_succeeded', done.map((d) => ({ model_record_id: Number(d.modelId), checksum: d.checksum })));
    return done.length;
  });
  return { succeeded: recorded, failed };
}

/**
 * One run of a type's primary verification: time out stuck rows, send old successes back to
 * pending, backfill missing state rows, then claim and checksum batches until none is left or the
 * run budget is spent. Any number of runs may overlap: claims skip each other's rows.
 */
export async function runVerification(context: PrimaryGeoContext, definition: ReplicatorDefinition, options: VerificationRunOptions = {}): Promise<VerificationRunResult> {
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
  let backlog = options.onBacklog;
  for (;;) {
    const rows = await sql.begin((tx) => store.claim(tx, settings.verificationBatchSize, now()));
    const outcome = await verifyBatch(context, definition, rows, now);
    result.succeeded += outcome.succeeded;
    result.failed += outcome.failed;
    if (rows.length < settings.verificationBatchSize || Date.now() > deadline) break;
    if (backlog) {
      const notify = backlog;
      backlog = undefined;
      await notify().catch((error: unknown) => context.logger.warn({ err: error, replicable: definition.name }, 'could not request more verification jobs'));
    }
  }
  return result;
}
