import { createSql, exactlyOne, migrationTemplate, type Sql } from '@meridian/db';
import { siteMigrationSet } from '@meridian/runtime';
import { createTestDatabase, type TestDatabase } from '@meridian/testing';
import { EXIT_USAGE, runCli } from '../src';
import { captureIo } from './capture-io';

// `meridian geo double-check | geo laps` and `meridian org readiness | org maintenance` against
// real databases: exit codes, output and arguments.

describe('meridian org-move commands', () => {
  const dbs: TestDatabase[] = [];
  let main: Sql;
  let tracking: Sql;
  let primary: Record<string, string>;
  let secondary: Record<string, string>;
  const fileIds: bigint[] = [];

  beforeAll(async () => {
    for (const kind of ['main', 'geo_tracking'] as const) dbs.push(await createTestDatabase('mcliorg', { template: migrationTemplate(siteMigrationSet(kind)) }));
    primary = { DATABASE_URL: dbs[0]!.url, GEO_TRACKING_DATABASE_URL: dbs[1]!.url };
    secondary = { ...primary, SITE_ROLE: 'secondary', SITE_NAME: 'target' };
    main = createSql(dbs[0]!.url, { max: 1 });
    tracking = createSql(dbs[1]!.url, { max: 1 });
    const id = (rows: ReadonlyArray<{ id: bigint }>) => exactlyOne(rows).id.toString();
    const org = id(await main<{ id: bigint }[]>`insert into organizations (name, path) values ('o', 'o') returning id`);
    const ns = id(await main<{ id: bigint }[]>`insert into namespaces (organization_id, name, path) values (${org}, 'n', 'n') returning id`);
    const project = id(await main<{ id: bigint }[]>`insert into projects (organization_id, namespace_id, name, path) values (${org}, ${ns}, 'p', 'p') returning id`);
    const pkg = id(await main<{ id: bigint }[]>`insert into packages_packages (project_id, name) values (${project}, 'pkg') returning id`);
    for (let i = 0; i < 30; i++) {
      const [row] = await main<{ id: bigint }[]>`insert into packages_package_files (package_id, file_name, file_path, size) values (${pkg}, ${`f${i}`}, ${`p/f${i}`}, 1) returning id`;
      fileIds.push(BigInt(row!.id));
    }
    // 25 of the 30 rows have registries on the target; 5 lost their created events
    await tracking`insert into package_file_registry (package_file_id) select unnest(${fileIds.slice(0, 25).map(String)}::bigint[])`;
  });
  afterAll(async () => {
    await Promise.all([main?.end(), tracking?.end()]);
    for (const db of dbs) await db.drop();
  });

  it('double-check --dry-run --json reports every missing id and exits 1; nothing is created', async () => {
    const io = captureIo(secondary);
    expect(await runCli(['geo', 'double-check', '--type', 'package_file', '--since-hours', '24', '--dry-run', '--json'], io)).toBe(1);
    const report = JSON.parse(io.stdout()) as { missing: number; types: Array<{ type: string; checked: number; missing_ids: string[]; dry_run: boolean }> };
    expect(report.missing).toBe(5);
    expect(report.types[0]).toMatchObject({ type: 'package_file', checked: 30, dry_run: true, missing_ids: fileIds.slice(25).map(String) });
    const { n } = exactlyOne(await tracking<{ n: bigint }[]>`select count(*)::bigint as n from package_file_registry`);
    expect(Number(n)).toBe(25);
  });

  it('double-check repairs (exit 1, prints the ids), then finds nothing (exit 0)', async () => {
    const io = captureIo(secondary);
    expect(await runCli(['geo', 'double-check', '--type', 'all', '--since-hours', '24'], io)).toBe(1);
    expect(io.stdout()).toContain(`missing: 5 (created pending registries for them): ${fileIds.slice(25).join(', ')}`);
    expect(io.stdout()).toMatch(/packages_helm_metadata_cache: checked 0 rows/);
    const again = captureIo(secondary);
    expect(await runCli(['geo', 'double-check', '--type', 'all', '--since-hours', '24'], again)).toBe(0);
    expect(again.stdout()).toContain('missing: none');
  });

  it.each([
    [['geo', 'double-check', '--since-hours', '24'], /--type/],
    [['geo', 'double-check', '--type', 'nope', '--since-hours', '24'], /unknown replicable "nope"/],
    [['geo', 'double-check', '--type', 'all', '--since-hours', '-3'], /number of hours/],
    [['geo', 'double-check', '--type', 'all', '--since-hours', '24', '--organization', 'x'], /positive organization id/],
    [['geo', 'double-check', '--type', 'all'], /no completed consistency lap yet .* pass --since-hours/],
    [['org', 'readiness', 'abc'], /organization id/],
    [['org', 'maintenance', '1', 'maybe'], /on or off/],
  ])('%j is a usage error (exit 2)', async (argv, message) => {
    const io = captureIo(argv[0] === 'org' && argv[1] === 'maintenance' ? primary : secondary);
    expect(await runCli(argv, io)).toBe(EXIT_USAGE);
    expect(io.stderr()).toMatch(message);
  });

  it('double-check and readiness refuse a primary configuration; maintenance refuses a secondary one', async () => {
    const onPrimary = captureIo(primary);
    expect(await runCli(['geo', 'double-check', '--type', 'all', '--since-hours', '1'], onPrimary)).toBe(EXIT_USAGE);
    expect(onPrimary.stderr()).toContain('target site');
    const onSecondary = captureIo(secondary);
    expect(await runCli(['org', 'maintenance', '1', 'on'], onSecondary)).toBe(EXIT_USAGE);
  });

  it('laps --json shows each type with its current lap', async () => {
    const io = captureIo(secondary);
    expect(await runCli(['geo', 'laps', '--json'], io)).toBe(0);
    const laps = JSON.parse(io.stdout()) as Array<Record<string, unknown>>;
    expect(laps.map((l) => l.type)).toEqual(['package_file', 'packages_helm_metadata_cache']);
    expect(laps[0]).toMatchObject({ 'current lap': '0.0 %' });
  });

  it('org readiness: NOT READY with reasons (exit 1); maintenance on shows in the report', async () => {
    expect(await runCli(['org', 'maintenance', '1', 'on'], captureIo(primary))).toBe(0);
    const io = captureIo(secondary);
    expect(await runCli(['org', 'readiness', '1', '--json'], io)).toBe(1);
    const report = JSON.parse(io.stdout()) as { verdict: string; maintenance: { enabled: boolean }; reasons: string[]; types: Array<{ type: string; rows: number; pending: number }> };
    expect(report.verdict).toBe('NOT READY');
    expect(report.maintenance.enabled).toBe(true);
    expect(report.types.find((t) => t.type === 'package_file')).toMatchObject({ rows: 30, pending: 30 });
    expect(report.reasons).toEqual(expect.arrayContaining(['package_file: 30 registries not synced yet']));
    const text = captureIo(secondary);
    expect(await runCli(['org', 'readiness', '1'], text)).toBe(1);
    expect(text.stdout()).toMatch(/NOT READY\n {2}- /);
  });
});
