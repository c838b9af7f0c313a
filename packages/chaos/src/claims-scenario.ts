import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { emailClaimable, signUpUser, userClaimable } from '@meridian/cell-models';
import { ClaimsUnavailableError, ClaimTakenError, recoverLostTransactions, uniqueClaimsFlag, type Claimable, type Claims, type Row } from '@meridian/claims';
import { loadConfig } from '@meridian/config';
import { createSql, migrate, setFlag, type Sql } from '@meridian/db';
import { freePort } from '@meridian/dev-services';
import { createSilentLogger } from '@meridian/logger';
import { openClaims, siteMigrationSet } from '@meridian/runtime';
import { buildApps, managed } from './cluster';
import { seededRandom, type Random } from './random';
import type { RunResult, RunSize } from './run-scenario';
import { sleep, type Scenario } from './scenarios';
import { startPrivatePostgres } from './servers';

// The Topology Service SIGKILLed and restarted while two cells sign up users from one pool of
// usernames (and emails), so both cells want the same values all the time. Afterwards, once lease
// recovery ran, every counter must be zero: no value with two owners, no lease on either side,
// every committed user and email holding exactly its claims.

const CELLS = [1, 2] as const;
const WRITERS_PER_CELL = 4;
const credential = (cell: number) => `chaos-cell-${cell}-credential-0123456789`;
/** lease recovery treats leases older than 5 minutes as stale; it runs "this much later" (a fake clock) */
const RECOVERY_CLOCK_AHEAD_MS = 6 * 60_000;

interface Cell {
  id: number;
  sql: Sql;
  claims: Claims;
}

interface Outcomes {
  committed: number;
  taken: number;
  unavailable: number;
  /** a value the cell itself already holds (its own unique index refused it before any claim) */
  localDuplicate: number;
  other: number;
}

const claimKey = (cell: number, claim: ReturnType<Claimable['claimsOf']>[number]) =>
  `${claim.bucket.type}|${claim.bucket.value}|${cell}|${claim.source?.type}|${Buffer.from((claim.source as { railsPrimaryKeyId?: Uint8Array }).railsPrimaryKeyId ?? []).toString('hex')}`;

/** The loss counters of the claims scenario (all must be zero). */
export async function claimsLoss(topology: Sql, cells: readonly Cell[]): Promise<Record<string, number>> {
  const expected = new Map<string, string>(); // key → bucket|value
  const holders = new Map<string, Set<number>>(); // bucket|value → cells whose rows hold it
  const localLeases: number[] = [];
  for (const cell of cells) {
    for (const model of [userClaimable, emailClaimable]) {
      for (const row of await cell.sql<Row[]>`select * from ${cell.sql(model.table)}`) {
        for (const claim of model.claimsOf(row)) {
          const value = `${claim.bucket.type}|${claim.bucket.value}`;
          expected.set(claimKey(cell.id, claim), value);
          holders.set(value, (holders.get(value) ?? new Set()).add(cell.id));
        }
      }
    }
    const [row] = await cell.sql<{ n: number }[]>`select count(*)::int as n from cells_outstanding_leases`;
    localLeases.push(row!.n);
  }
  const service = await topology<{ key: string; value: string; status: number }[]>`
    select bucket_type || '|' || bucket_value || '|' || cell_id || '|' || source_type || '|' || encode(source_id, 'hex') as key,
           bucket_type || '|' || bucket_value as value, status
    from claims`;
  const [leases] = await topology<{ n: number }[]>`select count(*)::int as n from claim_leases where state = 'open'`;
  const active = new Set(service.filter((c) => c.status === 1).map((c) => c.key));
  const serviceOwners = new Map<string, number>();
  for (const c of service) serviceOwners.set(c.value, (serviceOwners.get(c.value) ?? 0) + 1);
  return {
    /** a value held by rows in both cells, or by two service claims */
    valuesWithTwoOwners: [...holders.values()].filter((s) => s.size > 1).length + [...serviceOwners.values()].filter((n) => n > 1).length,
    /** a committed row's claim not ACTIVE in the service under that cell and row */
    claimsMissing: [...expected.keys()].filter((k) => !active.has(k)).length,
    /** a service claim no committed row holds (an orphan: a rolled-back write's values) */
    claimsWithoutRow: [...active].filter((k) => !expected.has(k)).length,
    claimsUnderLease: service.filter((c) => c.status !== 1).length,
    serviceLeasesOpen: leases!.n,
    localLeasesLeft: localLeases.reduce((a, b) => a + b, 0),
  };
}

