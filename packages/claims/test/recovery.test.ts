import { BucketType, recoverLostTransactions, SourceType, SubjectType, encodePrimaryKey } from '../src';
import { leaseCounts, type ClaimsTestEnv } from '../src/conformance/claims-test-env';
import { models } from './fixtures';
import { useClaimsEnv } from './use-claims-env';

// Every cell of upstream's recovery matrix (local lease × service lease), with a fake "now":
// leases are real (BeginUpdate on the real service, rows in the cell's table).

let env: ClaimsTestEnv;
const environment = useClaimsEnv();
beforeAll(() => {
  env = environment();
});

const MIN = 60_000;
const sql = () => env.cells[1]!.sql;
let n = 0;

/** A lease in the service holding one LEASE_CREATING claim; returns its uuid and the claimed value. */
async function serviceLease(): Promise<{ uuid: string; value: string }> {
  const value = `matrix-${++n}`;
  const uuid = await env.client().beginUpdate({
    creates: [{ bucket: { type: BucketType.USERNAMES, value }, subject: { type: SubjectType.USER, id: BigInt(n) }, source: { type: SourceType.RAILS_TABLE_USERS, railsPrimaryKeyId: encodePrimaryKey(n) } }],
  });
  return { uuid, value };
}

async function localLease(uuid: string, createdAt: Date): Promise<void> {
  await sql()`insert into cells_outstanding_leases (uuid, created_at) values (${uuid}::uuid, ${createdAt})`;
}

async function claimStatus(value: string): Promise<number | undefined> {
  const [row] = await env.topologySql<{ status: number }[]>`select status from claims where bucket_value = ${value}`;
  return row?.status;
}
const hasLocal = async (uuid: string) => (await sql()`select 1 from cells_outstanding_leases where uuid = ${uuid}::uuid`).length === 1;
const serviceOpen = async (uuid: string) => (await env.topologySql`select 1 from claim_leases where uuid = ${uuid}::uuid and state = 'open'`).length === 1;

async function cleanUp(): Promise<void> {
  const claims = env.claims({ models });
  await recoverLostTransactions(claims, { now: new Date(Date.now() + 30 * MIN), fullScan: true });
  await sql()`delete from cells_outstanding_leases`;
  expect(await leaseCounts(env)).toEqual({ service: 0, local: 0 });
}

test('while the service lease is active (fresh): only a stale local lease is acted on (committed)', async () => {
  const claims = env.claims({ models });
  const now = new Date();
  const activeActive = await serviceLease();
  await localLease(activeActive.uuid, now);
  const staleActive = await serviceLease();
  await localLease(staleActive.uuid, new Date(now.getTime() - 10 * MIN));
  const missingActive = await serviceLease();

  const result = await recoverLostTransactions(claims, { now, fullScan: false });
  expect(result).toMatchObject({ committed: 1, rolledBack: 0, deletedLocal: 0, failed: 0 });
  // local active × service active: no-op
  expect([await hasLocal(activeActive.uuid), await serviceOpen(activeActive.uuid)]).toEqual([true, true]);
  // local stale × service active: commit (claim ACTIVE, both leases gone)
  expect([await hasLocal(staleActive.uuid), await serviceOpen(staleActive.uuid), await claimStatus(staleActive.value)]).toEqual([false, false, 1]);
  // local missing × service active: no-op (its transaction may still be running)
  expect([await serviceOpen(missingActive.uuid), await claimStatus(missingActive.value)]).toEqual([true, 2]);
  await cleanUp();
});

test('once the service lease is stale: commit with a local lease, roll back without; a stale local-only lease is deleted', async () => {
  const claims = env.claims({ models });
  const activeStale = await serviceLease();
  const staleStale = await serviceLease();
  const missingStale = await serviceLease();
  const now = new Date(Date.now() + 6 * MIN); // every service lease above is now older than 5 minutes
  await localLease(activeStale.uuid, now);
  await localLease(staleStale.uuid, new Date(now.getTime() - 10 * MIN));
  const staleMissing = '00000000-0000-4000-8000-00000000abcd';
  await localLease(staleMissing, new Date(now.getTime() - 10 * MIN));
  const activeMissing = '00000000-0000-4000-8000-00000000abce';
  await localLease(activeMissing, now);

  const result = await recoverLostTransactions(claims, { now, fullScan: false });
  expect(result).toMatchObject({ committed: 1, rolledBack: 1, deletedLocal: 1, failed: 0 });
  // local active × service stale: no-op
  expect([await hasLocal(activeStale.uuid), await serviceOpen(activeStale.uuid)]).toEqual([true, true]);
  // local stale × service stale: commit
  expect([await hasLocal(staleStale.uuid), await serviceOpen(staleStale.uuid), await claimStatus(staleStale.value)]).toEqual([false, false, 1]);
  // local missing × service stale: roll back (the claim is gone)
  expect([await serviceOpen(missingStale.uuid), await claimStatus(missingStale.value)]).toEqual([false, undefined]);
  // local stale × service missing: delete local
  expect(await hasLocal(staleMissing)).toBe(false);
  // local active × service missing: no-op
  expect(await hasLocal(activeMissing)).toBe(true);
  await cleanUp();
});

test('the minute scan looks 2 hours back; local leases older than that wait for the hourly full scan', async () => {
  const claims = env.claims({ models });
  const now = new Date();
  const old = '00000000-0000-4000-8000-0000000000aa';
  await localLease(old, new Date(now.getTime() - 3 * 60 * MIN));
  expect((await recoverLostTransactions(claims, { now, fullScan: false })).deletedLocal).toBe(0);
  expect(await hasLocal(old)).toBe(true);
  // at minute 0 the job does a full scan
  const minuteZero = new Date(Math.floor(now.getTime() / (60 * MIN)) * 60 * MIN);
  const full = await recoverLostTransactions(claims, { now: minuteZero });
  expect(full.fullScan).toBe(true);
  expect(await hasLocal(old)).toBe(false);
  expect(await leaseCounts(env)).toEqual({ service: 0, local: 0 });
});

test('ListLeases is paged (more than one page of 100 stale leases are all rolled back)', async () => {
  const claims = env.claims({ models });
  for (let i = 0; i < 120; i++) await serviceLease();
  const result = await recoverLostTransactions(claims, { now: new Date(Date.now() + 6 * MIN), fullScan: false });
  expect(result.rolledBack).toBe(120);
  expect(await leaseCounts(env)).toEqual({ service: 0, local: 0 });
});
