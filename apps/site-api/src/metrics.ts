import type { Queue } from 'bullmq';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';

const STATES = ['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized', 'waiting-children'] as const;

/**
 * Process metrics plus BullMQ job counts per queue and state, read from Redis at scrape time
 * (a handful of O(1) commands per queue). `extra` lets feature packages add their collectors.
 */
export function createMetricsRegistry(
  queues: () => readonly Queue[],
  labels: Record<string, string>,
  extra: (registry: Registry) => void = () => undefined,
): Registry {
  const registry = new Registry();
  registry.setDefaultLabels(labels);
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'meridian_queue_jobs',
    help: 'BullMQ jobs per queue and state',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      await Promise.all(
        queues().map(async (queue) => {
          const counts = await queue.getJobCounts(...STATES);
          for (const state of STATES) this.set({ queue: queue.name, state }, counts[state] ?? 0);
        }),
      );
    },
  });
  extra(registry);
  return registry;
}
