import { cellModelMigrations } from '@meridian/cell-models';
import { BucketType, encodePrimaryKey, SourceType, SubjectType } from '@meridian/claims';
import { CELL_CREDENTIALS, startClaimsTestEnv, type ClaimsTestEnv } from '@meridian/claims/conformance';
import { runCli, EXIT_FAILURE, EXIT_USAGE, type CliIo } from '../src';

// `meridian claims …` against a real Topology Service and cell database.

function captureIo(env: Record<string, string | undefined>): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return { env, isTty: false, out: (t) => void (out += t), err: (t) => void (err += t), stdout: () => out, stderr: () => err };
}

let env: ClaimsTestEnv;
let cliEnv: Record<string, string>;
beforeAll(async () => {
  env = await startClaimsTestEnv({ schema: cellModelMigrations, cells: [1, 2] });
  await env.setClaimsFlag(true);
  cliEnv = {
    DATABASE_URL: env.cells[1]!.url,
    TOPOLOGY_SERVICE_URL: env.topologyUrl,
    TOPOLOGY_CELL_CREDENTIAL: CELL_CREDENTIALS[1]!,
    CELL_ID: '1',
  };
});
afterAll(async () => env?.close());

async function cli(argv: string[]) {
  const io = captureIo(cliEnv);
  const code = await runCli(argv, io);
  return { code, out: io.stdout(), err: io.stderr() };
}

test('bad arguments exit 2 with a message', async () => {
  expect((await cli(['claims', 'verify'])).code).toBe(EXIT_USAGE);
  const unknown = await cli(['claims', 'verify', 'snippets']);
  expect(unknown.code).toBe(EXIT_USAGE);
  expect(unknown.err).toContain('unknown claimable model "snippets"');
  expect((await cli(['claims', 'passes', '--model', 'nope'])).code).toBe(EXIT_USAGE);
  const noCredential = captureIo({ DATABASE_URL: env.cells[1]!.url, CELL_ID: '1' });
  expect(await runCli(['claims', 'verify', 'all'], noCredential)).toBe(EXIT_USAGE);
  expect(noCredential.stderr()).toContain('TOPOLOGY_CELL_CREDENTIAL');
});

test('verify: a disabled flag skips; --dry-run changes nothing; a run repairs the drift; a conflict exits 1', async () => {
  const sql = env.cells[1]!.sql;
  // a row written without claims an hour and a half ago (older than the "recently changed" hour)
  const [user] = await sql<{ id: bigint }[]>`insert into users (username, updated_at) values ('drifted', now() - interval '90 minutes') returning id`;

  const skipped = await cli(['claims', 'verify', 'users', '--json']);
  expect(skipped.code).toBe(0);
  expect(JSON.parse(skipped.out).models[0].status).toBe('skipped: flag cells_claims_verification_worker_user is disabled');
  expect((await cli(['flags', 'enable', 'cells_claims_verification_worker_user'])).code).toBe(0);

  const dry = await cli(['claims', 'verify', 'users', '--dry-run', '--json']);
  expect(dry.code).toBe(0);
  expect(JSON.parse(dry.out).models[0]).toMatchObject({ model: 'users', status: 'done', rows: 1, created: 2 });
  expect(await env.topologySql`select 1 from claims where cell_id = 1`).toHaveLength(0);

  const run = await cli(['claims', 'verify', 'users']);
  expect(run.code).toBe(0);
  expect(run.out).toMatch(/users\s+done\s+1\s+2\s+0\s+0\s+0\s+0/);
  const held = await env.topologySql<{ bucket_value: string }[]>`select bucket_value from claims where cell_id = 1 order by bucket_type`;
  expect(held.map((r) => r.bucket_value)).toEqual(['drifted', String(user!.id)]);

  const passes = await cli(['claims', 'passes', '--model', 'users', '--json']);
  expect(JSON.parse(passes.out)).toEqual([expect.objectContaining({ model: 'users', trigger: 'cli', rows: 1, created: 2 })]);

  // cell 2 owns a username this cell also has: a conflict, reported with its owner, exit 1
  const client2 = env.client(2);
  const lease = await client2.beginUpdate(
    { creates: [{ bucket: { type: BucketType.USERNAMES, value: 'shared' }, subject: { type: SubjectType.USER, id: 2_000_000_001n }, source: { type: SourceType.RAILS_TABLE_USERS, railsPrimaryKeyId: encodePrimaryKey(2_000_000_001n) } }] },
    { mode: 'background' },
  );
  await client2.commitUpdate(lease, { mode: 'background' });
  await sql`insert into users (username, updated_at) values ('shared', now() - interval '2 hours')`;
  const conflict = await cli(['claims', 'verify', 'users']);
  expect(conflict.code).toBe(EXIT_FAILURE);
  expect(conflict.out).toMatch(/users\s+\S+\s+USERNAMES\s+shared\s+2/);
  expect(conflict.err).toContain('1 conflict(s) need an operator');
});

test('schedule shows the weekly window and every model with its flag and slot', async () => {
  const result = await cli(['claims', 'schedule', '--json']);
  expect(result.code).toBe(0);
  const schedule = JSON.parse(result.out);
  expect(schedule.cron).toBe('0 0 * * 6');
  expect(new Date(schedule.windowStart).getUTCDay()).toBe(6);
  expect(new Date(schedule.windowEnd).getTime() - new Date(schedule.windowStart).getTime()).toBe((23 * 60 + 59) * 60_000);
  expect(schedule.models.map((m: { slot: string }) => m.slot).slice(0, 3)).toEqual(['start + 0 min', 'start + 10 min', 'start + 20 min']);
  expect(schedule.models.find((m: { model: string }) => m.model === 'organizations')).toMatchObject({ flag: 'cells_claims_verification_worker_organizations_organization', enabled: false });
  expect(schedule.models.find((m: { model: string }) => m.model === 'users')).toMatchObject({ enabled: true });
  expect((await cli(['claims', 'schedule'])).out).toContain('weekly verification (0 0 * * 6 UTC)');
});
