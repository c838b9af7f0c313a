import type { Db } from '@meridian/db';
import { enqueueSyncs } from '../jobs/enqueue-syncs';
import type { GeoContext } from '../geo-context';
import { derive, type ReplicatorDefinition } from '../replicator';
import { AdminInputError, AdminNotFoundError } from './admin-errors';
import { registryColumns, toAdminRow, type AdminRegistryRow } from './registry-queries';

export const REGISTRY_ACTIONS = ['resync', 'reverify'] as const;
export type RegistryAction = (typeof REGISTRY_ACTIONS)[number];

/**
 * What an action sets, shared by the single and the bulk form. Retry counts stay (they are the
 * registry's history); only the waits are cleared so the work happens now.
 * - resync: back to pending like a changed mutable blob (markPending); a sync running right now
 *   then fails its `synced` guard (state = started) and the row is synced once more.
 * - reverify: verification back to pending; the secondary's verification re-reads the file.
 */
export function actionSetSql(db: Db, action: RegistryAction) {
  if (action === 'resync') {
    return db`state = 0, retry_at = null, sync_heartbeat_at = null, sync_job_id = null, missing_on_primary = false,
      verification_state = 0, verification_started_at = null, verification_retry_at = null`;
  }
  return db`verification_state = 0, verification_started_at = null, verification_retry_at = null`;
}

/** Rows the action would not change, left out of bulk updates so they cost no write. */
export function actionNeededSql(db: Db, action: RegistryAction) {
  return action === 'resync' ? db`and not (state = 0 and retry_at is null)` : db`and not (verification_state = 0 and verification_retry_at is null)`;
}

export function parseRegistryAction(value: string): RegistryAction {
  if (!(REGISTRY_ACTIONS as readonly string[]).includes(value)) throw new AdminInputError(`action: must be one of ${REGISTRY_ACTIONS.join(', ')}`);
  return value as RegistryAction;
}

/**
 * Applies `action` to one registry (by registry id) and returns it as it is now. A resync also
 * queues the blob's sync at once instead of waiting for the next registry sync run.
 */
export async function updateRegistry(context: GeoContext, db: Db, definition: ReplicatorDefinition, id: bigint, action: RegistryAction): Promise<AdminRegistryRow> {
  if (id <= 0n) throw new AdminInputError(`id: ${id} is not a positive registry id`);
  const d = derive(definition);
  const [row] = await db<Parameters<typeof toAdminRow>[0][]>`
    update ${db(d.registryTable)} set ${actionSetSql(db, action)}
    where id = ${id.toString()}
    returning ${registryColumns(db, definition)}`;
  if (!row) throw new AdminNotFoundError(`no ${definition.name} registry with id ${id}`);
  const registry = toAdminRow(row);
  if (action === 'resync') await enqueueSyncs(context, definition, [{ id: registry.modelId, retryCount: registry.retryCount }]);
  context.logger.info({ replicable: definition.name, registryId: id.toString(), modelId: registry.modelId.toString(), action }, 'registry updated by an admin');
  return registry;
}
