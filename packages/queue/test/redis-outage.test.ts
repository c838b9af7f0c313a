import { z } from 'zod';
import { startRedisServer, type RedisServerHandle } from '@meridian/dev-services';
import { createLogger } from '@meridian/logger';
import { waitFor } from '@meridian/testing';
import { createQueueSet, createRedisConnection, defineJob, registerProcessor, startWorkerPool } from '../src';

const a = defineJob({ queue: 'outage.a', description: 'test', roles: ['primary'], payload: z.object({}) });
const b = defineJob({ queue: 'outage.b', description: 'test', roles: ['primary'], payload: z.object({}) });

describe('a Redis outage (private redis-server stopped and started again)', () => {
  let server: RedisServerHandle;
  afterAll(async () => {
    await server?.stop();
  });

  it('logs each connection group lost once, then recovered with the count of suppressed errors', async () => {
    server = await startRedisServer();
    const lines: Array<Record<string, unknown>> = [];
    const logger = createLogger({ name: 'test', level: 'info', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
    const producer = await createRedisConnection(server.url, 'producer', 'outage-producer', logger);
    const workerConnection = await createRedisConnection(server.url, 'worker', 'outage-worker', logger);
    const queues = createQueueSet([a, b], producer, 'outage');
    const pool = await startWorkerPool({
      registrations: [registerProcessor(a, async () => 'a'), registerProcessor(b, async () => 'b')],
      connection: workerConnection,
      queues,
      logger,
    });
    try {
      await Promise.all(pool.workers.map((w) => w.waitUntilReady()));
      let reconnects = 0;
      workerConnection.on('reconnecting', () => (reconnects += 1));
      await server.stop();
      // many reconnect attempts and failed worker commands while Redis is gone
      await waitFor(() => reconnects >= 8, { timeoutMs: 30_000, message: 'reconnect attempts' });
      server = await startRedisServer({ port: server.port });
      const recovered = () => lines.filter((l) => l.msg === 'redis connection recovered');
      await waitFor(() => ['connection outage-worker', 'connection outage-producer', 'workers'].every((g) => recovered().some((l) => l.group === g)), {
        timeoutMs: 30_000,
        message: `every group recovered: ${JSON.stringify(lines.map((l) => [l.level, l.msg, l.group, l.suppressedErrors, (l.err as { message?: string } | undefined)?.message]))}`,
      });
      const errors = lines.filter((l) => (l.level as number) >= 50);
      // exactly one error line per connection group, nothing else at error level
      expect(errors.map((l) => [l.msg, l.group]).sort()).toEqual([
        ['redis connection lost', 'connection outage-producer'],
        ['redis connection lost', 'connection outage-worker'],
        ['redis connection lost', 'workers'],
      ]);
      const worker = recovered().find((l) => l.group === 'connection outage-worker')!;
      expect(worker.suppressedErrors).toBeGreaterThan(0);
      expect(worker.downMs).toEqual(expect.any(Number));
      // and the pool works again
      await queues.add(a, {});
      await waitFor(async () => (await queues.get(a).getCompletedCount()) === 1, { message: 'job after the outage' });
    } finally {
      await pool.close(5_000);
      await queues.close();
      producer.disconnect();
      workerConnection.disconnect();
    }
  });
});
