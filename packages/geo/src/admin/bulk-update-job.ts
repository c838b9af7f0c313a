import type { Logger } from '@meridian/logger';
import { registerProcessor, type JobContext, type ProcessorRegistration } from '@meridian/queue';
import type { GeoContext, SecondaryGeoContext } from '../geo-context';
import { registryBulkUpdateJob } from './bulk-update-definition';
import { DEFAULT_BULK_BATCH_SIZE, failBulkOperation, nextRunningOperation, runBulkBatch, type BulkOperation } from './bulk-operations';

// Bulk resync / reverify. The intent is the operation row in the tracking database; this job only
// executes it. One job at a time per site (global concurrency 1) works through the running
// operations oldest first, batch by batch, until its budget is spent, then queues its own
// continuation. The schedule (bulk-update-definition.ts) queues it again every 10 s, so a
// flushed Redis or a lost job only delays an operation: the next run resumes from the row's cursor.

export interface BulkRunOptions {
  /** registry ids per batch (default 1,000) */
  batchSize?: number;
  /** stop after this many batches (default: until the budget is spent) */
  maxBatches?: number;
  /** default: the geo settings' run budget */
  budgetMs?: number;
  /** called after every committed batch */
  onBatch?: (operation: BulkOperation) => Promise<void> | void;
  /** default: the context's (the processor passes its job's, bound to the job id) */
  logger?: Logger;
}

export interface BulkRunResult {
  batches: number;
  /** operations that finished in this run */
  finished: string[];
  /** true when running operations remain (the caller queues a continuation) */
  remaining: boolean;
}

/** Works through running bulk operations until none is left or the budget is spent. */
export async function runBulkOperations(context: SecondaryGeoContext, options: BulkRunOptions = {}): Promise<BulkRunResult> {
  const sql = context.trackingSql;
  const logger = options.logger ?? context.logger;
  const deadline = Date.now() + (options.budgetMs ?? context.settings.runBudgetMs);
  const result: BulkRunResult = { batches: 0, finished: [], remaining: false };
  for (;;) {
    const operation = await nextRunningOperation(sql);
    if (!operation) return result;
    if (result.batches >= (options.maxBatches ?? Number.POSITIVE_INFINITY) || Date.now() >= deadline) {
      result.remaining = true;
      return result;
    }
    const definition = context.replicators.find((r) => r.name === operation.replicable);
    if (!definition) {
      const message = `this site no longer replicates ${operation.replicable}`;
      await failBulkOperation(sql, operation.id, message);
      logger.warn({ operationId: operation.id.toString(), replicable: operation.replicable }, 'bulk registry operation failed: unknown replicable');
      continue;
    }
    const after = await runBulkBatch(sql, definition, operation.id, options.batchSize ?? DEFAULT_BULK_BATCH_SIZE);
    result.batches += 1;
    await options.onBatch?.(after);
    if (after.state !== 'running') {
      result.finished.push(after.id.toString());
      logger.info(
        { operationId: after.id.toString(), replicable: after.replicable, action: after.action, examined: after.examined.toString(), updated: after.updated.toString() },
        'bulk registry operation finished',
      );
    }
  }
}

/** The processor; `options` let tests shrink batches. */
export function registryAdminProcessors(context: SecondaryGeoContext, options: Omit<BulkRunOptions, 'onBatch'> = {}): ProcessorRegistration[] {
  return [
    registerProcessor(registryBulkUpdateJob, async (_payload, { job, logger }: JobContext) => {
      const outcome = await runBulkOperations(context, {
        ...options,
        logger,
        // Bull Board shows the job's progress: the operation it is on, in percent of its id range
        onBatch: async (operation) => {
          await job.updateProgress({ operation: operation.id.toString(), percent: operation.progressPercent, examined: operation.examined.toString(), updated: operation.updated.toString() });
        },
      });
      if (outcome.remaining) {
        await context.queues.add(registryBulkUpdateJob, {});
        logger.debug({ batches: outcome.batches }, 'bulk registry operations continue in a new job');
      }
      return outcome;
    }),
  ];
}

/** Queues a run now (after an operation was recorded) instead of waiting for the schedule. */
export async function enqueueBulkRun(context: GeoContext): Promise<void> {
  await context.queues.add(registryBulkUpdateJob, {});
}
