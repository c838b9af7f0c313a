import { z } from 'zod';
import { integer } from '../zod-helpers';

// The claims feature's variables. Claiming needs a credential for this cell (CELL_ID) at the
// Topology Service; without TOPOLOGY_CELL_CREDENTIAL a cell makes no claims calls at all, and with
// it the global flag `cells_unique_claims` switches claiming on at run time.

export const claimsConfigSection = z.object({
  /** this cell's credential at the Topology Service (`Authorization: Bearer …`); unset = claims off */
  TOPOLOGY_CELL_CREDENTIAL: z.string().min(16, 'must be at least 16 characters').optional(),
  TOPOLOGY_PROTOCOL: z.enum(['grpc', 'connect', 'grpc-web']).default('grpc'),
  /** in-transaction calls (BeginUpdate/CommitUpdate/RollbackUpdate): deadline per try (upstream 0.3 s) */
  TOPOLOGY_TRANSACTION_TIMEOUT_MS: integer(10, 60_000).default(300),
  /** in-transaction calls: tries on DEADLINE_EXCEEDED / UNAVAILABLE (upstream 2) */
  TOPOLOGY_TRANSACTION_ATTEMPTS: integer(1, 10).default(2),
  /** calls in flight per process before new ones fail at once (upstream proposal 200) */
  TOPOLOGY_MAX_CONCURRENT: integer(1, 10_000).default(200),
  /** consecutive unhealthy failures that open the circuit breaker */
  TOPOLOGY_BREAKER_THRESHOLD: integer(1, 1_000).default(5),
  /** how long an open breaker fails calls at once before one probe */
  TOPOLOGY_BREAKER_OPEN_MS: integer(100, 3_600_000).default(10_000),
  /** how long a read of the `cells_unique_claims` flag is reused */
  CLAIMS_FLAG_CACHE_MS: integer(0, 60_000).default(1_000),
  /** weekly claims verification: cron (UTC) of the window's start (upstream Saturday 00:00) */
  CLAIMS_VERIFICATION_CRON: z
    .string()
    .regex(/^\S+( \S+){4,5}$/, 'must be a cron pattern of 5 or 6 fields')
    .default('0 0 * * 6'),
  /** the verification starts at a uniformly random moment this long after the cron (upstream 23 h 59 min) */
  CLAIMS_VERIFICATION_WINDOW_MS: integer(60_000, 7 * 24 * 3_600_000).default((23 * 60 + 59) * 60_000),
  /** time budget of one verification job before it re-enqueues itself (upstream 4 min 30 s) */
  CLAIMS_VERIFICATION_BUDGET_MS: integer(1_000, 3_600_000).default(270_000),
});
