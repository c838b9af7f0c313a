import { UnsafePathError } from '@meridian/storage';
import type { SecondaryGeoContext } from '../geo-context';

/**
 * Unlinks blobs whose registries were removed (deleted on the primary, orphaned, or out of the
 * selective-sync scope). Rows are claimed with SKIP LOCKED so concurrent runs split the work;
 * a row is deleted only after its file is gone, so a crash retries it.
 */
export async function processPendingDeletions(context: SecondaryGeoContext, limit = 1_000): Promise<number> {
  const tracking = context.trackingSql;
  return tracking.begin(async (tx) => {
    const rows = await tx<{ id: bigint; replicable_name: string; model_id: bigint; blob_path: string | null }[]>`
      select id, replicable_name, model_id, blob_path from geo_pending_deletions
      order by id limit ${limit} for update skip locked`;
    for (const row of rows) {
      if (!row.blob_path) continue;
      try {
        await context.storage.remove(row.blob_path);
      } catch (error) {
        if (!(error instanceof UnsafePathError)) throw error;
        // never act on a path outside the storage root; drop the request and say so
        context.logger.error({ replicable: row.replicable_name, modelId: row.model_id, blobPath: row.blob_path }, 'refused to delete a blob outside the storage root');
      }
    }
    if (rows.length > 0) await tx`delete from geo_pending_deletions where id = any(${rows.map((r) => r.id.toString())}::bigint[])`;
    return rows.length;
  });
}
