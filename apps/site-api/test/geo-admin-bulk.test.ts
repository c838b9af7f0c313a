import type { Sql } from '@meridian/db';
import { enqueueBulkRun, geoSchedules, registryAdminProcessors, secondaryContext, registryBulkUpdateJob, runBulkBatch, type BulkRunOptions } from '@meridian/geo';
import { createLogger } from '@meridian/logger';
import { BulkAction, BulkOperationState, ReplicationState, type BulkOperation } from '@meridian/proto';
import { createRedisConnection, startWorkerPool, type WorkerPool } from '@meridian/queue';
import { deleteKeysWithPrefix, testRedisUrl, waitFor } from '@meridian/testing';
import type { Redis } from 'ioredis';
import { adminClient, ADMIN, createAdminStores, startAdminSite, type AdminSite, type AdminStores } from './geo-admin-harness';

// Bulk resync / reverify: the RPC records the operation in PostgreSQL, a BullMQ worker (real
// Redis) executes it in id batches. Includes a worker stopped mid-operation with Redis flushed.

const TYPE = 'package_file';

describe('BulkUpdateRegistries', () => {
  let stores: AdminStores;
  let secondary: AdminSite;
  let sql: Sql;
  let workerRedis: Redis;
  let pool: WorkerPool | undefined;
  const logger = createLogger({ name: 'geo-admin-bulk-test', level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const admin = () => adminClient(secondary.base, `Bearer ${ADMIN}`);

  async function startWorker(options: Omit<BulkRunOptions, 'onBatch'>): Promise<void> {
    pool = await startWorkerPool({ registrations: registryAdminProcessors(secondaryContext(secondary.site.geo), options), connection: workerRedis, queues: secondary.site.queues, logger });
  }
  async function stopWorker(): Promise<void> {
    await pool?.close(10_000);
    pool = undefined;
  }
  async function finished(id: bigint): Promise<BulkOperation> {
    return waitFor(
      async () => {
        const { operation } = await admin().getBulkOperation({ id });
        return operation && operation.state !== BulkOperationState.RUNNING ? operation : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 100, message: `bulk operation ${id} finished` },
    );
  }

  beforeAll(async () => {
    stores = await createAdminStores();
    secondary = await startAdminSite('secondary', stores);
    sql = secondary.site.trackingSql!;
    workerRedis = await createRedisConnection(testRedisUrl(), 'worker');
  });
  afterAll(async () => {
    await stopWorker();
    workerRedis.disconnect();
    await secondary.close();
    await stores.cleanup();
  });
  beforeEach(async () => {
    await sql`truncate package_file_registry, geo_registry_bulk_operations restart identity`;
  });
  afterEach(stopWorker);

  it('RESYNC_ALL with a filter sends exactly the matching registries back to pending, in batches', async () => {
    // 500 registries: every third failed with a retry wait, the rest synced
    await sql`
      insert into package_file_registry (package_file_id, state, retry_count, retry_at, verification_state)
      select g, case when g % 3 = 0 then 3 else 2 end, case when g % 3 = 0 then 2 else 0 end,
             case when g % 3 = 0 then now() + interval '1 hour' end, 2
      from generate_series(1, 500) g`;
    await startWorker({ batchSize: 40 });
    const { operation } = await admin().bulkUpdateRegistries({ replicable: TYPE, action: BulkAction.RESYNC_ALL, filter: { replicationState: ReplicationState.FAILED } });
    expect(operation?.state).toBe(BulkOperationState.RUNNING);
    expect(operation?.filter?.replicationState).toBe(ReplicationState.FAILED);
    const done = await finished(operation!.id);
    expect([done.state, done.examined, done.updated, done.progressPercent]).toEqual([BulkOperationState.SUCCEEDED, 500n, 166n, 100]);
    expect(await sql`select state, retry_count, (retry_at is null) as cleared, count(*)::int as n from package_file_registry group by 1, 2, 3 order by 1, 2`).toEqual([
      { state: 0, retry_count: 2, cleared: true, n: 166 },
      { state: 2, retry_count: 0, cleared: true, n: 334 },
    ]);
    // Bull Board: the job reported its progress and its outcome
    const queue = secondary.site.queues.get(registryBulkUpdateJob);
    const completed = await queue.getCompleted();
    expect(completed.map((j) => j.progress)).toContainEqual({ operation: operation!.id.toString(), percent: 100, examined: '500', updated: '166' });
  });

  it('REVERIFY_ALL with a keyword touches only matching rows; an empty range finishes at once', async () => {
    const empty = await admin().bulkUpdateRegistries({ replicable: TYPE, action: BulkAction.REVERIFY_ALL });
    expect([empty.operation?.state, empty.operation?.examined, empty.operation?.progressPercent]).toEqual([BulkOperationState.SUCCEEDED, 0n, 100]);
    await sql`
      insert into package_file_registry (package_file_id, state, blob_path, verification_state, verification_retry_at, verified_at)
      select g, 2, case when g % 2 = 0 then 'even/' else 'odd/' end || g, case when g % 5 = 0 then 3 else 2 end,
             case when g % 5 = 0 then now() + interval '1 hour' end, now()
      from generate_series(1, 120) g`;
    await startWorker({ batchSize: 50 });
    const { operation } = await admin().bulkUpdateRegistries({ replicable: TYPE, action: BulkAction.REVERIFY_ALL, filter: { keyword: 'EVEN/' } });
    const done = await finished(operation!.id);
    expect([done.examined, done.updated]).toEqual([120n, 60n]);
    expect(await sql`select left(blob_path, 4) as kind, verification_state, count(*)::int as n from package_file_registry group by 1, 2 order by 1, 2`).toEqual([
      { kind: 'even', verification_state: 0, n: 60 },
      { kind: 'odd/', verification_state: 2, n: 48 },
      { kind: 'odd/', verification_state: 3, n: 12 },
    ]);
    expect((await sql`select count(*)::int as n from package_file_registry where verification_state = 0 and verification_retry_at is not null`)[0]?.n).toBe(0);
  });

  it('survives its worker stopping mid-operation and a Redis flush: resumes from the saved cursor, no batch done twice', async () => {
    const rows = 2_000;
    await sql`
      insert into package_file_registry (package_file_id, state, verification_state, verified_at)
      select g, 2, 2, now() from generate_series(1, ${rows}::int) g`;
    // one batch of 10 per job, each job queuing the next: slow enough to stop in the middle
    await startWorker({ batchSize: 10, maxBatches: 1 });
    const { operation } = await admin().bulkUpdateRegistries({ replicable: TYPE, action: BulkAction.REVERIFY_ALL });
    const id = operation!.id;
    await waitFor(async () => ((await admin().getBulkOperation({ id })).operation?.examined ?? 0n) >= 200n, { timeoutMs: 60_000, message: '200 registries done' });
    await stopWorker();
    // Redis loses everything: queued continuations, job history
    await deleteKeysWithPrefix(secondary.site.queues.prefix);
    const stopped = (await admin().getBulkOperation({ id })).operation!;
    expect(stopped.state).toBe(BulkOperationState.RUNNING);
    expect(stopped.examined).toBeLessThan(BigInt(rows));
    expect(stopped.cursor).toBe(stopped.examined); // ids 1..N: the cursor is the last id done
    expect(stopped.progressPercent).toBeGreaterThan(0);
    expect(stopped.progressPercent).toBeLessThan(100);
    // what was committed is exactly the batches the cursor covers
    const [pending] = await sql<{ n: number }[]>`select count(*)::int as n from package_file_registry where verification_state = 0`;
    expect(BigInt(pending!.n)).toBe(stopped.updated);
    expect(stopped.updated).toBe(stopped.examined);

    // a new worker and one job, as the schedule queues every 10 s (or the next BulkUpdate RPC)
    await startWorker({ batchSize: 500 });
    await enqueueBulkRun(secondary.site.geo);
    const done = await finished(id);
    expect([done.state, done.examined, done.updated, done.cursor]).toEqual([BulkOperationState.SUCCEEDED, BigInt(rows), BigInt(rows), BigInt(rows)]);
    expect(await sql`select verification_state, count(*)::int as n from package_file_registry group by 1`).toEqual([{ verification_state: 0, n: rows }]);
  });

  it('runs batches of one operation one at a time: concurrent runners never repeat a batch', async () => {
    await sql`insert into package_file_registry (package_file_id, state) select g, 3 from generate_series(1, 300) g`;
    const { operation } = await admin().bulkUpdateRegistries({ replicable: TYPE, action: BulkAction.RESYNC_ALL });
    const definition = secondary.site.geo.replicators.find((r) => r.name === TYPE)!;
    // four runners at once, each taking batches of 25 until the operation ends
    const runner = async () => {
      let batches = 0;
      while ((await runBulkBatch(sql, definition, operation!.id, 25)).state === 'running') batches += 1;
      return batches;
    };
    await Promise.all([runner(), runner(), runner(), runner()]);
    const done = (await admin().getBulkOperation({ id: operation!.id })).operation!;
    expect([done.state, done.examined, done.updated, done.cursor]).toEqual([BulkOperationState.SUCCEEDED, 300n, 300n, 300n]);
  });

  it('is queued again by the site schedule (every 10 s), so a lost job only delays it', () => {
    const schedule = geoSchedules().find((s) => s.id === 'geo-registry-bulk-update');
    expect([schedule?.job.queue, schedule?.every]).toEqual([registryBulkUpdateJob.queue, 10_000]);
    expect(registryBulkUpdateJob.roles).toEqual(['secondary']);
    expect(registryBulkUpdateJob.globalConcurrency).toBe(1);
  });

  it('includes only registries that existed when it was requested', async () => {
    await sql`insert into package_file_registry (package_file_id, state) select g, 3 from generate_series(1, 30) g`;
    const { operation } = await admin().bulkUpdateRegistries({ replicable: TYPE, action: BulkAction.RESYNC_ALL });
    await sql`insert into package_file_registry (package_file_id, state) select g, 3 from generate_series(31, 40) g`;
    await startWorker({ batchSize: 7 });
    const done = await finished(operation!.id);
    expect([done.examined, done.updated, done.maxId]).toEqual([30n, 30n, operation!.maxId]);
    expect(await sql`select state, count(*)::int as n from package_file_registry group by 1 order by 1`).toEqual([
      { state: 0, n: 30 },
      { state: 3, n: 10 },
    ]);
  });

  it('marks a pending operation of a type the site no longer replicates as failed instead of looping', async () => {
    const [row] = await sql<{ id: string }[]>`
      insert into geo_registry_bulk_operations (replicable_name, action, min_id, max_id, cursor_id) values ('lfs_object', 'resync_all', 1, 10, 0) returning id::text`;
    await startWorker({});
    await enqueueBulkRun(secondary.site.geo);
    const done = await finished(BigInt(row!.id));
    expect([done.state, done.failure]).toEqual([BulkOperationState.FAILED, 'this site no longer replicates lfs_object']);
  });
});
