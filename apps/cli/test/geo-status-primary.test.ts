import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createOrganization, createPackage, createPackageFile, createProject } from '@meridian/cell-models';
import { createSql, migrationTemplate, type Sql } from '@meridian/db';
import { createFilesystemStorage } from '@meridian/storage';
import { createTestDatabase, type TestDatabase } from '@meridian/testing';
import { Writable } from 'node:stream';
import { siteMigrationSet, siteReplicators } from '@meridian/runtime';
import { progressLine } from '../src/geo-progress';
import { runCli, watchGeoProgress } from '../src';
import { captureIo } from './capture-io';

/** A terminal of `columns` columns that records what is drawn on it. */
function fakeTerminal(columns: number): NodeJS.WriteStream & { text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream & { text: () => string };
  Object.assign(stream, { isTTY: true, columns, rows: 24, text: () => text });
  return stream;
}

// `geo status` on a primary reports what a primary knows; the newest event id survives pruning.
describe('meridian geo status on a primary, and after pruning', () => {
  const dbs: TestDatabase[] = [];
  let primary: Record<string, string>;
  let secondary: Record<string, string>;
  let main: Sql;
  let tracking: Sql;
  let storageDir: string;
  beforeAll(async () => {
    // cloned from migrated templates: no migrations per file
    for (const kind of ['main', 'geo_tracking', 'topology'] as const) dbs.push(await createTestDatabase('mgeoprim', { template: migrationTemplate(siteMigrationSet(kind)) }));
    primary = { DATABASE_URL: dbs[0]!.url, GEO_TRACKING_DATABASE_URL: dbs[1]!.url, TOPOLOGY_DATABASE_URL: dbs[2]!.url };
    secondary = { ...primary, SITE_ROLE: 'secondary', SITE_NAME: 'secondary' };
    expect(await runCli(['db', 'status'], captureIo(primary))).toBe(0);
    main = createSql(dbs[0]!.url, { max: 2 });
    tracking = createSql(dbs[1]!.url, { max: 2 });
    storageDir = mkdtempSync(path.join(tmpdir(), 'meridian-cli-status-'));
    const storage = createFilesystemStorage(storageDir);
    const org = await createOrganization(main, 'org-status');
    const project = await createProject(main, org, 'project-status');
    const pkg = await createPackage(main, project, 'lib');
    for (let i = 0; i < 3; i++) await createPackageFile(main, storage, pkg, `lib-1.${i}.0.tgz`, Buffer.from(`blob ${i}`));
    await main`update package_file_states set verification_state = 2 where package_file_id = (select min(id) from packages_package_files)`;
    await main`insert into geo_secondary_sites (site_name, cursor_event_id, reported_at) values ('secondary', 1, now())`;
  });
  afterAll(async () => {
    await Promise.all([main.end({ timeout: 1 }), tracking.end({ timeout: 1 })]);
    for (const db of dbs) await db.drop();
    rmSync(storageDir, { recursive: true, force: true });
  });

  it('reports rows, checksums, outbox events and each secondary’s last report; no sync percentage', async () => {
    const io = captureIo(primary);
    expect(await runCli(['geo', 'status', '--json'], io)).toBe(0);
    const status = JSON.parse(io.stdout()) as Record<string, unknown>;
    expect(status).toMatchObject({
      role: 'primary',
      package_files_count: 3,
      package_files_checksum_total_count: 3,
      package_files_checksummed_count: 1,
      package_files_events_count: 3,
      event_log_max_id: 3,
      secondaries: [{ site: 'secondary', cursor_event_id: 1, events_behind: 2 }],
    });
    expect(Object.keys(status).some((key) => key.endsWith('_in_percentage') || key.endsWith('_registry_count'))).toBe(false);

    const table = captureIo(primary);
    expect(await runCli(['geo', 'status'], table)).toBe(0);
    expect(table.stdout()).toMatch(/Package Files\s+3\s+1\s+0\s+3/);
    expect(table.stdout()).toContain('secondary secondary: event cursor 1 of 3 (2 behind)');
    expect(table.stdout()).not.toContain('synced %');
  });

  it('after the outbox is pruned, the newest event id is still the newest, never below the cursor', async () => {
    await tracking`update geo_event_cursor set last_event_id = 3`;
    await main`delete from geo_events`; // what event prune does once every secondary is past them
    const io = captureIo(secondary);
    expect(await runCli(['geo', 'status', '--json'], io)).toBe(0);
    expect(JSON.parse(io.stdout())).toMatchObject({ cursor_last_event_id: 3, event_log_max_id: 3 });
    const table = captureIo(secondary);
    expect(await runCli(['geo', 'status'], table)).toBe(0);
    expect(table.stdout()).toContain('event cursor: 3 of 3');
    const onPrimary = captureIo(primary);
    expect(await runCli(['geo', 'status', '--json'], onPrimary)).toBe(0);
    expect(JSON.parse(onPrimary.stdout())).toMatchObject({ event_log_max_id: 3, package_files_events_count: 0 });
  });

  it('progress lines fit an 80-column terminal with every count visible', async () => {
    const figures = { title: 'Helm Metadata Caches', value: 360, total: 360, pending: 12345, failed: 678 };
    for (const width of [80, 60, 50]) {
      const text = progressLine(figures, width);
      expect(text.length).toBeLessThan(width);
      expect(text).toContain('360/360 synced  12345 pending  678 failed');
    }
    expect(progressLine(figures, 80)).toContain('Helm Metadata Caches');
    expect(progressLine(figures, 30).length).toBeLessThan(30); // too narrow for everything: still never wraps
    const terminal = fakeTerminal(80);
    const done = await watchGeoProgress({ replicators: siteReplicators(), main, tracking, timeoutMs: 1, tty: true, stream: terminal, write: () => undefined });
    expect(done).toBe(false);
    const drawn = terminal.text().replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '\n').split(/[\r\n]+/).filter((l) => l.includes('synced'));
    expect(drawn.length).toBeGreaterThan(0);
    for (const l of drawn) {
      expect(l.length).toBeLessThan(80);
      expect(l).toMatch(/\d+\/\d+ synced {2}\d+ pending {2}\d+ failed$/);
    }
  });
});
