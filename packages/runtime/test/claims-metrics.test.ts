import { emptyCounts } from '@meridian/claims';
import { loadConfig } from '@meridian/config';
import { createSql, migrationTemplate } from '@meridian/db';
import { createSilentLogger } from '@meridian/logger';
import { createTestDatabase, type TestDatabase } from '@meridian/testing';
import { Registry } from 'prom-client';
import { claimsModule, openClaims, siteMigrationSet, type SiteBase } from '../src';

// The drift counter on /metrics comes from the database (recorded passes + the pass in progress),
// so the site-api reports what the workers found.

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('claims_metrics', { template: migrationTemplate(siteMigrationSet('main')) });
});
afterAll(async () => db?.drop());

test('meridian_claims_verification_drift_total sums recorded passes and the pass in progress, by model and kind', async () => {
  const sql = createSql(db.url, { max: 2 });
  try {
    const pass = emptyCounts();
    pass.drift.missing_in_service = 3;
    pass.drift.changed_value = 1;
    const current = emptyCounts();
    current.drift.missing_in_service = 2;
    await sql`insert into cells_claims_verification_passes (model, trigger, started_at, finished_at, rows, counts)
      values ('users', 'job', now(), now(), 10, ${sql.json(pass as never)})`;
    await sql`insert into cells_claims_verification_cursors (model, last_id, pass_started_at, rows, counts)
      values ('users', '5', now(), 5, ${sql.json(current as never)})`;
    const config = loadConfig({ DATABASE_URL: db.url, TOPOLOGY_CELL_CREDENTIAL: 'a-cell-credential-1234' });
    const claims = openClaims(config, sql, createSilentLogger());
    const registry = new Registry();
    claimsModule.metrics!(registry, claims, { config, mainSql: sql } as unknown as SiteBase);
    const text = await registry.metrics();
    expect(text).toContain('# TYPE meridian_claims_verification_drift_total counter');
    expect(text).toContain('meridian_claims_verification_drift_total{model="users",kind="missing_in_service"} 5');
    expect(text).toContain('meridian_claims_verification_drift_total{model="users",kind="changed_value"} 1');
    expect(text).toContain('meridian_claims_verification_drift_total{model="emails",kind="orphaned_in_service"} 0');
  } finally {
    await sql.end();
  }
});
