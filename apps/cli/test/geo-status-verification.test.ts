import { createSql, migrationTemplate, type Sql } from '@meridian/db';
import { siteMigrationSet } from '@meridian/runtime';
import { createTestDatabase, type TestDatabase } from '@meridian/testing';
import { EXIT_FAILURE, runCli } from '../src';
import { captureIo } from './capture-io';

// `meridian geo status` on a secondary: verification columns next to sync, and a source that
// cannot be read reported as such while every other figure still prints.

describe('meridian geo status: verification columns', () => {
  const dbs: TestDatabase[] = [];
  let secondary: Record<string, string>;
  let tracking: Sql;
  beforeAll(async () => {
    for (const kind of ['main', 'geo_tracking'] as const) dbs.push(await createTestDatabase('mgeocliv', { template: migrationTemplate(siteMigrationSet(kind)) }));
    secondary = { DATABASE_URL: dbs[0]!.url, GEO_TRACKING_DATABASE_URL: dbs[1]!.url, SITE_ROLE: 'secondary', SITE_NAME: 'secondary' };
    tracking = createSql(dbs[1]!.url, { max: 2 });
    // 4 synced (3 verified, 1 verification failed), 1 failed sync
    await tracking`insert into package_file_registry (package_file_id, state, verification_state) values (1, 2, 2), (2, 2, 2), (3, 2, 2), (4, 2, 3), (5, 3, 0)`;
  });
  afterAll(async () => {
    await tracking.end({ timeout: 1 });
    for (const db of dbs) await db.drop();
  });

  it('--json has upstream verification fields; the table has verified, verified % and verification failed', async () => {
    const io = captureIo(secondary);
    expect(await runCli(['geo', 'status', '--json'], io)).toBe(0);
    expect(JSON.parse(io.stdout())).toMatchObject({
      package_files_registry_count: 5,
      package_files_synced_count: 4,
      package_files_failed_count: 1,
      package_files_verification_total_count: 4,
      package_files_verified_count: 3,
      package_files_verification_failed_count: 1,
      package_files_synced_in_percentage: 80,
      package_files_verified_in_percentage: 60,
      cursor_lag_events: 0,
    });
    const table = captureIo(secondary);
    expect(await runCli(['geo', 'status'], table)).toBe(0);
    expect(table.stdout()).toMatch(/synced %\s+verified\s+verified %\s+verification failed/);
    expect(table.stdout()).toMatch(/Package Files\s+0\s+5\s+0\s+0\s+4\s+1\s+80\.00\s+3\s+60\.00\s+1/);
  });

  it('a source that cannot be read: its fields are null, the others print, the command exits 1 naming it', async () => {
    await tracking`alter table geo_registry_verification_counts rename to geo_registry_verification_counts_away`;
    try {
      const io = captureIo(secondary);
      expect(await runCli(['geo', 'status', '--json'], io)).toBe(EXIT_FAILURE);
      const out = JSON.parse(io.stdout()) as Record<string, unknown>;
      expect(out).toMatchObject({ package_files_synced_count: null, package_files_count: 0, cursor_last_event_id: 0 });
      expect(out.sources_failed).toEqual([{ source: 'registry_counts', error: expect.stringContaining('geo_registry_verification_counts') }]);
      expect(io.stderr()).toContain('status incomplete: registry_counts');
    } finally {
      await tracking`alter table geo_registry_verification_counts_away rename to geo_registry_verification_counts`;
    }
  });
});
