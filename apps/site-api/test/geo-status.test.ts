import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '@meridian/config';
import { createOrganization, createPackage, createProject } from '@meridian/cell-models';
import { migrationTemplate } from '@meridian/db';
import type { GeoStatusSnapshot } from '@meridian/geo';
import { createLogger } from '@meridian/logger';
import { openSiteResources, siteMigrationSet, type SiteResources } from '@meridian/runtime';
import { closeServer, createTestDatabase, createTestPrefix, deleteKeysWithPrefix, listenLocal, testRedisUrl, waitFor, type TestDatabase } from '@meridian/testing';
import { chromium, type Browser } from 'playwright-core';
import { createSiteApi } from '../src';

// The geo status JSON API, the /admin/geo page (in Debian's headless chromium) and the /metrics
// exposition (checked by Prometheus' own promtool), on a real primary and secondary.

const ADMIN = 'admin-token-for-status-01';
const VIEWER = 'viewer-token-for-status-1';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PROMTOOL = process.env.PROMTOOL_PATH ?? 'promtool';
const VIEWPORT = { width: 1280, height: 900 };
const basic = (user: string, token: string) => `Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;

/**
 * `promtool check metrics` (Prometheus' linter: a strict parse of the text format, then lint
 * rules). Upstream names two gauges `…_checksum_total` / `…_verification_total`, and prom-client's
 * default metrics have three `nodejs_active_…_total` gauges, which the lint rule for `_total` on
 * non-counters flags; those problems, and only those, are expected.
 */
function promtool(exposition: string): { status: number | null; problems: string[]; output: string } {
  const run = spawnSync(PROMTOOL, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  if (run.error) throw new Error(`promtool not runnable (${run.error.message}): install Debian's prometheus package (.ci/run does)`);
  const output = `${run.stdout}${run.stderr}`;
  const problems = output.split('\n').filter((line) => line.trim() !== '');
  return { status: run.status, problems, output };
}
const UPSTREAM_TOTAL_NAME = /^(geo_[a-z_]+_(checksum|verification)|nodejs_active_(handles|requests|resources))_total non-counter metrics should not have "_total" suffix$/;

const listen = (site: SiteResources) => listenLocal(createSiteApi({ site, adminToken: ADMIN, viewerToken: VIEWER, geoStatus: { pageRefreshMs: 300 } }));

async function status(base: string): Promise<GeoStatusSnapshot> {
  const response = await fetch(`${base}/api/v1/geo/status`, { headers: { authorization: `Bearer ${VIEWER}` } });
  expect(response.status).toBe(200);
  return (await response.json()) as GeoStatusSnapshot;
}

