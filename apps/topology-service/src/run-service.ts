import { demoCredentialsInUse, loadConfig, loadTopologyConfig } from '@meridian/config';
import { topologyMigrationSet } from '@meridian/claims/rules';
import { assertMigrated, createSql } from '@meridian/db';
import { createLogger } from '@meridian/logger';
import type { ClaimUpdates } from './repository/claim-updates';
import { createTopologyServer } from './server';

// The Topology Service process: parse configuration once, refuse to run on an unmigrated
// database, serve until SIGTERM/SIGINT, then drain and close the pool. `src/main.ts` runs it;
// the benchmark's no-op server runs it with other lease storage.

export interface RunServiceOptions {
  /** replaces the lease protocol's SQL (the benchmark's RPC ceiling) */
  updates?: ClaimUpdates;
}

export async function runService(options: RunServiceOptions = {}): Promise<void> {
  const config = loadConfig(process.env);
  const topology = loadTopologyConfig(process.env);
  const logger = createLogger({ name: 'topology-service', level: config.LOG_LEVEL });

  for (const name of demoCredentialsInUse(topology)) {
    logger.warn({ variable: name }, 'using the public demo credential; set a real one outside development');
  }

  const sql = createSql(config.TOPOLOGY_DATABASE_URL, {
    applicationName: 'topology-service',
    max: topology.TOPOLOGY_DB_POOL_SIZE,
  });
  try {
    await assertMigrated(sql, topologyMigrationSet(), config.TOPOLOGY_DATABASE_URL);
  } catch (error) {
    await sql.end({ timeout: 5 });
    throw error;
  }

  const server = createTopologyServer({
    sql,
    logger,
    updates: options.updates,
    cells: topology.TOPOLOGY_CELLS,
    credentials: {
      cells: topology.TOPOLOGY_CELL_CREDENTIALS,
      admin: topology.TOPOLOGY_ADMIN_TOKEN,
      router: topology.TOPOLOGY_ROUTER_TOKEN,
    },
    listRecordsPageSize: topology.TOPOLOGY_LIST_RECORDS_PAGE_SIZE,
    limits: {
      readMaxBytes: topology.TOPOLOGY_READ_MAX_BYTES,
      writeMaxBytes: topology.TOPOLOGY_WRITE_MAX_BYTES,
      headersTimeoutMs: topology.TOPOLOGY_HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: topology.TOPOLOGY_HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: topology.TOPOLOGY_HTTP_KEEP_ALIVE_TIMEOUT_MS,
      idleTimeoutMs: topology.TOPOLOGY_HTTP_IDLE_TIMEOUT_MS,
      maxConcurrentStreams: topology.TOPOLOGY_HTTP2_MAX_CONCURRENT_STREAMS,
      maxHeaderBytes: topology.TOPOLOGY_HTTP_MAX_HEADER_BYTES,
    },
  });
  let bound: { url: string; port: number };
  try {
    bound = await server.listen(topology.TOPOLOGY_PORT, config.HOST);
  } catch (error) {
    // e.g. EADDRINUSE: an open pool would keep the process alive, failing silently
    await sql.end({ timeout: 5 });
    throw error;
  }
  const { url, port } = bound;
  logger.info({ url, port, cells: topology.TOPOLOGY_CELLS.map((c) => c.id) }, 'topology service listening');

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server
      .close(config.SHUTDOWN_TIMEOUT_MS)
      .then(() => sql.end({ timeout: 5 }))
      .then(
        () => {
          logger.info('stopped');
          logger.flush();
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exitCode = 1;
        },
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
