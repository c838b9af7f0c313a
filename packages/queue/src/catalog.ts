import type { JobsOptions } from 'bullmq';
import type { z } from 'zod';

export type SiteRole = 'primary' | 'secondary';

/** Retention on every queue: BullMQ keeps finished jobs forever unless told otherwise. */
export const DEFAULT_JOB_OPTIONS: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 3_600, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3_600, count: 10_000 },
};

/**
 * One entry of the typed job catalog: a queue (one job type per queue), the payload schema, and
 * the defaults a worker needs. Processors are registered separately (they need runtime context).
 */
export interface JobDefinition<S extends z.ZodType = z.ZodType> {
  /** queue name; BullMQ forbids ':' so we use dots, e.g. `geo.sync.package_file` */
  readonly queue: string;
  readonly payload: S;
  /** which site roles run this job's processor */
  readonly roles: readonly SiteRole[];
  /** merged over DEFAULT_JOB_OPTIONS */
  readonly options: JobsOptions;
  /** jobs one worker process runs at once (QUEUE_CONCURRENCY overrides) */
  readonly concurrency: number;
  /** cap across every worker process (QUEUE_GLOBAL_CONCURRENCY overrides); undefined = none */
  readonly globalConcurrency: number | undefined;
  /**
   * how often a job whose worker died (lock lost) is handed to another worker before BullMQ fails
   * it for good (BullMQ's default: 1); idempotent jobs that resume their own work raise it
   */
  readonly maxStalledCount: number;
  readonly description: string;
}

export type PayloadOf<D extends JobDefinition> = z.output<D['payload']>;

export interface JobDefinitionInput<S extends z.ZodType> {
  queue: string;
  payload: S;
  roles: readonly SiteRole[];
  description: string;
  options?: JobsOptions;
  concurrency?: number;
  globalConcurrency?: number;
  maxStalledCount?: number;
}

const QUEUE_NAME = /^[a-z][a-z0-9_.-]{0,99}$/;

export function defineJob<S extends z.ZodType>(input: JobDefinitionInput<S>): JobDefinition<S> {
  if (!QUEUE_NAME.test(input.queue)) {
    throw new Error(`queue name "${input.queue}" must match ${QUEUE_NAME} (no ':' allowed by BullMQ)`);
  }
  return {
    queue: input.queue,
    payload: input.payload,
    roles: input.roles,
    description: input.description,
    options: { ...DEFAULT_JOB_OPTIONS, ...input.options },
    concurrency: input.concurrency ?? 1,
    globalConcurrency: input.globalConcurrency,
    maxStalledCount: input.maxStalledCount ?? 1,
  };
}

export type JobCatalog = readonly JobDefinition[];

/** The jobs whose processors run on a site of `role`. */
export function jobsForRole(catalog: JobCatalog, role: SiteRole): JobDefinition[] {
  return catalog.filter((definition) => definition.roles.includes(role));
}

/** Rejects two definitions for one queue: each queue carries exactly one job type. */
export function assertUniqueQueues(catalog: JobCatalog): void {
  const seen = new Set<string>();
  for (const definition of catalog) {
    if (seen.has(definition.queue)) throw new Error(`two job definitions use queue "${definition.queue}"`);
    seen.add(definition.queue);
  }
}
