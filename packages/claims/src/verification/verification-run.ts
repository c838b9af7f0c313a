import { randomUUID } from 'node:crypto';
import { isFlagEnabled, type FlagDefinition } from '@meridian/db';
import type { QueueSet } from '@meridian/queue';
import type { Claimable } from '../claimable';
import type { Claims } from '../claims-context';
import { DEFAULT_VERIFICATION_BUDGET_MS, verificationFlagName, verificationJob } from './verification-jobs';
import { verifyModel, type BatchProgress, type VerificationConflict, type VerifyOptions } from './verification-service';
import { addCounts, emptyCounts, type DriftKind, type VerificationCounts } from './verification-counts';
import { acquireLock, extendLock, finishPass, loadCursor, releaseLock, saveCursor, type VerificationCursor } from './verification-store';

// One verification run of one model, as the job (and `meridian claims verify`) performs it: the
// model's flag, its lock (a PostgreSQL row with an expiry, extended after every batch), its cursor
// (saved after every batch), the time budget, and at the end either the recorded pass (cursor
// reset) or a follow-up job that resumes at the cursor.

export function verificationFlags(models: readonly Claimable[]): FlagDefinition[] {
  return models.map((m) => ({
    name: verificationFlagName(m.verificationName),
    description: `weekly claims verification of ${m.name} (reconcile the table with the Topology Service)`,
    defaultEnabled: false,
  }));
}

export class VerificationLockLostError extends Error {
  override readonly name = 'VerificationLockLostError';
}

export interface RunOptions {
  now?: () => Date;
  /** stop after the batch that ends past this (default 4 min 30 s); Infinity for one long run */
  budgetMs?: number;
  /** where the follow-up job goes; without it an unfinished run just ends (its cursor is saved) */
  queues?: QueueSet | undefined;
  /** recorded with the pass: `job`, `cli` */
  trigger?: string;
  /** a fresh pass from the start (the CLI); the job resumes the saved cursor */
  fromStart?: boolean;
  dryRun?: boolean;
  lockTtlMs?: number;
  owner?: string;
  onProgress?: (progress: BatchProgress & { model: string }) => Promise<void> | void;
  onDrift?: (model: string, kind: DriftKind) => void;
  /** test seam: runs between batches */
  afterBatch?: () => Promise<void>;
  verify?: Pick<VerifyOptions, 'recentMs' | 'batchSize' | 'ownerLookup'>;
}

export interface RunResult {
  model: string;
  status: 'done' | 'continued' | 'paused' | 'skipped';
  reason?: string;
  lastId: string | undefined;
  /** this run's counts */
  counts: VerificationCounts;
  conflicts: VerificationConflict[];
}

export async function runVerification(claims: Claims, modelName: string, options: RunOptions = {}): Promise<RunResult> {
  const model = claims.modelNamed(modelName);
  if (!model) throw new Error(`no claimable model "${modelName}" (known: ${claims.models.map((m) => m.name).join(', ')})`);
  const now = options.now ?? (() => new Date());
  const log = claims.logger.child({ model: model.name });
  const skip = (reason: string): RunResult => {
    log.info({ reason }, 'claims verification skipped');
    return { model: model.name, status: 'skipped', reason, lastId: undefined, counts: emptyCounts(), conflicts: [] };
  };
  const flag = verificationFlags([model])[0]!;
  if (!claims.client || !(await claims.state())) return skip('claims are off');
  if (!(await isFlagEnabled(claims.sql, flag))) return skip(`flag ${flag.name} is disabled`);

  if (options.dryRun) {
    const result = await verifyModel(claims, model, { ...options.verify, dryRun: true, now, onDrift: options.onDrift, onBatch: async (p) => options.onProgress?.({ ...p, model: model.name }) });
    return { model: model.name, status: 'done', lastId: undefined, counts: result.counts, conflicts: result.conflicts };
  }

  const budgetMs = options.budgetMs ?? DEFAULT_VERIFICATION_BUDGET_MS;
  const ttlMs = options.lockTtlMs ?? (Number.isFinite(budgetMs) ? budgetMs + 60_000 : 5 * 60_000);
  const owner = options.owner ?? randomUUID();
  if (!(await acquireLock(claims.sql, model.name, owner, now(), ttlMs))) return skip('another process is verifying this model');
  try {
    const saved = options.fromStart ? undefined : await loadCursor(claims.sql, model.name);
    const cursor: VerificationCursor = saved ?? { model: model.name, lastId: undefined, passStartedAt: now(), rows: 0, counts: emptyCounts() };
    const started = now().getTime();
    const result = await verifyModel(claims, model, {
      ...options.verify,
      startAfter: cursor.lastId,
      now,
      onDrift: options.onDrift,
      shouldStop: () => now().getTime() - started >= budgetMs,
      onBatch: async (progress) => {
        cursor.lastId = progress.lastId;
        cursor.counts = mergeCounts(cursor.counts, progress.batch);
        cursor.rows = cursor.counts.rows;
        if (!(await extendLock(claims.sql, model.name, owner, now(), ttlMs))) throw new VerificationLockLostError(`the verification lock of ${model.name} expired and another process took it`);
        if (!progress.done) await saveCursor(claims.sql, cursor);
        await options.onProgress?.({ ...progress, model: model.name });
        await options.afterBatch?.();
      },
    });
    if (result.skipped) return skip(result.skipped);
    if (result.done) {
      await finishPass(claims.sql, cursor, options.trigger ?? 'job', now());
      log.info({ counts: cursor.counts }, 'claims verification pass finished');
      return { model: model.name, status: 'done', lastId: undefined, counts: result.counts, conflicts: result.conflicts };
    }
    if (options.queues) {
      await options.queues.add(verificationJob, { model: model.name });
      return { model: model.name, status: 'continued', lastId: result.lastId, counts: result.counts, conflicts: result.conflicts };
    }
    return { model: model.name, status: 'paused', lastId: result.lastId, counts: result.counts, conflicts: result.conflicts };
  } finally {
    await releaseLock(claims.sql, model.name, owner);
  }
}

function mergeCounts(a: VerificationCounts, b: VerificationCounts): VerificationCounts {
  return addCounts(addCounts(emptyCounts(), a), b);
}
