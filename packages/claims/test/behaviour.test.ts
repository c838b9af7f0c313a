import { exactlyOne, transactionScope } from '@meridian/db';
import { BucketType, ClaimsUnavailableError, ClaimTakenError, recoverLostTransactions, withClaims } from '../src';
import { leaseCounts, serviceClaims, type ClaimsTestEnv } from '../src/conformance/claims-test-env';
import { emails, models, users } from './fixtures';
import { useClaimsEnv } from './use-claims-env';

// Upstream's behaviour table, against the real Topology Service over HTTP and real PostgreSQL.

let env: ClaimsTestEnv;
const environment = useClaimsEnv();
beforeAll(() => {
  env = environment();
});
beforeEach(() => {
  env.calls.length = 0;
});

const sql = () => env.cells[1]!.sql;
const usersNamed = async (username: string) => exactlyOne(await sql()<{ n: number }[]>`select count(*)::int as n from users where username = ${username}`).n;
const methods = () => env.calls.map((c) => c.method);
const beginRequest = () => env.calls.find((c) => c.method === 'BeginUpdate')!.request as {
  createRecords: Array<{ bucket?: { type: number; value: string } }>;
  destroyRecords: Array<{ bucket?: { type: number; value: string } }>;
};
const values = (records: Array<{ bucket?: { type: number; value: string } }>) => records.map((r) => `${r.bucket!.type}:${r.bucket!.value}`).sort();

test('happy path: one BeginUpdate with the user and its emails, one CommitUpdate, no lease left', async () => {
  const claims = env.claims({ models });
  const user = await withClaims(claims, sql(), async (w) => {
    const u = await w.insert(users, { username: 'happy' });
    await w.insert(emails, { user_id: u.id, email: 'happy@example.com' });
    await w.insert(emails, { user_id: u.id, email: 'happy@work.example.com' });
    return u;
  });
  expect(methods()).toEqual(['BeginUpdate', 'CommitUpdate']);
  expect(values(beginRequest().createRecords)).toEqual(
    [`${BucketType.USER_IDS}:${user.id}`, `${BucketType.USERNAMES}:happy`, `${BucketType.EMAILS}:happy@example.com`, `${BucketType.EMAILS}:happy@work.example.com`].sort(),
  );
  expect(await leaseCounts(env)).toEqual({ service: 0, local: 0 });
  const held = await serviceClaims(env, 1);
  expect(held.filter((c) => c.value.startsWith('happy')).every((c) => c.status === 1)).toBe(true);
});

test('BeginUpdate fails (value taken): nothing written, no lease, "username has already been taken"', async () => {
  const claims = env.claims({ models });
  await withClaims(claims, sql(), (w) => w.insert(users, { username: 'taken' }));
  await sql()`delete from users where username = 'taken'`; // bypasses claims: the claim stays held
  env.calls.length = 0;
  const error = await withClaims(claims, sql(), (w) => w.insert(users, { username: 'taken' })).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ClaimTakenError);
  expect((error as ClaimTakenError).message).toBe('username has already been taken');
  expect((error as ClaimTakenError).errors).toEqual([{ model: 'users', attribute: 'username', value: 'taken', message: 'username has already been taken' }]);
  expect(methods()).toEqual(['BeginUpdate']);
  expect(await usersNamed('taken')).toBe(0);
  expect(await leaseCounts(env)).toEqual({ service: 0, local: 0 });
});

