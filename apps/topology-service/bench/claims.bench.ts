// Claims per second of the Topology Service next to the two ceilings it cannot beat on this
// machine, measured in one run at the same concurrency (16 gRPC clients, each its own HTTP/2
// connection, closed loops):
//   SQL ceiling  BeginUpdate + CommitUpdate's own SQL, issued in this process (no RPC);
//   RPC ceiling  the same two RPCs against the same server stack with no-op storage (no SQL);
//   service      BeginUpdate + CommitUpdate of one claim against the real service;
// and the combined ceiling 1 / (1/SQL + 1/RPC), with the ratio service / combined. Plus the
// batch figure (1,000 claims per BeginUpdate). The three figures are taken in interleaved
// rounds (BENCH_ROUNDS, default 5) and reported as medians. Not a test: it prints numbers.
//
//   npm run bench -w @meridian/topology-service
//
// The servers run as their own processes (the production bundle, dist/main.js, and
// dist/noop-server.js), so client and server do not share an event loop. It creates and drops
// its own database.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createClient, type Interceptor } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { topologyMigrationSet } from '@meridian/claims/rules';
import { createSql, dropDatabase, ensureDatabase, migrate, withDatabase } from '@meridian/db';
import { ClaimService, type BeginUpdateRequestSchema, type CommitUpdateRequestSchema } from '@meridian/proto';
import { createClaimUpdates } from '../src/repository/claim-updates';
import { createLeanGrpcClient } from './lean-grpc-client';

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const SINGLE_CLAIMS = Number(process.env.BENCH_SINGLE_CLAIMS ?? 4000);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 20);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BATCH_SIZE = 1000;
const TOKEN = 'bench-cell-1-credential-0000';
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

/** Runs `op(i, worker)` for i in [0, n) with `concurrency` workers; returns ops/s and latencies (ms). */
interface Measured {
  perSecond: number;
  p50: number;
  p99: number;
}

async function measure(n: number, concurrency: number, op: (i: number, worker: number) => Promise<void>): Promise<Measured> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        await op(i, worker);
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

const zeroCpu = (): CpuSample => ({ client: 0, server: 0, postgres: 0 });
function addCpu(total: CpuSample, before: CpuSample, after: CpuSample): void {
  for (const k of ['client', 'server', 'postgres'] as const) total[k] += after[k] - before[k];
}

/** The round with the median throughput. */
function median(results: Measured[]): Measured {
  return [...results].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(results.length / 2)]!;
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

