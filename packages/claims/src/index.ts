export * from './rules';
export { defineClaimable, ClaimableDefinitionError, MissingPrimaryKeyError, type Claimable, type ClaimableInput, type ClaimedAttribute, type ClaimMetadata, type Row } from './claimable';
export { ClaimTakenError, ClaimsUnavailableError, type TakenValue } from './errors';
export { claimsMainMigrations } from './migrations';
export { createClaims, claimsFlags, uniqueClaimsFlag, type Claims, type ClaimsOptions, type ClaimsState } from './claims-context';
export { withClaims, type ClaimsWriter } from './claims-transaction';
export { recoverLostTransactions, type RecoveryResult } from './lease-recovery';
export { runBulkClaims } from './bulk-claims';
export { bulkClaimsJob, bulkClaimsPayload, leaseRecoveryJob } from './bulk-claims-job';
export { claimsCatalog, claimsSchedules, claimsProcessors, type VerificationSettings } from './claims-feature';
export { DRIFT_KINDS, emptyCounts, type DriftKind, type VerificationCounts } from './verification/verification-counts';
export { verifyModel, VerificationPaginationError, VERIFICATION_BATCH_SIZE, RECENTLY_CHANGED_MS, type VerifyOptions, type VerifyResult, type VerificationConflict, type BatchProgress } from './verification/verification-service';
export { runVerification, verificationFlags, VerificationLockLostError, type RunOptions, type RunResult } from './verification/verification-run';
export {
  verificationJob,
  verificationScheduleJob,
  verificationScheduleWithinJob,
  verificationFlagName,
  VERIFICATION_STAGGER_MS,
  DEFAULT_VERIFICATION_CRON,
  DEFAULT_VERIFICATION_WINDOW_MS,
  DEFAULT_VERIFICATION_BUDGET_MS,
} from './verification/verification-jobs';
export { createOwnerLookup, type OwnerLookup } from './verification/owning-cell';
export { scheduleVerifications, startVerificationWindow } from './verification/verification-schedule';
export { loadCursor, listPasses, lockHolder, acquireLock, releaseLock, type VerificationCursor, type VerificationPass } from './verification/verification-store';
