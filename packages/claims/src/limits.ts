// Limits shared by the cells and the Topology Service (upstream client and design facts).

/** longest claimed value in UTF-8 bytes (design schema: bucket_value STRING(1024)) */
export const MAX_VALUE_BYTES = 1024;
/** records in one BeginUpdate sent by background work (verification, bulk) */
export const MAX_RECORDS_PER_UPDATE = 1000;
/** estimated bytes of one BeginUpdate: value bytes plus RECORD_OVERHEAD_BYTES per record */
export const MAX_UPDATE_BYTES = 10 * 1024 * 1024;
export const RECORD_OVERHEAD_BYTES = 200;
/** longest primary-key bytes a source may carry */
export const MAX_SOURCE_ID_BYTES = 255;
/** rows per bulk-claims job (upstream BULK_CLAIMS_BATCH_SIZE) */
export const BULK_CLAIMS_BATCH_SIZE = 500;
/** a lease older than this is stale: recovery finishes it (upstream LEASE_STALENESS_THRESHOLD) */
export const LEASE_STALE_MS = 5 * 60_000;
/** window of the every-minute recovery scan (a full scan runs hourly) */
export const RECOVERY_WINDOW_MS = 2 * 60 * 60_000;
