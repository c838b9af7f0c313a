// Bare BullMQ no-op jobs/s (addBulk, then one worker at concurrency 50), as in
// packages/queue/bench/worker-throughput.ts: the same-run baseline of the small-blob bench.
import { Queue, Worker } from 'bullmq';
import { createRedisConnection } from '@meridian/queue';
import { seconds, testRedisUrl } from '@meridian/testing';
import { sleep } from './bench-harness';

export async function bareBullmqJobsPerSecond(prefix: string, jobs = 20_000, concurrency = 50): Promise<number> {
  const producer = await createRedisConnection(testRedisUrl(), 'producer');
  const consumer = await createRedisConnection(testRedisUrl(), 'worker');
  const queue = new Queue('bench.bare', { connection: producer, prefix });
  try {
    for (let i = 0; i < jobs; i += 1_000) {
      await queue.addBulk(Array.from({ length: Math.min(1_000, jobs - i) }, (_, j) => ({ name: 'noop', data: { n: i + j }, opts: { removeOnComplete: true } })));
    }
    let completed = 0;
    const elapsed = await seconds(async () => {
      const worker = new Worker('bench.bare', async () => undefined, { connection: consumer, prefix, concurrency });
      worker.on('completed', () => void (completed += 1));
      while (completed < jobs) await sleep(5);
      await worker.close();
    });
    return jobs / elapsed;
  } finally {
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    producer.disconnect();
    consumer.disconnect();
  }
}
