import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobCatalog, JobDefinition, PayloadOf } from './catalog';

export class InvalidPayloadError extends Error {
  override readonly name = 'InvalidPayloadError';
}

/** The producer side of a catalog: one BullMQ Queue per definition, created on first use. */
export interface QueueSet {
  readonly prefix: string;
  get(definition: JobDefinition): Queue;
  /** every queue of the catalog (creates missing ones) */
  all(): Queue[];
  /** validates the payload against the catalog schema, then adds the job */
  add<D extends JobDefinition>(definition: D, payload: PayloadOf<D>, options?: JobsOptions): Promise<string>;
  close(): Promise<void>;
}

export function createQueueSet(catalog: JobCatalog, connection: Redis, prefix: string): QueueSet {
  const queues = new Map<string, Queue>();
  const get = (definition: JobDefinition): Queue => {
    let queue = queues.get(definition.queue);
    if (!queue) {
      // the set's own catalog entry decides the defaults (it carries the site's configured options)
      const own = catalog.find((d) => d.queue === definition.queue) ?? definition;
      queue = new Queue(definition.queue, { connection, prefix, defaultJobOptions: own.options });
      queue.on('error', () => undefined); // connection errors surface on the calls that hit them
      queues.set(definition.queue, queue);
    }
    return queue;
  };
  return {
    prefix,
    get,
    all: () => catalog.map(get),
    async add(definition, payload, options) {
      const parsed = definition.payload.safeParse(payload);
      if (!parsed.success) {
        throw new InvalidPayloadError(`payload for ${definition.queue}: ${parsed.error.message}`);
      }
      const job = await get(definition).add(definition.queue, parsed.data, options);
      return job.id ?? '';
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
      queues.clear();
    },
  };
}
