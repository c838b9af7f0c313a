import type { JobsOptions } from 'bullmq';
import type { JobDefinition, PayloadOf } from './catalog';
import type { QueueSet } from './queues';

export type Random = () => number;

/** A uniformly random delay in [0, windowMs): spreads a fleet's start times over the window. */
export function randomDelayWithin(windowMs: number, random: Random = Math.random): number {
  if (!Number.isFinite(windowMs) || windowMs <= 0) throw new RangeError(`window must be positive, got ${windowMs}`);
  return Math.min(windowMs - 1, Math.floor(random() * windowMs));
}

/**
 * Adds a job to run at a random moment within `windowMs` from now (e.g. the weekly claims
 * verification: cron at Saturday 00:00, real start anywhere in the next 23 h 59 min so cells do not
 * stampede the Topology Service). A `jobId` makes a repeated call for the same window a no-op.
 */
export async function scheduleWithin<D extends JobDefinition>(
  queues: QueueSet,
  definition: D,
  payload: PayloadOf<D>,
  windowMs: number,
  options: JobsOptions & { random?: Random } = {},
): Promise<{ jobId: string; delayMs: number }> {
  const { random, ...jobOptions } = options;
  const delayMs = randomDelayWithin(windowMs, random);
  const jobId = await queues.add(definition, payload, { ...jobOptions, delay: delayMs });
  return { jobId, delayMs };
}
