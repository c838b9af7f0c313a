import { exactlyOne } from '@meridian/db';
import { BucketType, ClaimsUnavailableError, ClaimTakenError, recoverLostTransactions, withClaims } from '../src';
import { leaseCounts, serviceClaims, type ClaimsTestEnv } from '../src/conformance/claims-test-env';
import { emails, models, users } from './fixtures';
import { useClaimsEnv } from './use-claims-env';

// Two cells, one Topology Service, all real: races and the service going away mid-run.

let env: ClaimsTestEnv;
const environment = useClaimsEnv({ cells: [1, 2] });
beforeAll(() => {
  env = environment();
});

const MIN = 60_000;
const count = async (cell: number, username: string) =>
  exactlyOne(await env.cells[cell]!.sql<{ n: number }[]>`select count(*)::int as n from users where username = ${username}`).n;

test('two cells race for one username: one wins, the other gets "has already been taken" and has no row', async () => {
  for (let round = 0; round < 10; round++) {
    const username = `racer-${round}`;
    const attempt = (cell: number) =>
      withClaims(env.claims({ models, cellId: cell }), env.cells[cell]!.sql, async (w) => {
        const u = await w.insert(users, { username });
        await w.insert(emails, { user_id: u.id, email: `${username}@cell${cell}.example.com` });
      }).then(
        () => 'ok' as const,
        (e: unknown) => e,
      );
    const [a, b] = await Promise.all([attempt(1), attempt(2)]);
    const outcomes = [a, b];
    expect(outcomes.filter((o) => o === 'ok')).toHaveLength(1);
    const loser = outcomes.find((o) => o !== 'ok');
    expect(loser).toBeInstanceOf(ClaimTakenError);
    expect((loser as ClaimTakenError).message).toBe('username has already been taken');
    const winner = a === 'ok' ? 1 : 2;
    expect([await count(1, username), await count(2, username)]).toEqual(winner === 1 ? [1, 0] : [0, 1]);
    const holder = (await serviceClaims(env)).find((c) => c.type === BucketType.USERNAMES && c.value === username);
    expect(holder).toMatchObject({ cell: winner, status: 1 });
  }
  expect(await leaseCounts(env, 1)).toEqual({ service: 0, local: 0 });
  expect(await leaseCounts(env, 2)).toEqual({ service: 0, local: 0 });
});

test('the service stops mid-run: writes fail cleanly, nothing is half-written, recovery leaves no orphaned lease', async () => {
  const claims = env.claims({ models, cellId: 1, client: env.client(1, { breaker: { failureThreshold: 5, openMs: 60_000 } }) });
  const sql = env.cells[1]!.sql;
  let written = 0;
  let stopped = false;
  const failures: unknown[] = [];
  const writer = async (id: number) => {
    for (let i = 0; failures.length < 40; i++) {
      const username = `mid-${id}-${i}`;
      try {
        await withClaims(claims, sql, async (w) => {
          const u = await w.insert(users, { username });
          await w.insert(emails, { user_id: u.id, email: `${username}@example.com` });
        });
        written++;
      } catch (error) {
        failures.push(error);
      }
      if (written >= 40 && !stopped) {
        stopped = true;
        await env.stopTopology();
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, i) => writer(i)));
  expect(stopped).toBe(true);
  // every failure is the clean one: rolled back because the service did not answer (or the breaker is open)
  expect(failures.filter((e) => !(e instanceof ClaimsUnavailableError)).map(String)).toEqual([]);

  await env.startTopology();
  // a fresh process's client (this one's breaker is open); recovery once the leases are stale
  const recovering = env.claims({ models, cellId: 1 });
  const result = await recoverLostTransactions(recovering, { now: new Date(Date.now() + 6 * MIN), fullScan: true });
  expect(result.failed).toBe(0);
  expect(await leaseCounts(env, 1)).toEqual({ service: 0, local: 0 });

  // every committed user holds its claims, and every claim of the cell belongs to a row
  const rows = await sql<{ username: string }[]>`select username from users where username like 'mid-%'`;
  const held = new Map((await serviceClaims(env, 1)).filter((c) => c.type === BucketType.USERNAMES).map((c) => [c.value, c.status]));
  for (const { username } of rows) expect([username, held.get(username)]).toEqual([username, 1]);
  const rowNames = new Set(rows.map((r) => r.username));
  for (const name of held.keys()) if (name.startsWith('mid-')) expect(rowNames.has(name)).toBe(true);
  expect(rows.length).toBeGreaterThanOrEqual(40);
});
