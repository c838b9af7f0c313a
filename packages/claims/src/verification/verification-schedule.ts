import { scheduleWithin, type QueueSet, type Random } from '@meridian/queue';
import type { Claimable } from '../claimable';
import { VERIFICATION_STAGGER_MS, verificationJob, verificationScheduleJob } from './verification-jobs';

/** The schedule job: one verification job per model, the i-th delayed by i × 10 minutes. */
export async function scheduleVerifications(
  queues: QueueSet,
  models: readonly Claimable[],
  staggerMs = VERIFICATION_STAGGER_MS,
): Promise<Array<{ model: string; delayMs: number; jobId: string }>> {
  const out = [];
  for (const [index, model] of models.entries()) {
    const delayMs = index * staggerMs;
    const jobId = await queues.add(verificationJob, { model: model.name }, { delay: delayMs });
    out.push({ model: model.name, delayMs, jobId });
  }
  return out;
}

/** The schedule-within job: the schedule job at a uniformly random moment inside the window. */
export function startVerificationWindow(queues: QueueSet, windowMs: number, random?: Random): Promise<{ jobId: string; delayMs: number }> {
  return scheduleWithin(queues, verificationScheduleJob, {}, windowMs, random ? { random } : {});
}
