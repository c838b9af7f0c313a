import { z } from 'zod';
import { defineJob } from '@meridian/queue';
import { BULK_CLAIMS_BATCH_SIZE } from './limits';

const id = z.string().regex(/^(0|[1-9]\d{0,19})$/, 'a non-negative integer id');
const destroy = z.object({ type: z.number().int().positive(), value: z.string().min(1) }).strict();

/**
 * Claims (or releases) rows written by bulk statements that bypass the data-access layer. Either
 * the ids of created rows (their claims are read when the job runs) or the claims of deleted rows,
 * captured before they were deleted. At most 500 rows per job (upstream batch size).
 */
export const bulkClaimsPayload = z.union([
  z.object({ model: z.string().min(1), createIds: z.array(id).min(1).max(BULK_CLAIMS_BATCH_SIZE) }).strict(),
  z.object({ model: z.string().min(1), destroys: z.array(destroy).min(1).max(BULK_CLAIMS_BATCH_SIZE * 20) }).strict(),
]);

export const bulkClaimsJob = defineJob({
  queue: 'claims.bulk_claims',
  description: 'claims or releases the unique values of rows written in bulk (BeginUpdate + CommitUpdate)',
  payload: bulkClaimsPayload,
  roles: ['primary'],
  // upstream retries 5 times; each try is a new lease, an abandoned one is rolled back by recovery
  options: { attempts: 5, backoff: { type: 'exponential', delay: 2_000 } },
  concurrency: 2,
});

export const leaseRecoveryJob = defineJob({
  queue: 'claims.lease_recovery',
  description: 'finishes leases of lost transactions: commits stale local leases, rolls back stale service-only ones',
  payload: z.object({}).strict(),
  roles: ['primary'],
  options: { attempts: 1, removeOnComplete: { count: 100 }, removeOnFail: { count: 500 } },
  globalConcurrency: 1,
});
