import { createSql, migrationSet, migrationTemplate, setFlag, type Migration, type Sql } from '@meridian/db';
import { createSilentLogger, type Logger } from '@meridian/logger';
import type { QueueSet } from '@meridian/queue';
import { createTestDatabase, type TestDatabase } from '@meridian/testing';
import { createTopologyClient, type TopologyClient, type TopologyClientOptions } from '@meridian/topology-client';
// The real Topology Service, started in this process from the app's current code. A relative
// path, not a package dependency: the service is meant to depend on this package, not the reverse.
import { createTopologyServer, type TopologyServer } from '../../../../apps/topology-service/src/server';
import type { Claimable } from '../claimable';
import { createClaims, uniqueClaimsFlag, type Claims } from '../claims-context';
import { claimsMainMigrations } from '../migrations';
import { topologyMigrationSet } from '../topology-migrations';

// A cell database (core + claims + the given schema steps) per cell, and a Topology Service on a
// fresh database, all real: conformance suites and the claims tests run against this.

export const CELL_CREDENTIALS: Record<number, string> = { 1: 'claims-test-cell-1-credential', 2: 'claims-test-cell-2-credential' };

/** in-transaction deadline of the test clients */
export const TEST_TRANSACTION_TIMEOUT_MS = 10_000;

export interface RecordedCall {
  method: string;
  cellId: number;
  request: unknown;
}

export interface CellEnv {
  id: number;
  url: string;
  sql: Sql;
}

export interface ClaimsTestEnv {
  topologyUrl: string;
  topologySql: Sql;
  cells: Record<number, CellEnv>;
  /** every RPC the clients made (BeginUpdate/CommitUpdate/RollbackUpdate/…), in order */
  calls: RecordedCall[];
  client(cellId?: number, options?: Partial<TopologyClientOptions>): TopologyClient;
  claims(options: { models: readonly Claimable[]; cellId?: number; client?: TopologyClient | null; queues?: QueueSet; logger?: Logger }): Claims;
  setClaimsFlag(enabled: boolean, cellId?: number): Promise<void>;
  /** stops the service (connections refused until startTopology) */
  stopTopology(): Promise<void>;
  startTopology(): Promise<void>;
  close(): Promise<void>;
}

type Interceptor = NonNullable<TopologyClientOptions['interceptors']>[number];

function recorder(calls: RecordedCall[], cellId: number): Interceptor {
  return (next) => (req) => {
    calls.push({ method: req.method.name, cellId, request: req.message });
    return next(req);
  };
}

export async function startClaimsTestEnv(options: { schema: readonly Migration[]; cells?: number[] }): Promise<ClaimsTestEnv> {
  const cellIds = options.cells ?? [1];
  const databases: TestDatabase[] = [];
  // cloned from migrated templates: no migrations per file
  const topologyDb = await createTestDatabase('claims_topo', { template: migrationTemplate(topologyMigrationSet()) });
  databases.push(topologyDb);
  const topologySql = createSql(topologyDb.url, { max: 10 });
  const cells: Record<number, CellEnv> = {};
  for (const id of cellIds) {
    const db = await createTestDatabase(`claims_cell${id}`, { template: migrationTemplate(migrationSet('main', [options.schema, claimsMainMigrations])) });
    databases.push(db);
    const sql = createSql(db.url, { max: 20 });
    // each cell hands out its own id range (upstream: sequence_ranges per cell), so ids never collide
    for (const { name } of await sql<{ name: string }[]>`select schemaname || '.' || sequencename as name from pg_sequences`) {
      await sql`select setval(${name}::regclass, ${id * 1_000_000_000}, false)`;
    }
    cells[id] = { id, url: db.url, sql };
  }

  let server: TopologyServer | undefined;
  let port = 0;
  const start = async () => {
    server = createTopologyServer({
      sql: topologySql,
      logger: createSilentLogger(),
      cells: cellIds.map((id) => ({ id, address: `cell-${id}.test:443`, sessionPrefix: `cell-${id}` })),
      credentials: {
        cells: new Map(cellIds.map((id) => [id, CELL_CREDENTIALS[id]!])),
        admin: 'claims-test-admin-credential',
        router: 'claims-test-router-credential',
      },
      processMetrics: false,
    });
    port = (await server.listen(port)).port;
  };
  await start();
  const topologyUrl = `http://127.0.0.1:${port}`;
  const calls: RecordedCall[] = [];

  const client = (cellId = cellIds[0]!, extra: Partial<TopologyClientOptions> = {}) =>
    createTopologyClient({
      baseUrl: topologyUrl,
      credential: CELL_CREDENTIALS[cellId]!,
      cellId,
      // tests share a loaded machine: a generous deadline, so only the tests about failures fail
      // calls (the production 0.3 s deadline and its breaker are tested in topology-client)
      policies: { transaction: { timeoutMs: TEST_TRANSACTION_TIMEOUT_MS } },
      ...extra,
      interceptors: [recorder(calls, cellId), ...(extra.interceptors ?? [])],
    });

  return {
    topologyUrl,
    topologySql,
    cells,
    calls,
    client,
    claims(o) {
      const cellId = o.cellId ?? cellIds[0]!;
      return createClaims({
        sql: cells[cellId]!.sql,
        client: o.client === null ? undefined : (o.client ?? client(cellId)),
        models: o.models,
        logger: o.logger ?? createSilentLogger(),
        queues: o.queues,
        flagCacheMs: 0,
      });
    },
    async setClaimsFlag(enabled, cellId) {
      for (const id of cellId ? [cellId] : cellIds) await setFlag(cells[id]!.sql, [uniqueClaimsFlag], uniqueClaimsFlag.name, enabled);
    },
    async stopTopology() {
      await server?.close(0);
      server = undefined;
    },
    startTopology: start,
    async close() {
      await server?.close(0);
      for (const cell of Object.values(cells)) await cell.sql.end({ timeout: 5 });
      await topologySql.end({ timeout: 5 });
      for (const db of databases) await db.drop();
    },
  };
}

/** The claims the service holds for a cell, as `TYPE=value` strings with their status. */
export async function serviceClaims(env: ClaimsTestEnv, cellId?: number): Promise<Array<{ type: number; value: string; status: number; cell: number }>> {
  const rows = await env.topologySql<{ bucket_type: number; bucket_value: string; status: number; cell_id: bigint }[]>`
    select bucket_type, bucket_value, status, cell_id from claims
    where ${cellId === undefined ? env.topologySql`true` : env.topologySql`cell_id = ${cellId}`}
    order by bucket_type, bucket_value`;
  return rows.map((r) => ({ type: r.bucket_type, value: r.bucket_value, status: r.status, cell: Number(r.cell_id) }));
}

/** Open leases in the service and outstanding leases in a cell. */
export async function leaseCounts(env: ClaimsTestEnv, cellId = 1): Promise<{ service: number; local: number }> {
  const [service] = await env.topologySql<{ n: number }[]>`select count(*)::int as n from claim_leases where state = 'open' and cell_id = ${cellId}`;
  const [local] = await env.cells[cellId]!.sql<{ n: number }[]>`select count(*)::int as n from cells_outstanding_leases`;
  return { service: service?.n ?? 0, local: local?.n ?? 0 };
}
