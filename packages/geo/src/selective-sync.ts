import type { Sql, TransactionSql } from '@meridian/db';

/** The organizations a secondary replicates; empty = all. Stored in its tracking database. */
export async function selectiveSyncOrganizations(tracking: Sql | TransactionSql): Promise<bigint[]> {
  const rows = await tracking<{ organization_id: bigint }[]>`select organization_id from geo_selective_sync_organizations order by 1`;
  return rows.map((r) => r.organization_id);
}

/**
 * Replaces the set. Registries and blobs that fall out of scope are removed by the registry
 * consistency job on its next pass over each type; new ones are backfilled the same way.
 */
export async function setSelectiveSyncOrganizations(tracking: Sql, organizations: readonly bigint[]): Promise<void> {
  await tracking.begin(async (tx) => {
    await tx`delete from geo_selective_sync_organizations`;
    if (organizations.length > 0) {
      await tx`insert into geo_selective_sync_organizations (organization_id) select unnest(${organizations.map(String)}::bigint[])`;
    }
    // start a fresh lap for every type so the change is applied across the whole id space now
    await tx`update geo_consistency_state set next_id = 0, lap_started_at = now(), lap_created = 0, lap_removed = 0`;
  });
}
