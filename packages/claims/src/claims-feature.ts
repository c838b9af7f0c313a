import { defineSchedule, registerProcessor, type ProcessorRegistration, type ScheduleDefinition, type JobDefinition, type Random } from '@meridian/queue';
import { bulkClaimsJob, leaseRecoveryJob } from './bulk-claims-job';
import { runBulkClaims } from './bulk-claims';
import type { Claims } from './claims-context';
import { recoverLostTransactions } from './lease-recovery';
import type { DriftKind } from './verification/verification-counts';
import {
  DEFAULT_VERIFICATION_BUDGET_MS,
  DEFAULT_VERIFICATION_CRON,
  DEFAULT_VERIFICATION_WINDOW_MS,
  verificationJob,
  verificationScheduleJob,
  verificationScheduleWithinJob,
} from './verification/verification-jobs';
import { runVerification } from './verification/verification-run';
import { scheduleVerifications, startVerificationWindow } from './verification/verification-schedule';

// What the claims feature adds to a site: its jobs, the every-minute recovery, the weekly
// verification cron, the processors.

export interface VerificationSettings {
  /** cron (UTC) of the weekly start (default Saturday 00:00) */
  cron?: string;
  /** the random start falls inside this window after the cron (default 23 h 59 min) */
  windowMs?: number;
  /** time budget of one verification job (default 4 min 30 s) */
  budgetMs?: number;
  random?: Random;
  onDrift?: (model: string, kind: DriftKind) => void;
}

export function claimsCatalog(): JobDefinition[] {
  return [bulkClaimsJob, leaseRecoveryJob, verificationJob, verificationScheduleJob, verificationScheduleWithinJob];
}

export function claimsSchedules(settings: Pick<VerificationSettings, 'cron'> = {}): ScheduleDefinition[] {
  return [
    defineSchedule({ id: 'claims-lease-recovery', job: leaseRecoveryJob, data: {}, pattern: '* * * * *' }),
    defineSchedule({ id: 'claims-verification-weekly', job: verificationScheduleWithinJob, data: {}, pattern: settings.cron ?? DEFAULT_VERIFICATION_CRON }),
  ];
}

export function claimsProcessors(claims: Claims, settings: VerificationSettings = {}): ProcessorRegistration[] {
  const claimsOff = async () => !claims.client || !(await claims.state());
  return [
    registerProcessor(leaseRecoveryJob, async () => {
      if (await claimsOff()) return { skipped: 'claims are off' };
      return recoverLostTransactions(claims);
    }),
    registerProcessor(bulkClaimsJob, (payload) => runBulkClaims(claims, payload)),
    registerProcessor(verificationScheduleWithinJob, async () => {
      if (!claims.queues) throw new Error('claims verification needs the site queues');
      return startVerificationWindow(claims.queues, settings.windowMs ?? DEFAULT_VERIFICATION_WINDOW_MS, settings.random);
    }),
    registerProcessor(verificationScheduleJob, async () => {
      if (!claims.queues) throw new Error('claims verification needs the site queues');
      if (await claimsOff()) return { skipped: 'claims are off' };
      return scheduleVerifications(claims.queues, claims.models);
    }),
    registerProcessor(verificationJob, async ({ model }, { job }) => {
      const result = await runVerification(claims, model, {
        budgetMs: settings.budgetMs ?? DEFAULT_VERIFICATION_BUDGET_MS,
        queues: claims.queues,
        trigger: 'job',
        onDrift: settings.onDrift,
        onProgress: (p) => job.updateProgress({ model: p.model, lastId: p.lastId ?? null, rows: p.total.rows, created: p.total.created, destroyed: p.total.destroyed, replaced: p.total.replaced, conflicts: p.total.conflicts, skippedRecent: p.total.skippedRecent }),
      });
      return { status: result.status, reason: result.reason, lastId: result.lastId, counts: result.counts, conflicts: result.conflicts };
    }),
  ];
}
