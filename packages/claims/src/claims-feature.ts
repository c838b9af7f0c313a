import { defineSchedule, registerProcessor, type ProcessorRegistration, type ScheduleDefinition, type JobDefinition } from '@meridian/queue';
import { bulkClaimsJob, leaseRecoveryJob } from './bulk-claims-job';
import { runBulkClaims } from './bulk-claims';
import type { Claims } from './claims-context';
import { recoverLostTransactions } from './lease-recovery';

// What the claims feature adds to a site: its jobs, the every-minute recovery, the processors.

export function claimsCatalog(): JobDefinition[] {
  return [bulkClaimsJob, leaseRecoveryJob];
}

export function claimsSchedules(): ScheduleDefinition[] {
  return [defineSchedule({ id: 'claims-lease-recovery', job: leaseRecoveryJob, data: {}, pattern: '* * * * *' })];
}

export function claimsProcessors(claims: Claims): ProcessorRegistration[] {
  return [
    registerProcessor(leaseRecoveryJob, async () => {
      if (!claims.client || !(await claims.state())) return { skipped: 'claims are off' };
      return recoverLostTransactions(claims);
    }),
    registerProcessor(bulkClaimsJob, (payload) => runBulkClaims(claims, payload)),
  ];
}
