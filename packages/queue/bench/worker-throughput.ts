// Baseline: bare BullMQ no-op jobs (addBulk, then a worker at concurrency 50), next to the same
// jobs through Meridian's queue set and worker pool (payload validation, logging, catalog).
import { Queue, Worker } from 'bullmq';
import { z } from 'zod';
import { createSilentLogger } from '@meridian/logger';
import { createTestPrefix, printBench, seconds, testRedisUrl } from '@meridian/testing';
import { createQueueSet, createRedisConnection, defineJob, registerProcessor, startWorkerPool } from '../src';

const JOBS = Number(process.env.BENCH_JOBS ?? 20_000);
const CONCURRENCY = 50;
const BATCH = 1_000;

async function drain(done: () => number): Promise<void> {
  while (done() < JOBS) await new Promise((resolve) => setTimeout(resolve, 5));
}

async function bareBullmq(prefix: string): Promise<number> {
  const producer = await createRedisConnection(testRedisUrl(), 'producer');
  const consumer = await createRedisConnection(testRedisUrl(), 'worker');
  const queue = new Queue('bench.bare', { connection: producer, prefix });
  for (let i = 0; i < JOBS; i += BATCH) {
    await queue.addBulk(Array.from({ length: Math.min(BATCH, JOBS - i) }, (_, j) => ({ name: 'noop', data: { n: i + j }, opts: { removeOnComplete: true } })));
  }
  let completed = 0;
  const elapsed = await seconds(async () => {
    const worker = new Worker('bench.bare', async () => undefined, { connection: consumer, prefix, concurrency: CONCURRENCY });
    worker.on('completed', () => void (completed += 1));
    await drain(() => completed);
    await worker.close();
  });
  await queue.close();
  producer.disconnect();
  consumer.disconnect();
  return JOBS / elapsed;
}

async function meridianPool(prefix: string): Promise<number> {
  const job = defineJob({ queue: 'bench.meridian', description: 'bench', roles: ['primary'], payload: z.object({ n: z.number().int() }), concurrency: CONCURRENCY, options: { removeOnComplete: true } });
  const producer = await createRedisConnection(testRedisUrl(), 'producer');
  const consumer = await createRedisConnection(testRedisUrl(), 'worker');
  const queues = createQueueSet([job], producer, prefix);
  const queue = queues.get(job);
  for (let i = 0; i < JOBS; i += BATCH) {
    await queue.addBulk(Array.from({ length: Math.min(BATCH, JOBS - i) }, (_, j) => ({ name: job.queue, data: { n: i + j } })));
  }
  let completed = 0;
  const elapsed = await seconds(async () => {
    const pool = await startWorkerPool({
      registrations: [registerProcessor(job, async () => void (completed += 1))],
      connection: consumer,
      queues,
      logger: createSilentLogger(),
    });
    await drain(() => completed);
    await pool.close(10_000);
  });
  await queues.close();
  producer.disconnect();
  consumer.disconnect();
  return JOBS / elapsed;
}

async function main(): Promise<void> {
  const { prefix, cleanup } = createTestPrefix('bench');
  try {
    const bare = await bareBullmq(prefix);
    const meridian = await meridianPool(prefix);
    printBench({ name: `bare BullMQ no-op jobs (${JOBS}, concurrency ${CONCURRENCY})`, value: bare, unit: 'jobs/s' });
    printBench({
      name: 'Meridian worker pool no-op jobs',
      value: meridian,
      unit: 'jobs/s',
      baseline: { name: 'bare BullMQ', value: bare },
      target: { ratio: 0.8 },
    });
  } finally {
    await cleanup();
  }
}

void main();
