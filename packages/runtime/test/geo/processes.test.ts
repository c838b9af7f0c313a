import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { createOrganization, createPackage, createPackageFile, createProject } from '@meridian/cell-models';
import { processEventBatch, registryStore, RegistryState, runRegistrySync, runSyncTimeout, syncJob, typeStatuses } from '@meridian/geo';
import { packageFileReplicator } from '@meridian/replicator-package-files';
import { deleteKeysWithPrefix, spawnTs, startThrottledProxy, waitFor, type SpawnedTs, type ThrottledProxy } from '@meridian/testing';
import { startGeoHarness, type GeoHarness } from './geo-harness';

// Real worker and scheduler processes (the apps' own entry points) against the harness's stores.
const WORKER = 'apps/worker/src/main.ts';
const SCHEDULER = 'apps/scheduler/src/main.ts';
const registry = registryStore(packageFileReplicator);
const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('geo replication with real worker processes', () => {
  let h: GeoHarness;
  let proxy: ThrottledProxy;
  let packageId: bigint;
  const children: SpawnedTs[] = [];
  const start = async (entry: string, env: Record<string, string>, ready: string) => {
    const child = spawnTs(entry, env);
    children.push(child);
    await waitFor(() => child.output().includes(ready) || child.child.exitCode !== null, { timeoutMs: 30_000, message: `${entry} start` });
    if (child.child.exitCode !== null) throw new Error(`${entry} exited: ${child.output()}`);
    return child;
  };

  beforeAll(async () => {
    h = await startGeoHarness();
    proxy = await startThrottledProxy(h.primaryPort, 1024 * 1024);
    packageId = await createPackage(h.primary.mainSql, await createProject(h.primary.mainSql, await createOrganization(h.primary.mainSql, 'o'), 'p'), 'pkg');
  });
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.child.exitCode === null && child.child.signalCode === null) child.child.kill('SIGKILL');
      await child.exited;
    }
  });
  afterAll(async () => {
    await proxy.close();
    await h.close();
  });

  it('a worker killed mid-download leaves no partial file and the registry is retried, never stuck', async () => {
    const content = randomBytes(4 * 1024 * 1024); // ~4 s through the 1 MiB/s link
    const id = await createPackageFile(h.primary.mainSql, h.primary.storage, packageId, 'big.bin', content);
    const worker = await start(WORKER, h.secondaryEnv({ PRIMARY_API_URL: proxy.url, GEO_SYNC_TIMEOUT_MS: '1500' }), 'worker started');
    await processEventBatch(h.secondaryGeo); // enqueues the sync
    const finalPath = path.join(h.secondaryRoot, (await h.primary.mainSql<{ file_path: string }[]>`select file_path from packages_package_files where id = ${id.toString()}`)[0]!.file_path);
    const dir = path.dirname(finalPath);
    await waitFor(() => existsSync(dir) && readdirSync(dir).some((f) => f.startsWith('.tmp-')), { message: 'download in progress' });
    expect((await registry.get(h.secondary.trackingSql!, id))?.state).toBe(RegistryState.started);
    worker.child.kill('SIGKILL');
    await worker.exited;
    expect(existsSync(finalPath)).toBe(false);

    // the sweeper fails the silent sync once its heartbeat is older than the timeout
    const sweeper = { ...h.secondaryGeo, settings: { ...h.secondaryGeo.settings, syncTimeoutMs: 1_500 } };
    await waitFor(async () => (await runSyncTimeout(sweeper)).package_file === 1, { timeoutMs: 15_000, message: 'sync timed out' });
    const failed = await registry.get(h.secondary.trackingSql!, id);
    expect(failed).toMatchObject({ state: RegistryState.failed, retry_count: 1 });
    expect(failed?.last_sync_failure).toMatch(/timed out/);
    expect(await h.secondary.storage.sweepTemporaryFiles(0)).toBeGreaterThanOrEqual(1);

    // retried by a new worker once due: synced, identical bytes
    await start(WORKER, h.secondaryEnv(), 'worker started');
    await h.secondary.trackingSql!`update package_file_registry set retry_at = now() where package_file_id = ${id.toString()}`;
    await runRegistrySync(h.secondaryGeo);
    await h.waitForState(packageFileReplicator, id, RegistryState.synced, 30_000);
    expect(sha(readFileSync(finalPath))).toBe(sha(content));
  });

  it('a killed worker\'s batch is resumed by its re-delivered job at once, not left for the sync timeout', async () => {
    const content = randomBytes(4 * 1024 * 1024); // ~4 s through the 1 MiB/s link
    const id = await createPackageFile(h.primary.mainSql, h.primary.storage, packageId, 'resumed.bin', content);
    // a timeout far beyond the test's wait: only a resumed job can sync the blob in time
    const env = h.secondaryEnv({ PRIMARY_API_URL: proxy.url, GEO_SYNC_TIMEOUT_MS: '3600000' });
    const first = await start(WORKER, env, 'worker started');
    await processEventBatch(h.secondaryGeo);
    await waitFor(async () => (await registry.get(h.secondary.trackingSql!, id))?.state === RegistryState.started, { message: 'sync started' });
    first.child.kill('SIGKILL');
    await first.exited;
    expect((await registry.get(h.secondary.trackingSql!, id))?.state).toBe(RegistryState.started);

    // BullMQ's stall check in the next worker hands it the same job (same id), which takes its row back
    await start(WORKER, h.secondaryEnv({ GEO_SYNC_TIMEOUT_MS: '3600000' }), 'worker started');
    await h.waitForState(packageFileReplicator, id, RegistryState.synced, 120_000);
    // never failed and retried: the same attempt finished
    expect(await registry.get(h.secondary.trackingSql!, id)).toMatchObject({ state: RegistryState.synced, retry_count: 0, last_sync_failure: null });
    const finalPath = path.join(h.secondaryRoot, (await h.primary.mainSql<{ file_path: string }[]>`select file_path from packages_package_files where id = ${id.toString()}`)[0]!.file_path);
    expect(sha(readFileSync(finalPath))).toBe(sha(content));
  }, 150_000);

  it('the global concurrency limit holds across two worker processes', async () => {
    const env = h.secondaryEnv({
      PRIMARY_API_URL: proxy.url,
      QUEUE_GLOBAL_CONCURRENCY: 'geo.sync.package_file=3',
      QUEUE_CONCURRENCY: 'geo.sync.package_file=10',
    });
    await Promise.all([start(WORKER, env, 'worker started'), start(WORKER, env, 'worker started')]);
    const ids: bigint[] = [];
    for (let i = 0; i < 15; i++) ids.push(await createPackageFile(h.primary.mainSql, h.primary.storage, packageId, `c-${i}.bin`, randomBytes(300 * 1024)));
    // one blob per job, so 15 jobs compete for the 3 slots
    await processEventBatch({ ...h.secondaryGeo, settings: { ...h.secondaryGeo.settings, syncBatchSize: 1 } });
    h.transfers.max = 0;
    let maxActiveJobs = 0;
    const syncQueue = h.secondary.queues.get(syncJob(packageFileReplicator));
    await waitFor(
      async () => {
        maxActiveJobs = Math.max(maxActiveJobs, await syncQueue.getActiveCount());
        const [row] = await h.secondary.trackingSql!<{ synced: number }[]>`
          select count(*) filter (where state = 2)::int as synced
          from package_file_registry where package_file_id = any(${ids.map(String)}::bigint[])`;
        return row!.synced === ids.length;
      },
      { timeoutMs: 60_000, intervalMs: 20, message: 'all synced' },
    );
    // downloads the primary served at once, across both worker processes
    expect(h.transfers.max).toBeGreaterThanOrEqual(1);
    expect(h.transfers.max).toBeLessThanOrEqual(3);
    expect(maxActiveJobs).toBeLessThanOrEqual(3);
  });

  it('flushing Redis mid-run still converges to 100 % synced', async () => {
    const env = h.secondaryEnv({
      PRIMARY_API_URL: proxy.url,
      GEO_EVENT_CURSOR_INTERVAL_MS: '200',
      GEO_REGISTRY_SYNC_INTERVAL_MS: '300',
      GEO_CONSISTENCY_INTERVAL_MS: '2000',
      GEO_SYNC_TIMEOUT_CHECK_INTERVAL_MS: '500',
      GEO_SYNC_TIMEOUT_MS: '2000',
      SCHEDULER_RESYNC_MS: '1000',
    });
    await start(SCHEDULER, env, 'job schedulers synced');
    await start(WORKER, env, 'worker started');
    for (let i = 0; i < 60; i++) await createPackageFile(h.primary.mainSql, h.primary.storage, packageId, `f-${i}.bin`, randomBytes(64 * 1024));
    const progress = async () => (await typeStatuses(h.secondaryGeo.replicators, h.secondary.mainSql, h.secondary.trackingSql)).find((s) => s.name === 'package_file')!;
    await waitFor(async () => (await progress()).synced >= 10, { timeoutMs: 30_000, message: 'some synced' });
    expect((await progress()).synced).toBeLessThan((await progress()).count);
    await deleteKeysWithPrefix(env.QUEUE_PREFIX!); // every queue, job and scheduler of the secondary: gone
    const diagnose = async () =>
      JSON.stringify(
        await h.secondary.trackingSql!`
          select state, count(*)::int as n, min(retry_at) as next_retry, max(last_sync_failure) as failure
          from package_file_registry group by state`,
      );
    await waitFor(
      async () => {
        const s = await progress();
        return s.count > 0 && s.synced === s.count && s.registryCount === s.count;
      },
      { timeoutMs: 130_000, intervalMs: 250, message: '100 % synced after the flush' },
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}; registries: ${await diagnose()}; worker: ${children.map((c) => c.output().slice(-1500)).join('\n---\n')}`);
    });
    expect((await progress()).syncedInPercentage).toBe(100);
    // syncs lost with the flush were failed by the sweeper and retried after their backoff (16–74 s)
  }, 150_000);
});
