// Registry admin API of a secondary: queries, single and bulk actions, the bulk job.
export { AdminInputError, AdminNotFoundError, AdminPreconditionError } from './admin-errors';
export { normalizeFilter, MAX_FILTER_IDS, type RegistryFilter, type RegistryStateName, type VerificationStateName } from './registry-filter';
export {
  listRegistries,
  getRegistry,
  findReplicator,
  REGISTRY_SORTS,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  type AdminRegistryRow,
  type ListRegistriesQuery,
  type RegistryPage,
  type RegistrySort,
  type SortDirection,
} from './registry-queries';
export { updateRegistry, parseRegistryAction, REGISTRY_ACTIONS, type RegistryAction } from './registry-actions';
export {
  createBulkOperation,
  getBulkOperation,
  runBulkBatch,
  parseBulkAction,
  BULK_ACTIONS,
  DEFAULT_BULK_BATCH_SIZE,
  type BulkAction,
  type BulkOperation,
  type BulkOperationStateName,
} from './bulk-operations';
export {
  registryAdminProcessors,
  runBulkOperations,
  enqueueBulkRun,
  type BulkRunOptions,
  type BulkRunResult,
} from './bulk-update-job';
export { registryBulkUpdateJob, registryBulkUpdateSchedule, DEFAULT_BULK_UPDATE_INTERVAL_MS } from './bulk-update-definition';
