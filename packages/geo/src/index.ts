export {
  defineReplicator,
  derive,
  replicationFlag,
  verificationFlag,
  assertDistinct,
  DEFAULT_CAPACITY,
  DEFAULT_SYNC_TIMEOUT_MS,
  DEFAULT_VERIFICATION_CAPACITY,
  type ReplicatorDefinition,
  type DerivedNames,
} from './replicator';
export { GEO_EVENT_NAMES, isGeoEventName, UnknownGeoEventError, type GeoEventName } from './events/event-names';
export { geoMainMigrations, geoCoreMainMigrations } from './schema/main-migrations';
export { geoTrackingMigrations, geoCoreTrackingMigrations } from './schema/tracking-migrations';
export {
  DEFAULT_GEO_SETTINGS,
  capacityOf,
  verificationCapacityOf,
  primaryContext,
  secondaryContext,
  type GeoContext,
  type PrimaryGeoContext,
  type SecondaryGeoContext,
  type GeoSettings,
  GeoConfigurationError,
} from './geo-context';
export { registryStore, RegistryState, MAX_RETRY_WAIT_SECONDS, MISSING_ON_PRIMARY_MAX_RETRY_WAIT_SECONDS, type RegistryRow } from './registry/registry-store';
export { modelStore } from './registry/model-store';
export { selectiveSyncOrganizations, setSelectiveSyncOrganizations } from './selective-sync';
export { geoCatalog, geoSchedules, DEFAULT_GEO_CADENCE, DEFAULT_SYNC_JOB_RETENTION, type SyncJobRetention, type GeoCadence, syncJob, syncJobId, eventCursorJob, registrySyncJob, registryConsistencyJob, syncTimeoutJob, statusReportJob, eventPruneJob } from './jobs/catalog';
export { processEventBatch, runEventCursor } from './jobs/event-cursor';
export { runConsistencyBatch, runRegistryConsistency, lastCompletedLaps, type LapInfo } from './jobs/registry-consistency';
export { fillSyncQueue, runRegistrySync } from './jobs/registry-sync';
export { enqueueSyncs } from './jobs/enqueue-syncs';
export { syncBlob, syncBlobs, type SyncOutcome } from './jobs/sync-blob';
export { runSyncTimeout } from './jobs/sync-timeout';
export { runEventPrune } from './jobs/event-prune';
export { runStatusReport, cursorPosition } from './jobs/status-report';
export { processPendingDeletions } from './jobs/pending-deletions';
export { geoProcessors } from './processors';
export { createGeoPrimaryRouter } from './primary-router';
export {
  typeStatuses,
  cursorStatus,
  modelCounts,
  newestEventId,
  type TypeStatus,
  type CursorStatus,
} from './status';
export { collectGeoStatus, DEFAULT_STATUS_SOURCE_TIMEOUT_MS, DEFAULT_SECONDARY_STALE_MS, type GeoStatusSnapshot, type TypeSnapshot, type SecondarySnapshot, type SourceResult, type StatusOptions } from './status-snapshot';
export { TYPE_STATUS_FIELDS, SITE_STATUS_FIELDS, SECONDARY_REPORT_FIELDS, typeFieldsFor, siteFieldsFor, type TypeStatusField, type SiteStatusField, type SecondaryReportField, type FieldValue } from './status-fields';
export { withinTimeout, StatusSourceTimeoutError, type StatusSite, type FailureRow } from './status-sources';
export { statusMainMigrations, statusTrackingMigrations } from './schema/status-migrations';
export * from './transfer';
export { verificationStore, VerificationState, type ClaimedRow, type VerificationRow } from './verification/verification-store';
export { runVerification, type VerificationRunOptions, type VerificationRunResult } from './verification/run-verification';
export { verificationJob, verificationSchedules, verificationProcessors, DEFAULT_VERIFICATION_INTERVAL_MS } from './verification/verification-jobs';
export { insertGeoEvents } from './events/geo-event-outbox';
export { RETRY_DELAY_FUNCTION_SQL } from './schema/retry-delay';
export * from './admin';
export { registryVerificationStore, type ClaimedRegistry, type RegistryVerificationRow } from './secondary-verification/registry-verification-store';
export { runSecondaryVerification, type SecondaryVerificationRunOptions, type SecondaryVerificationRunResult } from './secondary-verification/run-secondary-verification';
export {
  secondaryVerificationJob,
  secondaryVerificationSchedules,
  secondaryVerificationProcessors,
  requestSecondaryVerification,
} from './secondary-verification/secondary-verification-jobs';
export { replicationEnabled, verificationEnabled } from './replication-enabled';
