import type { Logger } from '@meridian/logger';
import { UnsafePathError } from '@meridian/storage';
import { requireSecret, type SecondaryGeoContext } from '../geo-context';
import { modelStore } from '../registry/model-store';
import { registryStore } from '../registry/registry-store';
import { replicationEnabled } from '../replication-enabled';
import { derive, type ReplicatorDefinition } from '../replicator';
import { requestSecondaryVerification } from '../secondary-verification/secondary-verification-jobs';
import { downloadBatch, FileMissingOnPrimaryError, RemoteNotFoundError, TransferHttpError } from '../transfer';

export type SyncOutcome = 'synced' | 'failed' | 'skipped' | 'superseded';


function describe(error: unknown): string {
  if (error instanceof TransferHttpError) return `primary answered HTTP ${error.status}${error.code ? ` (${error.code})` : ''}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

function failureOf(error: unknown): { message: string; missingOnPrimary: boolean } {
  if (error instanceof FileMissingOnPrimaryError) return { message: 'the file is missing on the primary', missingOnPrimary: true };
  if (error instanceof RemoteNotFoundError) return { message: 'the record no longer exists on the primary', missingOnPrimary: false };
  if (error instanceof UnsafePathError) return { message: `refused an unsafe blob path: ${error.message}`, missingOnPrimary: false };
  return { message: describe(error), missingOnPrimary: false };
}

/**
 * Syncs a batch of one type's blobs: start all (one statement) → download them in one batch
 * request, written one after another without a per-file fsync before the rename (large ones flush
 * behind the next download) → flush the batch's files together (parallel fdatasync +
 * directory fsync) → synced (one statement) | failed (per blob). No registry says synced before
 * its file is durable. Every registry this call started ends
 * in synced or failed, even when something unexpected throws; `synced` only applies while the row
 * is still `started`, so a change on the primary during the download (the row went pending)
 * wins and the blob is synced again. Returns each id's outcome.
 */
export async function syncBlobs(
  context: SecondaryGeoContext,
  definition: ReplicatorDefinition,
  modelIds: readonly bigint[],
  options: { logger?: Logger; signal?: AbortSignal; jobId?: string } = {},
): Promise<Map<bigint, SyncOutcome>> {
  const tracking = context.trackingSql;
  const logger = options.logger ?? context.logger;
  const registry = registryStore(definition);
  const outcomes = new Map<bigint, SyncOutcome>(modelIds.map((id) => [id, 'skipped']));
  if (!(await replicationEnabled(context, definition))) return outcomes;
  // gone, synced, or held by another job → skipped; held by this job id (re-delivered) → resumed
  const held = await registry.startMany(tracking, modelIds, options.jobId);
  if (held.size === 0) return outcomes;

  const open = new Set(held.keys());
  const fail = async (id: bigint, message: string, missingOnPrimary = false) => {
    open.delete(id);
    outcomes.set(id, 'failed');
    await registry.failed(tracking, id, message, { missingOnPrimary });
  };
  // Long batches and large blobs: beat well within the sweeper's timeout while work progresses.
  const beatEveryMs = Math.min(10_000, (context.settings.syncTimeoutMs ?? derive(definition).syncTimeoutMs) / 4);
  let lastBeat = Date.now();
  const beat = () => {
    if (Date.now() - lastBeat < beatEveryMs) return;
    lastBeat = Date.now();
    void registry.heartbeat(tracking, [...open]).catch((error: unknown) => logger.warn({ err: error }, 'sync heartbeat failed'));
  };
  try {
    const models = new Map((await modelStore(definition).lookupMany(context.mainSql, [...held.keys()])).map((m) => [m.id, m]));
    const targets = [];
    for (const id of held.keys()) {
      const model = models.get(id);
      if (!model) await fail(id, 'the record no longer exists on the primary');
      else targets.push({ id, destinationPath: model.blobPath, expectedSha256: model.checksum });
    }
    const done: Array<{ id: bigint; blobPath: string }> = [];
    if (targets.length > 0 && !options.signal?.aborted) {
      // one request for the whole batch; the files are made durable together below
      const results = await downloadBatch({
        primaryUrl: context.primaryUrl,
        secret: requireSecret(context),
        replicable: definition.name,
        targets,
        storage: context.storage,
        durable: false,
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: beat,
      });
      for (const target of targets) {
        const result = results.get(target.id);
        if (result && 'ok' in result) {
          done.push({ id: target.id, blobPath: target.destinationPath });
          continue;
        }
        const { message, missingOnPrimary } = failureOf(result?.error ?? new Error('no result'));
        logger.warn({ replicable: definition.name, modelId: target.id, reason: message, missingOnPrimary }, 'blob sync failed');
        await fail(target.id, message, missingOnPrimary);
      }
    }
    try {
      await context.storage.syncFiles(done.map((d) => d.blobPath));
    } catch (error) {
      for (const { id } of done.splice(0)) await fail(id, `could not flush the downloaded file: ${describe(error)}`);
    }
    const synced = await registry.syncedMany(tracking, done);
    for (const { id, blobPath } of done) {
      open.delete(id);
      if (synced.has(id)) {
        outcomes.set(id, 'synced');
        continue;
      }
      outcomes.set(id, 'superseded');
      // Deleted while we downloaded: the file we just wrote belongs to nobody.
      if (!(await registry.get(tracking, id))) await context.storage.remove(blobPath);
      logger.info({ replicable: definition.name, modelId: id }, 'blob changed or was deleted during the sync; left for the next sync');
    }
    // fresh files are verification pending: ask for a verification job instead of waiting for the schedule
    if (synced.size > 0) {
      await requestSecondaryVerification(context, definition).catch((error: unknown) => logger.warn({ err: error }, 'could not request secondary verification'));
    }
    return outcomes;
  } finally {
    // anything still held (an exception, an abort): never leave a registry `started`
    for (const id of open) {
      outcomes.set(id, 'failed');
      await registry.failed(tracking, id, options.signal?.aborted ? 'sync aborted (worker shutting down)' : 'unknown error during sync').catch(() => undefined);
    }
  }
}

/** One blob: `syncBlobs` with a single id. */
export async function syncBlob(
  context: SecondaryGeoContext,
  definition: ReplicatorDefinition,
  modelId: bigint,
  options: { logger?: Logger; signal?: AbortSignal } = {},
): Promise<SyncOutcome> {
  return (await syncBlobs(context, definition, [modelId], options)).get(modelId) ?? 'skipped';
}