async function startService(port: number, bundle: 'main' | 'noop-server') {
  const nodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const entry =
    process.env.BENCH_SERVER === 'tsx'
      ? ['--import', 'tsx', path.resolve(__dirname, bundle === 'main' ? '../src/main.ts' : './noop-server.ts')]
      : [path.resolve(__dirname, `../dist/${bundle}.js`)];
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
    if (child.exitCode !== null) throw new Error(`${bundle} exited during start-up`);
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${bundle} did not become ready`);
}

async function stopService(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

type BeginInit = MessageInitShape<typeof BeginUpdateRequestSchema>;
type CommitInit = MessageInitShape<typeof CommitUpdateRequestSchema>;
interface ClaimCaller {
  beginUpdate(m: BeginInit): Promise<{ leaseUuid?: { value: string } }>;
  commitUpdate(m: CommitInit): Promise<unknown>;
  close(): void;
}

/** CONCURRENCY clients, each with its own HTTP/2 connection (a cell process each). */
function createCallers(baseUrl: string): ClaimCaller[] {
  return Array.from({ length: CONCURRENCY }, () => {
    if (CLIENT === 'lean') {
      const lean = createLeanGrpcClient(baseUrl, `Bearer ${TOKEN}`);
      return {
        beginUpdate: (m: BeginInit) => lean.call(ClaimService.method.beginUpdate, m),
        commitUpdate: (m: CommitInit) => lean.call(ClaimService.method.commitUpdate, m),
        close: () => lean.close(),
      };
    }
    const client = createClient(ClaimService, createGrpcTransport({ baseUrl, interceptors: [bearer] }));
    return { beginUpdate: (m: BeginInit) => client.beginUpdate(m), commitUpdate: (m: CommitInit) => client.commitUpdate(m), close: () => undefined };
  });
}

const meta = (type: number, value: string, id: number) => ({
  bucket: { type, value },
  subject: { type: 4, id: BigInt(id) },
  source: { type: 1, railsPrimaryKeyId: pk(id) },
});

/** BeginUpdate + CommitUpdate of one claim per op, client w serving ops w, w+16, … */
async function claimPairs(callers: ClaimCaller[], prefix: string, n: number) {
  return measure(n, CONCURRENCY, async (i, worker) => {
    const caller = callers[worker]!;
    const r = await caller.beginUpdate({ cellId: 1n, createRecords: [meta(4, `${prefix}-${i}`, i + 1)] });
    await caller.commitUpdate({ cellId: 1n, leaseUuid: r.leaseUuid });
  });
}

async function main(): Promise<void> {
  await ensureDatabase(dbUrl);
  const sql = createSql(dbUrl, { max: CONCURRENCY });
  let child: ChildProcess | undefined;
  let noopChild: ChildProcess | undefined;
  try {
    await migrate(sql, topologyMigrationSet());
    const f = (n: number, digits = 0) => n.toFixed(digits);
    const line = (r: Measured, unit = 'claims/s') => `${f(r.perSecond).padStart(6)} ${unit}  p50 ${f(r.p50, 2)} ms  p99 ${f(r.p99, 2)} ms`;

    // Both servers run side by side (an idle one costs nothing). The three figures are measured
    // in ROUNDS interleaved rounds, so a change in the machine's load (other work on shared
    // cores) hits all three alike; each figure is the median round, the ratio the median of the
    // rounds' ratios.
    const noopPort = await freePort();
    noopChild = await startService(noopPort, 'noop-server');
    const port = await freePort();
    child = await startService(port, 'main');
    const noopCallers = createCallers(`http://127.0.0.1:${noopPort}`);
    const callers = createCallers(`http://127.0.0.1:${port}`);
    const updates = createClaimUpdates(sql);
    const sqlPair = (prefix: string) => async (i: number) => {
      const lease = await updates.begin({
        cellId: 1n,
        creates: [{ key: { type: 6, value: `${prefix}${i + 1}` }, subjectType: 4, subjectId: BigInt(i + 1), sourceType: 1, sourceId: pk(i + 1), userData: undefined }],
        destroys: [],
      });
      await updates.commit(1n, lease);
    };
    // warm up every path (connections, JIT, plan caches)
    await claimPairs(noopCallers, 'warm-noop', 400);
    await measure(400, CONCURRENCY, sqlPair('1000000'));
    await claimPairs(callers, 'warm-svc', 400);

    const perRound = Math.ceil(SINGLE_CLAIMS / ROUNDS);
    const rounds: { rpc: Measured; sql: Measured; service: Measured }[] = [];
    const cpu = { rpc: zeroCpu(), sql: zeroCpu(), service: zeroCpu() };
    for (let r = 0; r < ROUNDS; r++) {
      let before = cpuSample(noopChild.pid);
      const rpc = await claimPairs(noopCallers, `noop-${r}`, perRound);
      addCpu(cpu.rpc, before, cpuSample(noopChild.pid));
      before = cpuSample(undefined);
      const sqlRound = await measure(perRound, CONCURRENCY, sqlPair(`${r + 2}000000`));
      addCpu(cpu.sql, before, cpuSample(undefined));
      before = cpuSample(child.pid);
      const service = await claimPairs(callers, `svc-${r}`, perRound);
      addCpu(cpu.service, before, cpuSample(child.pid));
      rounds.push({ rpc, sql: sqlRound, service });
    }
    const cpu2 = cpuSample(child.pid);
    const batch = await measure(BATCHES, 1, async (b) => {
      const createRecords = Array.from({ length: BATCH_SIZE }, (_, i) => meta(5, `user${b * BATCH_SIZE + i}@bench.example`, b * BATCH_SIZE + i + 1));
      const r = await callers[0]!.beginUpdate({ cellId: 1n, createRecords });
      await callers[0]!.commitUpdate({ cellId: 1n, leaseUuid: r.leaseUuid });
    });
    const cpu3 = cpuSample(child.pid);
    for (const c of [...callers, ...noopCallers]) c.close();

    const rpc = median(rounds.map((x) => x.rpc));
    const sqlOnly = median(rounds.map((x) => x.sql));
    const service = median(rounds.map((x) => x.service));
    const ratios = rounds.map((x) => x.service.perSecond / (1 / (1 / x.sql.perSecond + 1 / x.rpc.perSecond))).sort((a, b) => a - b);
    const combined = 1 / (1 / sqlOnly.perSecond + 1 / rpc.perSecond);
    const ratio = ratios[Math.floor(ratios.length / 2)]!;
    console.log(
      `\nTopology Service claims benchmark (${CONCURRENCY} concurrent gRPC clients, one HTTP/2 connection each, ${CLIENT === 'lean' ? 'lean gRPC client' : 'connect-node client'}, server ${process.env.BENCH_SERVER === 'tsx' ? 'under tsx' : 'bundled'}, loopback)`,
    );
    console.log(`  SQL ceiling (BeginUpdate+CommitUpdate SQL, in-process): ${line(sqlOnly)}`);
    console.log(`  RPC ceiling (no-op BeginUpdate+CommitUpdate RPCs):      ${line(rpc)}`);
    console.log(`  combined ceiling 1/(1/SQL + 1/RPC):                     ${f(combined).padStart(6)} claims/s`);
    console.log(`  service (BeginUpdate+CommitUpdate, 1 claim):            ${line(service)}`);
    console.log(
      `  ratio service / combined: ${f(ratio, 2)} (target >= 0.8: ${ratio >= 0.8 ? 'met' : 'NOT met'})   p99 ${f(service.p99, 1)} ms (target < 50 ms: ${service.p99 < 50 ? 'met' : 'NOT met'})`,
    );
    console.log(`  batch (${BATCH_SIZE} claims per BeginUpdate + CommitUpdate): ${f(batch.perSecond * BATCH_SIZE)} claims/s  p50 ${f(batch.p50, 1)} ms per batch`);
    console.log(`  rounds: ${ROUNDS} of ${perRound} claims each; ratio per round: ${ratios.map((x) => f(x, 2)).join(' ')}`);
    console.log(`  rpc     ${cpuPerOp(zeroCpu(), cpu.rpc, perRound * ROUNDS)}`);
    console.log(`  sql     ${cpuPerOp(zeroCpu(), cpu.sql, perRound * ROUNDS)}`);
    console.log(`  service ${cpuPerOp(zeroCpu(), cpu.service, perRound * ROUNDS)}`);
    console.log(`  batch   ${cpuPerOp(cpu2, cpu3, BATCHES * BATCH_SIZE)} (per claim)`);
  } finally {
    await stopService(noopChild);
    await stopService(child);
    await sql.end({ timeout: 5 });
    await dropDatabase(dbUrl);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
