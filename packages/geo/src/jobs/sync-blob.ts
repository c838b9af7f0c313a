import { isFlagEnabled } from '@meridian/db';
import type { Logger } from '@meridian/logger';
import { UnsafePathError } from '@meridian/storage';
import { requireSecret, requireTracking, type GeoContext } from '../geo-context';
import { modelStore } from '../registry/model-store';
import { registryStore } from '../registry/registry-store';
import { replicationFlag, type ReplicatorDefinition } from '../replicator';
import { downloadBlob, FileMissingOnPrimaryError, RemoteNotFoundError, TransferHttpError } from '../transfer';

export type SyncOutcome = 'synced' | 'failed' | 'skipped' | 'superseded';

const HEARTBEAT_EVERY_MS = 10_000;

function describe(error: unknown): string {
  if (error instanceof TransferHttpError) return `primary answered HTTP ${error.status}${error.code ? ` (${error.code})` : ''}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * start → download → synced | failed. Every attempt that started ends in synced or failed, even
 * when something unexpected throws; `synced` only applies while the row is still `started`, so a
 * change on the primary during the download (the row went pending) wins and syncs again.
 */
export async function syncBlob(
  context: GeoContext,
  definition: ReplicatorDefinition,
  modelId: bigint,
  options: { logger?: Logger; signal?: AbortSignal } = {},
): Promise<SyncOutcome> {
  const tracking = requireTracking(context);
  const logger = options.logger ?? context.logger;
  const registry = registryStore(definition);
  if (!(await isFlagEnabled(context.mainSql, replicationFlag(definition)))) return 'skipped';
  const started = await registry.start(tracking, modelId);
  if (!started) return 'skipped'; // gone, already synced, or another worker has it

  let outcome: SyncOutcome | undefined;
  let lastBeat = Date.now();
  const t0 = Date.now();
  try {
    const model = await modelStore(definition).lookup(context.mainSql, modelId);
    if (!model) {
      await registry.failed(tracking, modelId, 'the record no longer exists on the primary');
      outcome = 'failed';
      return outcome;
    }
    const result = await downloadBlob({
      primaryUrl: context.primaryUrl,
      secret: requireSecret(context),
      replicable: definition.name,
      id: modelId,
      storage: context.storage,
      destinationPath: model.blobPath,
      expectedSha256: model.checksum,
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: () => {
        // large blobs: keep the sync-timeout sweeper away while bytes keep flowing
        if (Date.now() - lastBeat < HEARTBEAT_EVERY_MS) return;
        lastBeat = Date.now();
        void registry.heartbeat(tracking, modelId).catch((error: unknown) => logger.warn({ err: error }, 'sync heartbeat failed'));
      },
    });
    if (await registry.synced(tracking, modelId, model.blobPath)) {
      outcome = 'synced';
      logger.debug({ replicable: definition.name, modelId, bytes: result.size, ms: Date.now() - t0 }, 'blob synced');
    } else {
      outcome = 'superseded';
      // Deleted while we downloaded: the file we just wrote belongs to nobody.
      if (!(await registry.get(tracking, modelId))) await context.storage.remove(model.blobPath);
      logger.info({ replicable: definition.name, modelId }, 'blob changed or was deleted during the sync; left for the next sync');
    }
    return outcome;
  } catch (error) {
    const missing = error instanceof FileMissingOnPrimaryError;
    const message = missing
      ? 'the file is missing on the primary'
      : error instanceof RemoteNotFoundError
        ? 'the record no longer exists on the primary'
        : error instanceof UnsafePathError
          ? `refused an unsafe blob path: ${error.message}`
          : describe(error);
    await registry.failed(tracking, modelId, message, { missingOnPrimary: missing });
    outcome = 'failed';
    logger.warn({ replicable: definition.name, modelId, reason: message, missingOnPrimary: missing }, 'blob sync failed');
    return outcome;
  } finally {
    if (outcome === undefined) {
      // something threw past the handlers above (e.g. the registry update itself): never leave `started`
      await registry.failed(tracking, modelId, 'unknown error during sync').catch(() => undefined);
    }
  }
}