/**
 * Each cell walks the same sequence of usernames (`user-1`, `user-2`, … with random small skips),
 * so both cells want nearly every name at nearly the same moment, however fast they go.
 */
async function signUpLoop(cell: Cell, next: { n: number }, random: Random, until: number, outcomes: Outcomes, inFlight: { n: number }, log: (line: string) => void): Promise<void> {
  while (Date.now() < until) {
    next.n += random.int(1, 2);
    const name = `user-${next.n}`;
    inFlight.n++;
    try {
      await signUpUser(cell.claims, cell.sql, { username: name, emails: [`${name}@example.com`] });
      outcomes.committed++;
    } catch (error) {
      if (error instanceof ClaimTakenError) outcomes.taken++;
      else if (error instanceof ClaimsUnavailableError) outcomes.unavailable++;
      else if ((error as { code?: string }).code === '23505') outcomes.localDuplicate++;
      else {
        outcomes.other++;
        if (outcomes.other <= 3) log(`  cell ${cell.id}: sign-up failed unexpectedly: ${(error as Error).message}`);
      }
      await sleep(random.int(20, 100));
    } finally {
      inFlight.n--;
    }
  }
}

export async function runClaimsScenario(scenarioId: number, seed: number, size: RunSize, log: (line: string) => void): Promise<RunResult> {
  const started = Date.now();
  const random = seededRandom(seed * 1_000 + scenarioId);
  const workloadRandoms = CELLS.map((cell) => seededRandom(seed * 1_000 + scenarioId + 500 + cell));
  buildApps();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-chaos-claims-'));
  fs.chmodSync(base, 0o755); // PostgreSQL runs as `postgres` when we are root
  const postgres = await startPrivatePostgres(path.join(base, 'pg'), await freePort());
  const dbUrl = (name: string) => Object.assign(new URL(postgres.url), { pathname: `/${name}` }).toString();
  const admin = createSql(postgres.url, { max: 1 });
  for (const name of ['chaos_topology', 'chaos_cell1', 'chaos_cell2']) await admin.unsafe(`create database ${name}`);
  await admin.end();
  const topologySql = createSql(dbUrl('chaos_topology'), { max: 2, applicationName: 'chaos' });
  await migrate(topologySql, siteMigrationSet('topology'));
  const port = await freePort();
  const service = managed('topology service', 'topology', () => ({
    TOPOLOGY_DATABASE_URL: dbUrl('chaos_topology'),
    TOPOLOGY_PORT: String(port),
    HOST: '127.0.0.1',
    TOPOLOGY_CELLS: CELLS.map((c) => `${c},127.0.0.1:${10_000 + c},cell-${c}`).join(';'),
    TOPOLOGY_CELL_CREDENTIALS: CELLS.map((c) => `${c}=${credential(c)}`).join(','),
    TOPOLOGY_ADMIN_TOKEN: 'chaos-topology-admin-token-0123',
    TOPOLOGY_ROUTER_TOKEN: 'chaos-topology-router-token-0123',
    LOG_LEVEL: 'info',
  }));
  const cells: Cell[] = [];
  const faults: Record<string, number> = {};
  let inFlightAtFaults = 0;
  try {
    for (const id of CELLS) {
      const url = dbUrl(`chaos_cell${id}`);
      const sql = createSql(url, { max: WRITERS_PER_CELL + 2, applicationName: 'chaos' });
      await migrate(sql, siteMigrationSet('main'));
      // each cell its own id range (upstream: sequence ranges per cell), so ids never collide
      for (const { name } of await sql<{ name: string }[]>`select schemaname || '.' || sequencename as name from pg_sequences`) {
        await sql`select setval(${name}::regclass, ${id * 1_000_000_000}, false)`;
      }
      await setFlag(sql, [uniqueClaimsFlag], uniqueClaimsFlag.name, true);
      const config = loadConfig({
        SITE_ROLE: 'primary',
        CELL_ID: String(id),
        DATABASE_URL: url,
        TOPOLOGY_SERVICE_URL: `http://127.0.0.1:${port}`,
        TOPOLOGY_CELL_CREDENTIAL: credential(id),
        // a loaded 2-core machine: 1 s rather than 0.3 s per try, and a breaker that probes again
        // after 1 s, so writes resume between kills and faults land on writes in flight
        TOPOLOGY_TRANSACTION_TIMEOUT_MS: '1000',
        TOPOLOGY_BREAKER_OPEN_MS: '1000',
      });
      cells.push({ id, sql, claims: openClaims(config, sql, createSilentLogger()) });
    }
    await service.start();
    for (const cell of cells) await cell.claims.client!.warmUp();

    const until = Date.now() + size.faultWindowMs;
    const outcomes: Outcomes = { committed: 0, taken: 0, unavailable: 0, localDuplicate: 0, other: 0 };
    const inFlight = { n: 0 };
    const writers = cells.flatMap((cell, i) => {
      const next = { n: 0 };
      return Array.from({ length: WRITERS_PER_CELL }, () => signUpLoop(cell, next, workloadRandoms[i]!, until, outcomes, inFlight, log));
    });
    const inject = (async () => {
      while (Date.now() < until) {
        await sleep(random.int(2_000, 5_000));
        if (Date.now() >= until) break;
        faults['SIGKILL topology service'] = (faults['SIGKILL topology service'] ?? 0) + 1;
        inFlightAtFaults += inFlight.n;
        log(`  fault: SIGKILL topology service (${inFlight.n} sign-ups in flight)`);
        await service.kill('SIGKILL');
        await sleep(random.int(500, 3_000));
        await service.start();
      }
    })();
    await Promise.all([...writers, inject]);
    if (!service.alive()) await service.start();

    // lease recovery (the every-minute job), run as if 6 minutes later so every lease is stale
    const healed = Date.now();
    const deadline = healed + size.convergeBoundMs;
    let loss = await claimsLoss(topologySql, cells);
    log(`  before recovery: ${Object.entries(loss).map(([k, v]) => `${k}=${v}`).join(' ')}`);
    while (Object.values(loss).some((n) => n > 0) && Date.now() < deadline) {
      for (const cell of cells) {
        try {
          const result = await recoverLostTransactions(cell.claims, { now: new Date(Date.now() + RECOVERY_CLOCK_AHEAD_MS), fullScan: true });
          log(`  cell ${cell.id} recovery: ${result.committed} committed, ${result.rolledBack} rolled back, ${result.deletedLocal} local rows deleted, ${result.failed} failed`);
        } catch (error) {
          log(`  cell ${cell.id} recovery failed (${(error as Error).message}); again`);
        }
      }
      loss = await claimsLoss(topologySql, cells);
      if (Object.values(loss).some((n) => n > 0)) await sleep(1_000);
    }
    const converged = Object.values(loss).every((n) => n === 0) && outcomes.other === 0;
    return {
      scenario: scenarioId,
      seed,
      converged,
      convergeSeconds: Math.round((Date.now() - healed) / 100) / 10,
      totalSeconds: Math.round((Date.now() - started) / 1000),
      work: { blobsWritten: 0, mib: 0, rowsDeleted: 0, liveBlobs: 0 },
      workload:
        `${outcomes.committed} sign-ups committed, ${outcomes.taken} refused as taken, ${outcomes.unavailable} failed cleanly (service unavailable), ` +
        `${outcomes.localDuplicate} refused by the cell's own index, ${outcomes.other} other errors; ${CELLS.length} cells × ${WRITERS_PER_CELL} writers, both cells walking one sequence of usernames`,
      faults,
      syncsInFlightAtFaults: inFlightAtFaults,
      loss: { ...loss, unexpectedErrors: outcomes.other },
      crashes: service.crashes,
    };
  } finally {
    await service.kill('SIGTERM').catch(() => undefined);
    await Promise.all(cells.map((cell) => cell.sql.end({ timeout: 2 })));
    await topologySql.end({ timeout: 2 });
    await postgres.stop();
    fs.rmSync(base, { recursive: true, force: true });
  }
}

export const claimsScenario = (id: number): Scenario => ({
  id,
  title: 'the Topology Service SIGKILLed and restarted while two cells sign up users with overlapping usernames',
  cluster: { workers: 0 },
  inject: () => Promise.resolve(),
  run: (seed, size, log) => runClaimsScenario(id, seed, size, log),
});