test('BeginUpdate fails (service unreachable): the write is rolled back with a clear error, no lease', async () => {
  const claims = env.claims({ models });
  await env.stopTopology();
  try {
    const error = await withClaims(claims, sql(), (w) => w.insert(users, { username: 'unreachable' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ClaimsUnavailableError);
    expect((error as Error).message).toMatch(/claims could not be taken, the write was rolled back/);
  } finally {
    await env.startTopology();
  }
  expect(await usersNamed('unreachable')).toBe(0);
  expect(await leaseCounts(env)).toEqual({ service: 0, local: 0 });
});

test('BeginUpdate succeeded but the local COMMIT is aborted: RollbackUpdate, nothing claimed, no lease', async () => {
  const claims = env.claims({ models });
  const error = await withClaims(claims, sql(), async (w) => {
    const u = await w.insert(users, { username: 'aborted' });
    // a deferred foreign key fails at COMMIT itself, after BeginUpdate
    await w.tx`insert into deferred_checks values (${String(-1n * BigInt(u.id as bigint))})`;
  }).catch((e: unknown) => e);
  expect((error as { code?: string }).code).toBe('23503');
  expect(methods()).toEqual(['BeginUpdate', 'RollbackUpdate']);
  expect(await usersNamed('aborted')).toBe(0);
  expect((await serviceClaims(env)).some((c) => c.value === 'aborted')).toBe(false);
  expect(await leaseCounts(env)).toEqual({ service: 0, local: 0 });
});

test('CommitUpdate unavailable: the write stands, one lease is left, and recovery commits it', async () => {
  const claims = env.claims({ models });
  const user = await withClaims(claims, sql(), async (w) => {
    const u = await w.insert(users, { username: 'commit-lost' });
    // after the claims hook (BeginUpdate + lease row), before COMMIT: the service goes away
    transactionScope(w.tx)!.addHooks({ beforeCommit: () => env.stopTopology() });
    return u;
  });
  expect(methods()).toEqual(['BeginUpdate', 'CommitUpdate']);
  expect(await usersNamed('commit-lost')).toBe(1);
  await env.startTopology();
  expect(await leaseCounts(env)).toEqual({ service: 1, local: 1 });
  expect((await serviceClaims(env)).find((c) => c.value === 'commit-lost')?.status).toBe(2); // LEASE_CREATING

  // not stale yet: recovery leaves it alone
  expect((await recoverLostTransactions(claims)).committed).toBe(0);
  const later = new Date(Date.now() + 6 * 60_000);
  expect(await recoverLostTransactions(claims, { now: later, fullScan: false })).toMatchObject({ committed: 1, rolledBack: 0 });
  expect(await leaseCounts(env)).toEqual({ service: 0, local: 0 });
  expect((await serviceClaims(env)).filter((c) => c.value === 'commit-lost' || c.value === String(user.id)).map((c) => c.status)).toEqual([1, 1]);
});

test('update: the old value destroyed and the new one created in one BeginUpdate', async () => {
  const claims = env.claims({ models });
  const user = await withClaims(claims, sql(), (w) => w.insert(users, { username: 'before-rename' }));
  env.calls.length = 0;
  await withClaims(claims, sql(), (w) => w.update(users, user.id, { username: 'after-rename' }));
  expect(methods()).toEqual(['BeginUpdate', 'CommitUpdate']);
  expect(values(beginRequest().createRecords)).toEqual([`${BucketType.USERNAMES}:after-rename`]);
  expect(values(beginRequest().destroyRecords)).toEqual([`${BucketType.USERNAMES}:before-rename`]);
  const held = (await serviceClaims(env)).map((c) => c.value);
  expect(held).toContain('after-rename');
  expect(held).not.toContain('before-rename');
});

test('delete: the row and its associations release every claim in one BeginUpdate', async () => {
  const claims = env.claims({ models });
  const user = await withClaims(claims, sql(), async (w) => {
    const u = await w.insert(users, { username: 'leaving' });
    await w.insert(emails, { user_id: u.id, email: 'leaving@example.com' });
    return u;
  });
  env.calls.length = 0;
  await withClaims(claims, sql(), (w) => w.delete(users, user.id));
  expect(methods()).toEqual(['BeginUpdate', 'CommitUpdate']);
  expect(values(beginRequest().destroyRecords)).toEqual([`${BucketType.USER_IDS}:${user.id}`, `${BucketType.USERNAMES}:leaving`, `${BucketType.EMAILS}:leaving@example.com`].sort());
  expect((await serviceClaims(env)).some((c) => c.value.startsWith('leaving'))).toBe(false);
  expect(exactlyOne(await sql()<{ n: number }[]>`select count(*)::int as n from emails where email = 'leaving@example.com'`).n).toBe(0);
});

test('flag off: rows are written and no call is made at all', async () => {
  await env.setClaimsFlag(false);
  try {
    const claims = env.claims({ models });
    const user = await withClaims(claims, sql(), (w) => w.insert(users, { username: 'flag-off' }));
    await withClaims(claims, sql(), (w) => w.update(users, user.id, { username: 'flag-off-2' }));
    await withClaims(claims, sql(), (w) => w.delete(users, user.id));
    expect(env.calls).toEqual([]);
  } finally {
    await env.setClaimsFlag(true);
  }
});

test('no cell credential (no client): claims are off whatever the flag says', async () => {
  const claims = env.claims({ models, client: null });
  await withClaims(claims, sql(), (w) => w.insert(users, { username: 'no-client' }));
  expect(env.calls).toEqual([]);
  expect(await usersNamed('no-client')).toBe(1);
});

test('blank values and rows outside the condition claim nothing; a rollout flag gates its attribute', async () => {
  const claims = env.claims({ models });
  const first = await withClaims(claims, sql(), (w) => w.insert(users, { username: 'paths', routing_path: 'top-level' }));
  // cells_claims_test_routes is off: routing_path is not claimed
  expect(values(beginRequest().createRecords)).toEqual([`${BucketType.USER_IDS}:${first.id}`, `${BucketType.USERNAMES}:paths`].sort());
  await sql()`insert into feature_flags (name, enabled) values ('cells_claims_test_routes', true)`;
  env.calls.length = 0;
  const user = await withClaims(claims, sql(), (w) => w.insert(users, { username: 'paths-2', routing_path: 'group/nested' }));
  // a nested path is outside the condition
  expect(values(beginRequest().createRecords)).toEqual([`${BucketType.USER_IDS}:${user.id}`, `${BucketType.USERNAMES}:paths-2`].sort());
  env.calls.length = 0;
  await withClaims(claims, sql(), (w) => w.update(users, user.id, { routing_path: 'grouped' }));
  // the old nested path was never claimed, so nothing is destroyed
  expect(values(beginRequest().createRecords)).toEqual([`${BucketType.ROUTES}:grouped`]);
  expect(beginRequest().destroyRecords).toEqual([]);
  env.calls.length = 0;
  await withClaims(claims, sql(), (w) => w.update(users, user.id, { routing_path: null }));
  expect(values(beginRequest().destroyRecords)).toEqual([`${BucketType.ROUTES}:grouped`]);
  expect(beginRequest().createRecords).toEqual([]);
});
