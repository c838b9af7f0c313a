import { siteMigrationSet } from '@meridian/runtime';
import { createQueueSet, createRedisConnection } from '@meridian/queue';
import { createSql, migrationTemplate, type Sql } from '@meridian/db';
import { createTestDatabase, createTestPrefix, spawnTs, testRedisUrl, waitFor, type SpawnedTs, type TestDatabase } from '@meridian/testing';
import type { Redis } from 'ioredis';
import { RESULTS_TABLE, sleepJob } from './fixtures/test-jobs';

const FIXTURE = 'apps/worker/test/fixtures/worker-process.ts';

// each test starts real processes through tsx: on a loaded 2-core CI machine a start alone can take
// most of a minute, so the bounds are wide (they bound a hang, they do not measure anything)
jest.setTimeout(240_000);

describe('worker processes', () => {
  let db: TestDatabase;
  let sql: Sql;
  let redis: Redis;
  let prefix: string;
  let cleanup: () => Promise<void>;
  const children: SpawnedTs[] = [];

  const startWorker = async (env: Record<string, string> = {}): Promise<SpawnedTs> => {
    const child = spawnTs(FIXTURE, {
      DATABASE_URL: db.url,
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      SITE_ROLE: 'primary',
      LOG_LEVEL: 'info',
      ...env,
    });
    children.push(child);
    await waitFor(() => child.output().includes('worker started'), { timeoutMs: 120_000, message: 'worker start' });
    return child;
  };

  beforeAll(async () => {
    db = await createTestDatabase('mworker', { template: migrationTemplate(siteMigrationSet('main')) });
    sql = createSql(db.url, { max: 2 });
    await sql.unsafe(RESULTS_TABLE);
    redis = await createRedisConnection(testRedisUrl(), 'producer');
  });
  beforeEach(() => {
    ({ prefix, cleanup } = createTestPrefix());
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.child.exitCode === null) child.child.kill('SIGKILL');
      await child.exited;
    }
    await cleanup();
  });
  afterAll(async () => {
    redis.disconnect();
    await sql.end();
    await db.drop();
  });

  it('two worker processes share one queue', async () => {
    const [a, b] = await Promise.all([startWorker(), startWorker()]);
    const queues = createQueueSet([sleepJob], redis, prefix);
    const keys = Array.from({ length: 40 }, (_, i) => `share-${i}`);
    // jobs long enough that one process (concurrency 2) cannot drain the queue alone in time
    await Promise.all(keys.map((key) => queues.add(sleepJob, { key, ms: 100 })));
    const rows = await waitFor(async () => {
      const done = await sql<{ pid: number }[]>`select pid from test_job_runs where key like 'share-%'`;
      return done.length === keys.length ? done : undefined;
    }, { timeoutMs: 30_000, message: 'all jobs done' });
    const pids = new Set(rows.map((r) => r.pid));
    expect(pids).toEqual(new Set([a.child.pid, b.child.pid]));
    await queues.close();
  });

  it('SIGTERM lets a running job finish before the process exits', async () => {
    const worker = await startWorker({ SHUTDOWN_TIMEOUT_MS: '20000' });
    const queues = createQueueSet([sleepJob], redis, prefix);
    await queues.add(sleepJob, { key: 'graceful', ms: 1_500 });
    await waitFor(() => worker.output().includes('test job started'), { message: 'job start' });
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    const [row] = await sql<{ pid: number }[]>`select pid from test_job_runs where key = 'graceful'`;
    expect(row?.pid).toBe(worker.child.pid);
    const job = (await queues.get(sleepJob).getJobs(['completed']))[0];
    expect(job?.data).toEqual({ key: 'graceful', ms: 1_500 });
    await queues.close();
  });

  it('force-closes after the shutdown deadline and exits', async () => {
    const worker = await startWorker({ SHUTDOWN_TIMEOUT_MS: '200' });
    const queues = createQueueSet([sleepJob], redis, prefix);
    await queues.add(sleepJob, { key: 'too-slow', ms: 30_000 });
    await waitFor(() => worker.output().includes('test job started'), { message: 'job start' });
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect(worker.output()).toContain('shutdown deadline passed');
    const rows = await sql`select 1 from test_job_runs where key = 'too-slow'`;
    expect(rows).toHaveLength(0);
    await queues.close();
  });

  it('refuses to start on an unmigrated database, naming the command', async () => {
    const empty = await createTestDatabase();
    try {
      const child = spawnTs(FIXTURE, { DATABASE_URL: empty.url, REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix });
      children.push(child);
      expect(await child.exited).toBe(1);
      expect(child.output()).toMatch(/pending migration.*meridian db migrate/s);
    } finally {
      await empty.drop();
    }
  });
});
