// Throughput and latency of claiming, next to raw PostgreSQL inserts of the same rows on the same
// server at the same concurrency, measured in one run. Not a test: it prints numbers.
//
//   npm run bench -w @meridian/topology-service
//
// The service runs in its own process (as in production), so the client's event loop and the
// server's do not share one core. It creates and drops its own database.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { createClient, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { createSql, dropDatabase, ensureDatabase, migrate, migrationSet, withDatabase } from '@meridian/db';
import { ClaimService } from '@meridian/proto';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SINGLE_CLAIMS = Number(process.env.BENCH_SINGLE_CLAIMS ?? 4000);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 20);
const BATCH_SIZE = 1000;
const TOKEN = 'bench-cell-1-credential-0000';
const PROTOCOL = process.env.BENCH_PROTOCOL ?? 'grpc';
const bearer: Interceptor = (next) => (req) => {
  req.header.set('authorization', `Bearer ${TOKEN}`);
  return next(req);
};
const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbUrl = withDatabase(serverUrl, `meridian_topology_bench_${randomBytes(4).toString('hex')}`);

const pk = (id: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(id));
  return b;
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

/** Runs `op(i)` for i in [0, n) with `concurrency` workers; returns ops/s and latencies (ms). */
async function measure(n: number, concurrency: number, op: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        await op(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { perSecond: n / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function startService(port: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve(__dirname, '../src/main.ts')], {
    env: {
      ...process.env,
      TOPOLOGY_DATABASE_URL: dbUrl,
      TOPOLOGY_PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      TOPOLOGY_CELL_CREDENTIALS: `1=${TOKEN}`,
      TOPOLOGY_CELLS: '1,127.0.0.1:3001,cell-1',
      TOPOLOGY_DB_POOL_SIZE: String(CONCURRENCY + 4),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (let i = 0; i < 300; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
    if (ok) return child;
    if (child.exitCode !== null) throw new Error('topology service exited during start-up');
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('topology service did not become ready');
}

async function main(): Promise<void> {
  await ensureDatabase(dbUrl);
  const sql = createSql(dbUrl, { max: CONCURRENCY });
  const port = await freePort();
  let child: Awaited<ReturnType<typeof startService>> | undefined;
  try {
    await migrate(sql, migrationSet('topology'));
    child = await startService(port);
    const interceptors = [bearer];
    const baseUrl = `http://127.0.0.1:${port}`;
    // BENCH_PROTOCOL=connect-h1 measures Connect over HTTP/1.1 instead of gRPC over h2c
    const transport =
      PROTOCOL === 'connect-h1'
        ? createConnectTransport({ baseUrl, httpVersion: '1.1', interceptors })
        : createGrpcTransport({ baseUrl, interceptors });
    const client = createClient(ClaimService, transport);
    const meta = (type: number, value: string, id: number) => ({
      bucket: { type, value },
      subject: { type: 4, id: BigInt(id) },
      source: { type: 1, railsPrimaryKeyId: pk(id) },
    });

    // warm up both paths (connections, JIT, plan caches)
    for (let i = 0; i < 200; i++) {
      const r = await client.beginUpdate({ cellId: 1n, createRecords: [meta(1, `warm-${i}`, i + 1)] });
      await client.commitUpdate({ cellId: 1n, leaseUuid: r.leaseUuid });
      await sql`insert into claims (uuid, bucket_type, bucket_value, subject_type, subject_id, source_type, source_id, cell_id, status)
                values (${randomUUID()}, 2, ${`warm-${i}`}, 4, ${i + 1}, 1, ${pk(i + 1)}, 1, 1)`;
    }

    const raw = await measure(SINGLE_CLAIMS, CONCURRENCY, async (i) => {
      await sql`insert into claims (uuid, bucket_type, bucket_value, subject_type, subject_id, source_type, source_id, cell_id, status)
                values (${randomUUID()}, 4, ${`raw-user-${i}`}, 4, ${i + 1}, 1, ${pk(i + 1)}, 1, 1)`;
    });
    const service = await measure(SINGLE_CLAIMS, CONCURRENCY, async (i) => {
      const r = await client.beginUpdate({ cellId: 1n, createRecords: [meta(4, `svc-user-${i}`, i + 1)] });
      await client.commitUpdate({ cellId: 1n, leaseUuid: r.leaseUuid });
    });
    const batch = await measure(BATCHES, 1, async (b) => {
      const createRecords = Array.from({ length: BATCH_SIZE }, (_, i) => meta(5, `user${b * BATCH_SIZE + i}@bench.example`, b * BATCH_SIZE + i + 1));
      const r = await client.beginUpdate({ cellId: 1n, createRecords });
      await client.commitUpdate({ cellId: 1n, leaseUuid: r.leaseUuid });
    });

    const f = (n: number, digits = 0) => n.toFixed(digits);
    const ratio = service.perSecond / raw.perSecond;
    console.log(`\nTopology Service claims benchmark (${CONCURRENCY} concurrent clients, ${PROTOCOL === 'connect-h1' ? 'Connect over HTTP/1.1' : 'gRPC over h2c'}, loopback)`);
    console.log(`  raw PostgreSQL INSERT (1 row):          ${f(raw.perSecond)} rows/s   p50 ${f(raw.p50, 2)} ms  p99 ${f(raw.p99, 2)} ms`);
    console.log(`  BeginUpdate+CommitUpdate (1 claim):     ${f(service.perSecond)} claims/s p50 ${f(service.p50, 2)} ms  p99 ${f(service.p99, 2)} ms`);
    console.log(`  ratio service / raw:                    ${f(ratio, 2)}  (target >= 0.5)  p99 target < 10 ms: ${service.p99 < 10 ? 'met' : 'NOT met'}`);
    console.log(`  batch BeginUpdate+CommitUpdate (${BATCH_SIZE}/call): ${f(batch.perSecond * BATCH_SIZE)} claims/s  p50 ${f(batch.p50, 1)} ms per batch`);
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await sql.end({ timeout: 5 });
    await dropDatabase(dbUrl);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
