import { siteMigrationSet } from '@meridian/runtime';
import { migrationTemplate } from '@meridian/db';
import { createTestDatabase, type TestDatabase } from '@meridian/testing';
import { runCli, EXIT_USAGE } from '../src';
import { captureIo } from './capture-io';

describe('meridian geo', () => {
  const dbs: TestDatabase[] = [];
  let primary: Record<string, string>;
  let secondary: Record<string, string>;
  beforeAll(async () => {
    // cloned from migrated templates: no migrations per file
    for (const kind of ['main', 'geo_tracking', 'topology'] as const) dbs.push(await createTestDatabase('mgeocli', { template: migrationTemplate(siteMigrationSet(kind)) }));
    primary = { DATABASE_URL: dbs[0]!.url, GEO_TRACKING_DATABASE_URL: dbs[1]!.url, TOPOLOGY_DATABASE_URL: dbs[2]!.url };
    secondary = { ...primary, SITE_ROLE: 'secondary', SITE_NAME: 'secondary' };
    expect(await runCli(['db', 'status'], captureIo(primary))).toBe(0);
  });
  afterAll(async () => {
    for (const db of dbs) await db.drop();
  });

  it('status --json prints upstream field names per type', async () => {
    const io = captureIo(secondary);
    expect(await runCli(['geo', 'status', '--json'], io)).toBe(0);
    const status = JSON.parse(io.stdout()) as Record<string, unknown>;
    expect(status).toMatchObject({
      role: 'secondary',
      package_files_count: 0,
      package_files_registry_count: 0,
      package_files_synced_count: 0,
      package_files_failed_count: 0,
      package_files_synced_in_percentage: 0,
      packages_helm_metadata_caches_count: 0,
      cursor_last_event_id: 0,
    });
  });

  it('status prints a table a person can read', async () => {
    const io = captureIo(secondary);
    expect(await runCli(['geo', 'status'], io)).toBe(0);
    expect(io.stdout()).toMatch(/type\s+primary\s+registry\s+pending\s+started\s+synced\s+failed\s+synced %/);
    expect(io.stdout()).toContain('Helm Metadata Caches');
  });

  it('selective-sync set/show/clear round-trips, and rejects bad ids with exit 2', async () => {
    expect(await runCli(['geo', 'selective-sync', 'set', '3,7'], captureIo(secondary))).toBe(0);
    const show = captureIo(secondary);
    expect(await runCli(['geo', 'selective-sync', 'show', '--json'], show)).toBe(0);
    expect(JSON.parse(show.stdout())).toEqual({ organizationIds: [3, 7] });
    const bad = captureIo(secondary);
    expect(await runCli(['geo', 'selective-sync', 'set', '3,x'], bad)).toBe(EXIT_USAGE);
    expect(bad.stderr()).toContain('positive organization ids');
    expect(await runCli(['geo', 'selective-sync', 'clear'], captureIo(secondary))).toBe(0);
  });

  it('laps --json lists each type: no completed lap yet, the current one not started', async () => {
    const io = captureIo(secondary);
    expect(await runCli(['geo', 'laps', '--json'], io)).toBe(0);
    const laps = JSON.parse(io.stdout()) as Array<Record<string, unknown>>;
    expect(laps).toHaveLength(2);
    expect(laps[0]).toMatchObject({ type: 'package_file', 'current lap': '0.0 %' });
    expect(laps[0]!['last lap finished']).toBeUndefined();
  });

  it('secondary-only commands refuse a primary configuration with exit 2', async () => {
    const io = captureIo(primary);
    expect(await runCli(['geo', 'selective-sync', 'show'], io)).toBe(EXIT_USAGE);
    expect(io.stderr()).toContain('SITE_ROLE=secondary');
  });

  it('sites remove of an unknown site is a usage error', async () => {
    const io = captureIo(primary);
    expect(await runCli(['geo', 'sites', 'remove', 'nowhere'], io)).toBe(EXIT_USAGE);
    expect(io.stderr()).toContain('no secondary named "nowhere"');
  });

  it('lists the geo replication flags and toggles one', async () => {
    expect(await runCli(['flags', 'disable', 'geo_package_file_replication'], captureIo(primary))).toBe(0);
    const list = captureIo(primary);
    expect(await runCli(['flags', 'list', '--json'], list)).toBe(0);
    const flags = JSON.parse(list.stdout()) as Array<{ name: string; enabled: boolean }>;
    expect(flags.find((f) => f.name === 'geo_package_file_replication')?.enabled).toBe(false);
    expect(flags.find((f) => f.name === 'geo_packages_helm_metadata_cache_replication')?.enabled).toBe(true);
  });
});
