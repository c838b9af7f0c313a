import type { ServiceImpl } from '@connectrpc/connect';
import type { Sql } from '@meridian/db';
import {
  AdminPreconditionError,
  createBulkOperation,
  enqueueBulkRun,
  findReplicator,
  getBulkOperation,
  listRegistries,
  updateRegistry,
  type GeoContext,
} from '@meridian/geo';
import type { RegistryAdminService } from '@meridian/proto';
import {
  bulkActionFromProto,
  bulkOperationToProto,
  directionFromProto,
  filterFromProto,
  registryActionFromProto,
  registryToProto,
  sortFromProto,
} from './proto-mapping';

/** Registries live in a secondary's tracking database; a primary has none to administer. */
function tracking(context: GeoContext): Sql {
  if (context.role !== 'secondary' || !context.trackingSql) {
    throw new AdminPreconditionError(`site ${context.siteName} is a ${context.role}: registries exist on secondary sites only; call the secondary's site API`);
  }
  return context.trackingSql;
}

export function createRegistryAdminHandlers(context: GeoContext): ServiceImpl<typeof RegistryAdminService> {
  return {
    async listRegistries(req) {
      const sql = tracking(context);
      const definition = findReplicator(context.replicators, req.replicable);
      const page = await listRegistries(sql, definition, {
        filter: filterFromProto(req.filter),
        sort: sortFromProto(req.sort),
        direction: directionFromProto(req.direction),
        pageSize: req.pageSize,
        pageToken: req.pageToken || undefined,
      });
      return { registries: page.registries.map(registryToProto), nextPageToken: page.nextPageToken ?? '' };
    },

    async updateRegistry(req) {
      const sql = tracking(context);
      const definition = findReplicator(context.replicators, req.replicable);
      const action = registryActionFromProto(req.action);
      return { registry: registryToProto(await updateRegistry(context, sql, definition, req.id, action)) };
    },

    async bulkUpdateRegistries(req) {
      const sql = tracking(context);
      const definition = findReplicator(context.replicators, req.replicable);
      const action = bulkActionFromProto(req.action);
      const operation = await createBulkOperation(sql, definition, action, filterFromProto(req.filter));
      context.logger.info({ operationId: operation.id.toString(), replicable: definition.name, action, maxId: operation.maxId.toString() }, 'bulk registry operation recorded');
      // The row is the intent: if this enqueue fails (Redis down), the schedule runs it later.
      if (operation.state === 'running') {
        await enqueueBulkRun(context).catch((error: unknown) => context.logger.warn({ err: error, operationId: operation.id.toString() }, 'bulk run not queued now; the schedule will run it'));
      }
      return { operation: bulkOperationToProto(operation) };
    },

    async getBulkOperation(req) {
      return { operation: bulkOperationToProto(await getBulkOperation(tracking(context), req.id)) };
    },
  };
}
