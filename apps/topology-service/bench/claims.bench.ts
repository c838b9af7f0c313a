// Throughput and latency of claiming, next to raw PostgreSQL inserts of the same rows on the same
// server at the same concurrency, measured in one run. Not a test: it prints numbers.
//
//   npm run bench -w @meridian/topology-service
//
// The service runs in its own process (as in production), so the client's event loop and the
// server's do not share one core. It creates and drops its own database.
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createClient, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport } from '@connectrpc/connect-node';
import { createSql, dropDatabase, ensureDatabase, migrate, migrationSet, withDatabase } from '@meridian/db';
import { ClaimService } from '@meridian/proto';
import { createClaimUpdates } from '../src/repository/claim-updates';
import { createLeanGrpcClient } from './lean-grpc-client';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SINGLE_CLAIMS = Number(process.env.BENCH_SINGLE_CLAIMS ?? 4000);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 20);
const BATCH_SIZE = 1000;
const TOKEN = 'bench-cell-1-credential-0000';
const PROTOCOL = process.env.BENCH_PROTOCOL ?? 'grpc';
// lean: a minimal gRPC client (one h2 session); connect: @connectrpc/connect-node's transports
const CLIENT = process.env.BENCH_CLIENT ?? 'lean';
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

const TICK_MS = 10; // USER_HZ on Linux
/** CPU ms (user + system) of a process from /proc, 0 when unavailable. */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return 0;
  }
}
/** CPU ms of every postgres process (other users of the server included: a rough figure). */
function postgresCpuMs(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'latin1').trim() === 'postgres') total += processCpuMs(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}
interface CpuSample { client: number; server: number; postgres: number }
function cpuSample(serverPid: number | undefined): CpuSample {
  const own = process.cpuUsage();
  return { client: (own.user + own.system) / 1000, server: serverPid ? processCpuMs(serverPid) : 0, postgres: postgresCpuMs() };
}
function cpuPerOp(before: CpuSample, after: CpuSample, ops: number): string {
  const per = (k: keyof CpuSample) => ((after[k] - before[k]) / ops).toFixed(3);
  return `CPU ms/op: client ${per('client')}  server ${per('server')}  postgres ${per('postgres')}`;
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
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const entry =
    process.env.BENCH_SERVER === 'tsx'
      ? ['--import', 'tsx', path.resolve(__dirname, '../src/main.ts')]
      : [path.resolve(__dirname, '../dist/main.js')];
  const child = spawn(process.execPath, [...nodeArgs, ...entry], {
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
    const connectClient = createClient(ClaimService, transport);
    const lean = createLeanGrpcClient(baseUrl, `Bearer ${TOKEN}`);
    type BeginInit = Parameters<typeof connectClient.beginUpdate>[0];
    type CommitInit = Parameters<typeof connectClient.commitUpdate>[0];
    const client =
      CLIENT === 'lean' && PROTOCOL === 'grpc'
        ? {
            beginUpdate: (m: BeginInit) => lean.call(ClaimService.method.beginUpdate, m),
            commitUpdate: (m: CommitInit) => lean.call(ClaimService.method.commitUpdate, m),
          }
        : connectClient;
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

    const cpu0 = cpuSample(child.pid);
    const raw = await measure(SINGLE_CLAIMS, CONCURRENCY, async (i) => {
      await sql`insert into claims (uuid, bucket_type, bucket_value, subject_type, subject_id, source_type, source_id, cell_id, status)
                values (${randomUUID()}, 4, ${`raw-user-${i}`}, 4, ${i + 1}, 1, ${pk(i + 1)}, 1, 1)`;
    });
    // the service's own SQL for the same claims, in this process without any RPC: the database's
    // share of the cost, and so the ceiling the service can reach on this machine
    const updates = createClaimUpdates(sql);
    const cpuSql = cpuSample(child.pid);
    const sqlOnly = await measure(SINGLE_CLAIMS, CONCURRENCY, async (i) => {
      const lease = await updates.begin({
        cellId: 1n,
        creates: [{ key: { type: 6, value: `sql-user-${i}` }, subjectType: 4, subjectId: BigInt(i + 1), sourceType: 1, sourceId: pk(i + 1), userData: undefined }],
        destroys: [],
      });
      await updates.commit(1n, lease);
    });
    const cpu1 = cpuSample(child.pid);
    const service = await measure(SINGLE_CLAIMS, CONCURRENCY, async (i) => {
      const r = await client.beginUpdate({ cellId: 1n, createRecords: [meta(4, `svc-user-${i}`, i + 1)] });
      await client.commitUpdate({ cellId: 1n, leaseUuid: r.leaseUuid });
    });
    const cpu2 = cpuSample(child.pid);
    const batch = await measure(BATCHES, 1, async (b) => {
      const createRecords = Array.from({ length: BATCH_SIZE }, (_, i) => meta(5, `user${b * BATCH_SIZE + i}@bench.example`, b * BATCH_SIZE + i + 1));
      const r = await client.beginUpdate({ cellId: 1n, createRecords });
      await client.commitUpdate({ cellId: 1n, leaseUuid: r.leaseUuid });
    });
    const cpu3 = cpuSample(child.pid);

    const f = (n: number, digits = 0) => n.toFixed(digits);
    const ratio = service.perSecond / raw.perSecond;
    console.log(`\nTopology Service claims benchmark (${CONCURRENCY} concurrent clients, ${PROTOCOL === 'connect-h1' ? 'Connect over HTTP/1.1' : 'gRPC over h2c'}, ${client === connectClient ? 'connect-node client' : 'lean gRPC client'}, server ${process.env.BENCH_SERVER === 'tsx' ? 'under tsx' : 'bundled'}, loopback)`);
    console.log(`  raw PostgreSQL INSERT (1 row):          ${f(raw.perSecond)} rows/s   p50 ${f(raw.p50, 2)} ms  p99 ${f(raw.p99, 2)} ms`);
    console.log(`  service SQL only, in-process (1 claim):  ${f(sqlOnly.perSecond)} claims/s p50 ${f(sqlOnly.p50, 2)} ms  p99 ${f(sqlOnly.p99, 2)} ms`);
    console.log(`  BeginUpdate+CommitUpdate (1 claim):     ${f(service.perSecond)} claims/s p50 ${f(service.p50, 2)} ms  p99 ${f(service.p99, 2)} ms`);
    console.log(`  ratio service / raw:                    ${f(ratio, 2)}  (target >= 0.5)  p99 target < 10 ms: ${service.p99 < 10 ? 'met' : 'NOT met'}`);
    console.log(`  batch BeginUpdate+CommitUpdate (${BATCH_SIZE}/call): ${f(batch.perSecond * BATCH_SIZE)} claims/s  p50 ${f(batch.p50, 1)} ms per batch`);
    console.log(`  raw     ${cpuPerOp(cpu0, cpuSql, SINGLE_CLAIMS)}`);
    console.log(`  sql     ${cpuPerOp(cpuSql, cpu1, SINGLE_CLAIMS)}`);
    console.log(`  service ${cpuPerOp(cpu1, cpu2, SINGLE_CLAIMS)}`);
    console.log(`  batch   ${cpuPerOp(cpu2, cpu3, BATCHES * BATCH_SIZE)} (per claim)`);
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
