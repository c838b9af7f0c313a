import { z } from 'zod';
import { defineJob } from '@meridian/queue';

// The weekly verification's three jobs. A cron (Saturday 00:00 UTC) adds the schedule-within job,
// which adds the schedule job at a uniformly random moment in the next 23 h 59 min; the schedule
// job adds one verification job per claimable model, 10 minutes apart.

export const VERIFICATION_STAGGER_MS = 10 * 60_000;
export const DEFAULT_VERIFICATION_CRON = '0 0 * * 6';
export const DEFAULT_VERIFICATION_WINDOW_MS = (23 * 60 + 59) * 60_000;
export const DEFAULT_VERIFICATION_BUDGET_MS = 4 * 60_000 + 30_000;

export const verificationJob = defineJob({
  queue: 'claims.verification',
  description: 'reconciles one claimable model with the Topology Service, resuming at its cursor; re-enqueued while work remains',
  payload: z.object({ model: z.string().min(1) }).strict(),
  roles: ['primary'],
  // upstream retries 5 times (long enough to outlast a stale lock)
  options: { attempts: 5, backoff: { type: 'exponential', delay: 30_000 }, removeOnComplete: { count: 1_000 }, removeOnFail: { count: 1_000 } },
  concurrency: 1,
});

export const verificationScheduleJob = defineJob({
  queue: 'claims.verification_schedule',
  description: 'enqueues one verification job per claimable model, each 10 minutes after the previous',
  payload: z.object({}).strict(),
  roles: ['primary'],
  options: { attempts: 3, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
});

export const verificationScheduleWithinJob = defineJob({
  queue: 'claims.verification_schedule_within',
  description: 'starts the weekly verification schedule at a uniformly random moment inside the window',
  payload: z.object({}).strict(),
  roles: ['primary'],
  options: { attempts: 3, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
});

/** The flag that switches verification of one model on (upstream names, e.g. `…_organizations_organization`). */
export function verificationFlagName(verificationName: string): string {
  return `cells_claims_verification_worker_${verificationName}`;
}
