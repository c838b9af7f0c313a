// User sign-ups (a user with two emails) from 16 concurrent writers, with claims on next to the
// same writes with claims off, in the same run. The Topology Service runs as its own process
// (the app's current code) on its own database; phases alternate off/on so drift hits both.
// Target: claims-on ≥ 0.5 × claims-off sign-ups/s, p99 added ≤ 20 ms (on a quiet machine).
import { createSql, migrate, migrationSet, setFlag } from '@meridian/db';
import { createSilentLogger } from '@meridian/logger';
import { createTestDatabase, percentile, printBench } from '@meridian/testing';
import { createTopologyClient } from '@meridian/topology-client';
import { startTopologyProcess } from './topology-process';
import { claimsMainMigrations, createClaims, topologyMigrationSet, uniqueClaimsFlag, withClaims } from '../src';
import { emails, models, schema, users } from '../test/fixtures';

const WRITERS = Number(process.env.BENCH_WRITERS ?? 16);
const PER_PHASE = Number(process.env.BENCH_SIGNUPS ?? 1_500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CREDENTIAL = 'bench-cell-1-credential-xxxx';
/** the client's wire protocol (TOPOLOGY_PROTOCOL) */
const PROTOCOL = (process.env.BENCH_PROTOCOL ?? 'grpc') as 'grpc' | 'connect' | 'grpc-web';

async function main(): Promise<void> {
  const cellDb = await createTestDatabase('claims_bench_cell');
  const topoDb = await createTestDatabase('claims_bench_topo');
  const cell = createSql(cellDb.url, { max: WRITERS + 4 });
  const topoSql = createSql(topoDb.url, { max: 2 });
  await migrate(cell, migrationSet('main', [schema, claimsMainMigrations]));
  await migrate(topoSql, topologyMigrationSet());
  await topoSql.end();
  const service = await startTopologyProcess(topoDb.url, CREDENTIAL);
  try {
    const url = service.url;
    const client = createTopologyClient({ baseUrl: url, credential: CREDENTIAL, cellId: 1, protocol: PROTOCOL, interceptors: process.env.BENCH_DEBUG ? [(next) => async (req) => { const t = Date.now(); try { return await next(req); } catch (e) { process.stderr.write(`ERR ${req.method.name} ${Date.now() - t} ms ${String(e)}\n`); throw e; } }] : [] });
    await client.warmUp();
    // warm the service (its pool opens connections lazily; each compiles claims_begin_update)
    // with a throwaway client that waits, so cold first calls do not trip the measured client's breaker
    const warm = createTopologyClient({ baseUrl: url, credential: CREDENTIAL, cellId: 1, policies: { transaction: { timeoutMs: 10_000 } } });
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = 0; i < 10; i++) {
          const lease = await warm.beginUpdate({
            creates: [{ bucket: { type: 4, value: `warm-${w}-${i}` }, subject: { type: 4, id: 1n }, source: { type: 1, railsPrimaryKeyId: new Uint8Array(8) } }],
          });
          await warm.rollbackUpdate(lease);
        }
      }),
    );
    const claims = createClaims({
      sql: cell,
      client,
      models,
      logger: createSilentLogger(),
    });
    let n = 0;
    let failures = 0;
    let firstFailure: unknown;
    const signUp = () => {
      const i = ++n;
      return withClaims(claims, cell, async (w) => {
        const u = await w.insert(users, { username: `bench-${i}` });
        await w.insert(emails, { user_id: u.id, email: `bench-${i}@example.com` });
        await w.insert(emails, { user_id: u.id, email: `bench-${i}@work.example.com` });
      });
    };
    const phase = async (count: number) => {
      const latencies: number[] = [];
      let left = count;
      const start = process.hrtime.bigint();
      await Promise.all(
        Array.from({ length: WRITERS }, async () => {
          while (left-- > 0) {
            const t = process.hrtime.bigint();
            try {
              await signUp();
              latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
            } catch (error) {
              failures++;
              if (!firstFailure || String((firstFailure as Error).cause).includes('circuit is open')) firstFailure = error;
              if (process.env.BENCH_DEBUG && failures < 5) process.stderr.write(`${String((error as Error).cause ?? error)}\n`);
            }
          }
        }),
      );
      return { seconds: Number(process.hrtime.bigint() - start) / 1e9, latencies };
    };
    const totals = { off: { s: 0, n: 0, lat: [] as number[] }, on: { s: 0, n: 0, lat: [] as number[] } };
    for (const enabled of [false, true]) {
      await setFlag(cell, [uniqueClaimsFlag], uniqueClaimsFlag.name, enabled);
      await new Promise((r) => setTimeout(r, 1_100)); // the flag read is cached for 1 s
      await phase(200); // warm-up
    }
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of ['off', 'on'] as const) {
        await setFlag(cell, [uniqueClaimsFlag], uniqueClaimsFlag.name, mode === 'on');
        await new Promise((r) => setTimeout(r, 1_100));
        const result = await phase(PER_PHASE);
        totals[mode].s += result.seconds;
        totals[mode].n += PER_PHASE;
        totals[mode].lat.push(...result.latencies);
      }
    }
    const [leases] = await cell<{ n: number }[]>`select count(*)::int as n from cells_outstanding_leases`;
    const rate = (m: 'off' | 'on') => totals[m].lat.length / totals[m].s;
    const p = (m: 'off' | 'on', q: number) => percentile([...totals[m].lat].sort((a, b) => a - b), q);
    printBench({
      name: `user sign-ups (user + 2 emails, ${WRITERS} writers), claims on (${PROTOCOL})`,
      value: rate('on'),
      unit: 'sign-ups/s',
      baseline: { name: 'claims off', value: rate('off') },
      target: { ratio: 0.5 },
      details: {
        'p50 on/off': `${p('on', 50).toFixed(1)}/${p('off', 50).toFixed(1)} ms`,
        'p99 on/off': `${p('on', 99).toFixed(1)}/${p('off', 99).toFixed(1)} ms`,
        'p99 added': `${(p('on', 99) - p('off', 99)).toFixed(1)} ms (target ≤ 20 ${p('on', 99) - p('off', 99) <= 20 ? 'met' : 'MISSED'})`,
        'leases left': String(leases?.n ?? 0),
        failed: `${failures}${firstFailure ? ` (first: ${String((firstFailure as Error).cause ?? firstFailure)})` : ''}`,
      },
    });
  } finally {
    await service.stop();
    await cell.end();
    await cellDb.drop();
    await topoDb.drop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
