import { registerProcessor, type ProcessorRegistration } from '@meridian/queue';
import type { GeoContext } from './geo-context';
import {
  eventCursorJob,
  eventPruneJob,
  registryConsistencyJob,
  registrySyncJob,
  statusReportJob,
  syncJob,
  syncTimeoutJob,
} from './jobs/catalog';
import { runEventCursor } from './jobs/event-cursor';
import { runEventPrune } from './jobs/event-prune';
import { runRegistryConsistency } from './jobs/registry-consistency';
import { runRegistrySync } from './jobs/registry-sync';
import { runStatusReport } from './jobs/status-report';
import { syncBlobs } from './jobs/sync-blob';
import { runSyncTimeout } from './jobs/sync-timeout';
import { verificationProcessors } from './verification/verification-jobs';
import { secondaryVerificationProcessors } from './secondary-verification/secondary-verification-jobs';

/** The geo processors of this site's role (the worker filters by role as well). */
export function geoProcessors(context: GeoContext): ProcessorRegistration[] {
  if (context.role === 'primary') return [registerProcessor(eventPruneJob, () => runEventPrune(context)), ...verificationProcessors(context)];
  return [
    registerProcessor(eventCursorJob, () => runEventCursor(context)),
    registerProcessor(registrySyncJob, () => runRegistrySync(context)),
    registerProcessor(registryConsistencyJob, () => runRegistryConsistency(context)),
    registerProcessor(syncTimeoutJob, () => runSyncTimeout(context)),
    registerProcessor(statusReportJob, () => runStatusReport(context)),
    ...secondaryVerificationProcessors(context),
    ...context.replicators.map((definition) =>
      registerProcessor(syncJob(definition), async ({ modelIds }, { job, logger, signal }) => {
        const ids = modelIds.map((id) => BigInt(id));
        const outcomes = await syncBlobs(context, definition, ids, { logger, signal, ...(job.id ? { jobId: job.id } : {}) });
        const tally: Record<string, number> = {};
        for (const outcome of outcomes.values()) tally[outcome] = (tally[outcome] ?? 0) + 1;
        return tally;
      }),
    ),
  ];
}
