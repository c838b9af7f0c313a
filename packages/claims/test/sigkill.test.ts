import { exactlyOne } from '@meridian/db';
import { spawnTs, waitFor } from '@meridian/testing';
import path from 'node:path';
import { recoverLostTransactions } from '../src';
import { CELL_CREDENTIALS, leaseCounts, serviceClaims, type ClaimsTestEnv } from '../src/conformance/claims-test-env';
import { models } from './fixtures';
import { useClaimsEnv } from './use-claims-env';

let env: ClaimsTestEnv;
const environment = useClaimsEnv();
beforeAll(() => {
  env = environment();
});

test('a process killed (SIGKILL) between BeginUpdate and COMMIT: no row, and recovery rolls the lease back', async () => {
  const child = spawnTs(path.join(__dirname, 'processes/open-lease-then-hang.ts'), {
    CELL_DB_URL: env.cells[1]!.url,
    TOPOLOGY_URL: env.topologyUrl,
    CELL_CREDENTIAL: CELL_CREDENTIALS[1]!,
    USERNAME: 'killed-mid-transaction',
  });
  try {
    await waitFor(() => child.output().includes('LEASE_OPEN'), { timeoutMs: 120_000, message: `child to open its lease: ${child.output()}` });
  } finally {
    child.child.kill('SIGKILL');
  }
  expect(await child.exited).toBe('SIGKILL');
  // PostgreSQL aborted the transaction with the connection: no row, no local lease
  await waitFor(async () => (await env.cells[1]!.sql`select 1 from pg_stat_activity where state like 'idle in transaction%' and datname = current_database()`).length === 0);
  expect(exactlyOne(await env.cells[1]!.sql<{ n: number }[]>`select count(*)::int as n from users where username = 'killed-mid-transaction'`).n).toBe(0);
  expect(await leaseCounts(env)).toEqual({ service: 1, local: 0 });
  expect((await serviceClaims(env)).find((c) => c.value === 'killed-mid-transaction')?.status).toBe(2);

  const claims = env.claims({ models });
  expect((await recoverLostTransactions(claims, { fullScan: false })).rolledBack).toBe(0); // not stale yet
  const result = await recoverLostTransactions(claims, { now: new Date(Date.now() + 6 * 60_000), fullScan: false });
  expect(result.rolledBack).toBe(1);
  expect(await leaseCounts(env)).toEqual({ service: 0, local: 0 });
  expect((await serviceClaims(env)).some((c) => c.value === 'killed-mid-transaction')).toBe(false);
}, 180_000);
