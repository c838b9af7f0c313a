import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { claimsModule, siteCatalog, siteFlags, siteMigrationSet, siteModules, siteSchedules, type SiteBase } from '../src';
import { createSql } from '@meridian/db';
import { createSilentLogger } from '@meridian/logger';
import { loadConfig } from '@meridian/config';

describe('feature modules', () => {
  it('the composition root is the module list: catalog, flags, schedules and migrations come from the modules', () => {
    const queues = new Set(siteCatalog().map((d) => d.queue));
    for (const m of siteModules) for (const d of m.catalog?.() ?? []) expect(queues).toContain(d.queue);
    expect(siteFlags().map((f) => f.name)).toEqual(siteModules.flatMap((m) => (m.flags?.() ?? []).map((f) => f.name)));
    const names = siteMigrationSet('main').migrations.map((m) => m.name);
    // core first, then each module in list order
    expect(names.slice(0, 2)).toEqual(['0001_feature_flags', '0002_site_heartbeats']);
    const order = siteModules.filter((m) => m.migrations?.main?.length).map((m) => names.indexOf(m.migrations!.main![0]!.name));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const primary = siteSchedules(loadConfig({}));
    expect(primary.every((s) => s.job.roles.includes('primary'))).toBe(true);
  });

  it('packages/runtime/src has no import cycle (type-only imports included)', () => {
    const root = path.resolve(__dirname, '../src');
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const entry of readdirSync(dir)) {
        const full = path.join(dir, entry);
        if (statSync(full).isDirectory()) walk(full);
        else if (full.endsWith('.ts')) files.push(full);
      }
    };
    walk(root);
    const edges = new Map<string, string[]>();
    for (const file of files) {
      const targets = [...readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)'/g)].map((m) => path.resolve(path.dirname(file), `${m[1]}.ts`));
      edges.set(file, targets);
    }
    const state = new Map<string, 'visiting' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, trail: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...trail.slice(trail.indexOf(file)), file].map((f) => path.relative(root, f)).join(' → '));
        return;
      }
      state.set(file, 'visiting');
      for (const next of edges.get(file) ?? []) visit(next, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });
});

describe('the claims module', () => {
  const contextFor = async (env: Record<string, string>) => {
    const config = loadConfig(env);
    const sql = createSql(config.DATABASE_URL, { max: 1 }); // never queried here
    const base = { config, logger: createSilentLogger(), mainSql: sql, trackingSql: undefined, siteSql: sql } as unknown as SiteBase;
    try {
      return await claimsModule.createContext!(base, undefined);
    } finally {
      await sql.end();
    }
  };

  it('claims only on a primary with a cell credential; declares its flag, jobs and the every-minute recovery', async () => {
    expect((await contextFor({})).client).toBeUndefined();
    expect((await contextFor({ TOPOLOGY_CELL_CREDENTIAL: 'a-cell-credential-1234', SITE_ROLE: 'secondary' })).client).toBeUndefined();
    const claims = await contextFor({ TOPOLOGY_CELL_CREDENTIAL: 'a-cell-credential-1234', CELL_ID: '7' });
    expect(claims.client?.cellId).toBe(7n);
    expect(siteFlags().map((f) => f.name)).toContain('cells_unique_claims');
    expect(siteCatalog().map((d) => d.queue)).toEqual(expect.arrayContaining(['claims.lease_recovery', 'claims.bulk_claims']));
    expect(siteSchedules(loadConfig({})).find((s) => s.id === 'claims-lease-recovery')?.pattern).toBe('* * * * *');
    expect(siteMigrationSet('main').migrations.map((m) => m.name)).toContain('claims/0001_outstanding_leases');
  });

  it('declares the weekly verification: its jobs, a flag per model, the cron from the configuration', () => {
    expect(siteCatalog().map((d) => d.queue)).toEqual(expect.arrayContaining(['claims.verification', 'claims.verification_schedule', 'claims.verification_schedule_within']));
    const flags = siteFlags().map((f) => f.name);
    for (const model of ['user', 'organizations_organization', 'project', 'namespace', 'key', 'email', 'gpg_key', 'redirect_route', 'route', 'service_desk_setting']) {
      expect(flags).toContain(`cells_claims_verification_worker_${model}`);
    }
    expect(siteSchedules(loadConfig({})).find((s) => s.id === 'claims-verification-weekly')?.pattern).toBe('0 0 * * 6');
    expect(siteSchedules(loadConfig({ CLAIMS_VERIFICATION_CRON: '30 2 * * 0' })).find((s) => s.id === 'claims-verification-weekly')?.pattern).toBe('30 2 * * 0');
    expect(() => loadConfig({ CLAIMS_VERIFICATION_CRON: 'every saturday' })).toThrow('CLAIMS_VERIFICATION_CRON');
    expect(siteMigrationSet('main').migrations.map((m) => m.name)).toEqual(expect.arrayContaining(['claims/0002_verification', 'cell-models/0003_claimable_updated_at']));
  });
});