/** PNG width and height from the IHDR chunk. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

describe('geo status: JSON API, page and metrics', () => {
  let mainDb: TestDatabase;
  let trackingDb: TestDatabase;
  let primary: SiteResources;
  let secondary: SiteResources;
  let primaryApi: { server: Server; base: string };
  let secondaryApi: { server: Server; base: string };
  let browser: Browser;
  const storageRoot = mkdtempSync(path.join(tmpdir(), 'meridian-geo-status-'));
  const shots = mkdtempSync(path.join(tmpdir(), 'meridian-geo-status-shots-'));
  const { prefix, cleanup } = createTestPrefix();
  const logger = createLogger({ name: 'test', level: 'silent' });
  const hostile = '<img src=x onerror="document.title=\'pwned\'"><script>document.title="pwned"</script> & "quotes"';

  beforeAll(async () => {
    mainDb = await createTestDatabase('mgsapi', { template: migrationTemplate(siteMigrationSet('main')) });
    trackingDb = await createTestDatabase('mgsapit', { template: migrationTemplate(siteMigrationSet('geo_tracking')) });
    const env = { STORAGE_ROOT: storageRoot, DATABASE_URL: mainDb.url, REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix };
    primary = await openSiteResources(loadConfig(env), logger, { redisRole: 'producer', poolSize: 3 });
    secondary = await openSiteResources(
      loadConfig({ ...env, SITE_ROLE: 'secondary', SITE_NAME: 'secondary-1', GEO_TRACKING_DATABASE_URL: trackingDb.url, QUEUE_PREFIX: `${prefix}-s` }),
      logger,
      { redisRole: 'producer', poolSize: 3 },
    );
    primaryApi = await listen(primary);
    secondaryApi = await listen(secondary);
    const main = primary.mainSql;
    const org = await createOrganization(main, 'status-page');
    const pkg = await createPackage(main, await createProject(main, org, 'status-page'), 'lib');
    await main`insert into packages_package_files (package_id, file_name, file_path, size) select ${pkg.toString()}, 'f' || g, 'p/' || g, 1 from generate_series(1, 12) g`;
    await main`update package_file_states set verification_state = 2 where package_file_id % 3 <> 0`;
    await main`update package_file_states set verification_state = 3, verification_failure = ${hostile} where package_file_id = (select min(package_file_id) from package_file_states where package_file_id % 3 = 0)`;
    await main`insert into geo_secondary_sites (site_name, cursor_event_id, reported_at) values ('secondary-1', 10, now()), ('secondary-old', 2, now() - interval '2 hours')`;
    const tracking = secondary.trackingSql!;
    await tracking`insert into package_file_registry (package_file_id, state, verification_state) select g, case when g <= 8 then 2 when g <= 10 then 0 else 3 end, case when g <= 6 then 2 when g = 7 then 3 else 0 end from generate_series(1, 12) g`;
    await tracking`update package_file_registry set last_sync_failure = ${hostile}, retry_count = 2, retry_at = now() + interval '1 minute' where state = 3`;
    await tracking`update geo_event_cursor set last_event_id = 5`;
    await tracking`insert into geo_consistency_laps (replicable_name, started_at, finished_at, registries_created, registries_removed) values ('package_file', now() - interval '5 minutes', now() - interval '1 minute', 12, 0)`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    for (const api of [primaryApi, secondaryApi]) if (api) await closeServer(api.server);
    await secondary?.close();
    await primary?.close();
    await cleanup();
    await deleteKeysWithPrefix(`${prefix}-s`); // the secondary's queues
    await Promise.all([mainDb.drop(), trackingDb.drop()]);
    rmSync(storageRoot, { recursive: true, force: true });
    rmSync(shots, { recursive: true, force: true });
  });

  it('answers 401 without credentials and serves viewers and admins', async () => {
    for (const base of [primaryApi.base, secondaryApi.base]) {
      for (const at of ['/api/v1/geo/status', '/admin/geo']) {
        const anonymous = await fetch(`${base}${at}`);
        expect([at, anonymous.status]).toEqual([at, 401]);
        expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic/);
        expect((await fetch(`${base}${at}`, { headers: { authorization: basic('viewer', 'wrong-token-0000000000') } })).status).toBe(401);
        for (const authorization of [basic('viewer', VIEWER), basic('admin', ADMIN), `Bearer ${ADMIN}`]) {
          expect([at, (await fetch(`${base}${at}`, { headers: { authorization } })).status]).toEqual([at, 200]);
        }
      }
    }
  });

  it('GET /api/v1/geo/status reports the declared fields of each role', async () => {
    const s = await status(secondaryApi.base);
    expect(s.role).toBe('secondary');
    expect(s.sources.every((x) => x.ok)).toBe(true);
    expect(s.fields).toMatchObject({
      package_files_count: 12,
      package_files_registry_count: 12,
      package_files_synced_count: 8,
      package_files_pending_count: 2,
      package_files_failed_count: 2,
      package_files_verification_total_count: 8,
      package_files_verified_count: 6,
      package_files_verification_failed_count: 1,
      package_files_synced_in_percentage: 66.66,
      package_files_verified_in_percentage: 50,
      cursor_last_event_id: 5,
      cursor_lag_events: 7,
      event_gaps_open: 0,
    });
    const types = s.types.find((t) => t.name === 'package_file')!;
    expect(types.failures.filter((f) => f.kind === 'sync').map((f) => f.message)).toEqual([hostile, hostile]);
    expect(types.registryListPath).toBe('/api/v1/geo/registries?replicable=package_file');
    expect(Object.keys(s.fields).some((k) => k.includes('checksum'))).toBe(false);

    const p = await status(primaryApi.base);
    expect(p.fields).toMatchObject({ package_files_count: 12, package_files_checksum_total_count: 12, package_files_checksummed_count: 8, package_files_checksum_failed_count: 1, event_log_max_id: 12 });
    expect(Object.keys(p.fields).some((k) => k.endsWith('_registry_count') || k.endsWith('_in_percentage'))).toBe(false);
    expect(p.secondaries.map((x) => [x.site, x.fields.healthy, x.fields.events_behind])).toEqual([
      ['secondary-1', 1, 2],
      ['secondary-old', 0, 10],
    ]);
  });

  it('/metrics passes promtool check metrics on both roles, with the upstream gauge names', async () => {
    for (const [base, url] of [[primaryApi.base, 'primary'], [secondaryApi.base, 'secondary-1']] as const) {
      const text = await (await fetch(`${base}/metrics`)).text();
      const check = promtool(text);
      const unexpected = check.problems.filter((line) => !UPSTREAM_TOTAL_NAME.test(line.trim()));
      expect({ url, unexpected }).toEqual({ url, unexpected: [] });
      expect([0, 3]).toContain(check.status); // 3 = lint problems only (the upstream names above)
      if (url === 'secondary-1') {
        for (const name of ['geo_package_files', 'geo_package_files_synced', 'geo_package_files_failed', 'geo_package_files_registry', 'geo_package_files_verified', 'geo_package_files_verification_failed', 'geo_package_files_verification_total', 'geo_cursor_lag_events', 'geo_cursor_lag_seconds', 'geo_event_gaps'])
          expect(text).toMatch(new RegExp(`^${name}\\{url="${url}",site="${url}"\\} \\d+(\\.\\d+)?$`, 'm'));
        expect(text).toMatch(/^geo_package_files_synced\{url="secondary-1",site="secondary-1"\} 8$/m);
      } else {
        for (const name of ['geo_package_files_checksummed', 'geo_package_files_checksum_failed', 'geo_package_files_checksum_total'])
          expect(text).toMatch(new RegExp(`^${name}\\{url="primary",site="primary"\\} \\d+$`, 'm'));
        expect(text).toMatch(/^geo_secondary_healthy\{url="secondary-old",site="primary"\} 0$/m);
      }
    }
  });

  it('the format check fails on malformed output', async () => {
    const text = await (await fetch(`${secondaryApi.base}/metrics`)).text();
    for (const broken of [
      text.replace(/^geo_package_files_synced\{url="secondary-1",site="secondary-1"\} 8$/m, 'geo_package_files_synced{url="secondary-1",site="secondary-1} 8'),
      text.replace(/^geo_package_files_synced\{url="secondary-1",site="secondary-1"\} 8$/m, 'geo_package_files_synced{url="secondary-1",site="secondary-1"} eight'),
      `${text}# TYPE geo_package_files_synced counter\n`,
    ]) {
      expect(broken).not.toBe(text);
      const check = promtool(broken);
      expect(check.status).not.toBe(0);
      expect(check.status).not.toBe(3);
    }
  });

  it('the page shows the API figures, escapes what it shows, refreshes itself, and screenshots as a real page', async () => {
    const context = await browser.newContext({ viewport: VIEWPORT, httpCredentials: { username: 'viewer', password: VIEWER } });
    try {
      const page = await context.newPage();
      const response = await page.goto(`${secondaryApi.base}/admin/geo`);
      expect(response?.status()).toBe(200);
      const api = await status(secondaryApi.base);
      const shown = async (field: string) => (await page.locator(`[data-field="${field}"]`).first().textContent())?.trim();
      for (const field of ['package_files_synced_count', 'package_files_registry_count', 'package_files_failed_count', 'package_files_verified_count', 'package_files_verification_failed_count', 'cursor_lag_events', 'event_gaps_open']) {
        expect([field, await shown(field)]).toEqual([field, String(api.fields[field])]);
      }
      expect(await shown('package_files_synced_in_percentage')).toBe(`${api.fields.package_files_synced_in_percentage} %`);
      expect(await shown('package_files_consistency_lap_completed_at')).toBe(new Date(api.fields.package_files_consistency_lap_completed_at! * 1000).toISOString());
      expect(await page.locator('[data-bar="package_files_synced_in_percentage"] .fill').getAttribute('style')).toBe(`width:${api.fields.package_files_synced_in_percentage}%`);
      // hostile failure messages are text, never markup
      expect(await page.locator('[data-failures="package_file"] td.message').first().textContent()).toBe(hostile);
      expect(await page.locator('main img, main script').count()).toBe(0);
      expect(await page.title()).not.toBe('pwned');
      expect(await page.locator('[data-type="package_file"] a.registry-link').getAttribute('href')).toBe('/api/v1/geo/registries?replicable=package_file');

      // a change in the database reaches the page through its own refresh
      await secondary.trackingSql!`update package_file_registry set state = 2 where state = 0`;
      await waitFor(async () => (await shown('package_files_synced_count')) === '10', { timeoutMs: 60_000, message: 'page refresh showing 10 synced' });
      expect((await status(secondaryApi.base)).fields.package_files_synced_count).toBe(10);
      expect(await shown('package_files_synced_in_percentage')).toBe('83.33 %');
      expect(await page.title()).not.toBe('pwned');

      const file = path.join(shots, 'geo-status-secondary.png');
      const png = await page.screenshot({ path: file });
      expect(pngSize(png)).toEqual(VIEWPORT);
      expect(png.length).toBeGreaterThan(10_000); // a blank page of this size compresses to ~5 KB
      if (process.env.GEO_STATUS_SCREENSHOT_DIR) writeFileSync(path.join(process.env.GEO_STATUS_SCREENSHOT_DIR, 'geo-status-secondary.png'), png);

      // the primary's page: checksums and each secondary's health
      const primaryPage = await context.newPage();
      await primaryPage.goto(`${primaryApi.base}/admin/geo`);
      expect((await primaryPage.locator('tr[data-secondary="secondary-1"] td').nth(1).textContent())?.trim()).toBe('Healthy');
      expect((await primaryPage.locator('tr[data-secondary="secondary-old"] td').nth(1).textContent())?.trim()).toBe('Unhealthy');
      expect((await primaryPage.locator('[data-field="package_files_checksummed_count"]').textContent())?.trim()).toBe('8');
      const primaryPng = await primaryPage.screenshot();
      expect(pngSize(primaryPng)).toEqual(VIEWPORT);
      if (process.env.GEO_STATUS_SCREENSHOT_DIR) writeFileSync(path.join(process.env.GEO_STATUS_SCREENSHOT_DIR, 'geo-status-primary.png'), primaryPng);
      expect(existsSync(file)).toBe(true);
    } finally {
      await context.close();
    }
  });
});
