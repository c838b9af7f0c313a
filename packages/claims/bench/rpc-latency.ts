// Round-trip latency of single Topology Service calls from one client (sequential, then 16 at a
// time), separating the RPC path from the database work of a claim. BENCH_PROTOCOL picks the wire.
import { createSql, migrate } from '@meridian/db';
import { createTestDatabase, percentile } from '@meridian/testing';
import { createTopologyClient } from '@meridian/topology-client';
import { startTopologyProcess } from './topology-process';
import { topologyMigrationSet } from '../src';

const CREDENTIAL = 'bench-cell-1-credential-xxxx';

async function main(): Promise<void> {
  const topoDb = await createTestDatabase('claims_rpc_topo');
  const topoSql = createSql(topoDb.url, { max: 1 });
  await migrate(topoSql, topologyMigrationSet());
  await topoSql.end();
  const service = await startTopologyProcess(topoDb.url, CREDENTIAL);
  try {
    const protocol = (process.env.BENCH_PROTOCOL ?? 'grpc') as 'grpc' | 'connect';
    const client = createTopologyClient({ baseUrl: service.url, credential: CREDENTIAL, cellId: 1, protocol, policies: { transaction: { timeoutMs: 10_000 } } });
    await client.warmUp();
    let n = 0;
    const signUpRpcs = async () => {
      const i = ++n;
      const lease = await client.beginUpdate({ creates: [{ bucket: { type: 4, value: `rpc-${i}` }, subject: { type: 4, id: 1n }, source: { type: 1, railsPrimaryKeyId: new Uint8Array(8) } }] });
      await client.commitUpdate(lease);
    };
    for (const [label, call] of [['GetCells', () => client.getCells()], ['BeginUpdate+CommitUpdate', signUpRpcs]] as const) {
      for (const concurrency of [1, 16]) {
        const latencies: number[] = [];
        const start = process.hrtime.bigint();
        await Promise.all(
          Array.from({ length: concurrency }, async () => {
            for (let i = 0; i < 200 / concurrency + 20; i++) {
              const t = process.hrtime.bigint();
              await call();
              latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
            }
          }),
        );
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        latencies.sort((a, b) => a - b);
        process.stdout.write(`${protocol} ${label} ×${concurrency}: ${(latencies.length / seconds).toFixed(0)}/s, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms\n`);
      }
    }
    // the service's own view: time inside its handler (database included) per method
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    const sums = new Map<string, { sum: number; count: number }>();
    for (const [, kind, method, value] of metrics.matchAll(/^\w+_seconds_(sum|count)\{[^}]*method="([^"]+)"[^}]*\} (\S+)$/gm)) {
      const entry = sums.get(method!) ?? { sum: 0, count: 0 };
      entry[kind as 'sum' | 'count'] += Number(value);
      sums.set(method!, entry);
    }
    for (const [method, { sum, count }] of sums) process.stdout.write(`  service ${method}: ${count} calls, mean ${((sum / count) * 1000).toFixed(1)} ms in the service\n`);
  } finally {
    await service.stop();
    await topoDb.drop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
