export { createRedisConnection, assertNoEviction, RedisPolicyError, redactUrl, type ConnectionRole } from './connection';
export {
  defineJob,
  jobsForRole,
  assertUniqueQueues,
  DEFAULT_JOB_OPTIONS,
  type JobDefinition,
  type JobDefinitionInput,
  type JobCatalog,
  type PayloadOf,
  type SiteRole,
} from './catalog';
export { registerProcessor, type ProcessorRegistration, type ProcessFn, type JobContext } from './processor';
export { createQueueSet, InvalidPayloadError, type QueueSet } from './queues';
export { startWorkerPool, type WorkerPool, type WorkerPoolOptions } from './workers';
export { applyGlobalConcurrency } from './global-concurrency';
export { defineSchedule, syncSchedulers, nextCronTime, type ScheduleDefinition, type SchedulerSyncResult } from './schedules';
export { scheduleWithin, randomDelayWithin, type Random } from './schedule-within';
export { onShutdownSignals } from './shutdown';
export { createOutageReporter, isConnectionError, type OutageReporter } from './outage-reporter';
