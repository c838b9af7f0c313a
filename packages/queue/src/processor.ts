import type { Job } from 'bullmq';
import type { Logger } from '@meridian/logger';
import type { JobDefinition, PayloadOf } from './catalog';

export interface JobContext {
  job: Job;
  /** child logger bound to queue and job id */
  logger: Logger;
  /** aborted when the worker is force-closed after the shutdown deadline */
  signal: AbortSignal;
}

export type ProcessFn<D extends JobDefinition> = (payload: PayloadOf<D>, context: JobContext) => Promise<unknown>;

/** A definition paired with its handler, ready for a worker. */
export interface ProcessorRegistration<D extends JobDefinition = JobDefinition> {
  definition: D;
  process: ProcessFn<D>;
}

export function registerProcessor<D extends JobDefinition>(definition: D, process: ProcessFn<D>): ProcessorRegistration {
  return { definition, process } as unknown as ProcessorRegistration;
}
