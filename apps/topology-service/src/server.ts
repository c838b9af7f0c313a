import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { CellConfig } from '@meridian/config';
import type { Sql } from '@meridian/db';
import type { Logger } from '@meridian/logger';
import { ClaimService, ClassifyService } from '@meridian/proto';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createAuthInterceptor } from './auth/auth-interceptor';
import { createCredentialResolver, type Credentials } from './auth/principal';
import { createCellDirectory } from './claims/cells';
import { createClaimQueries } from './repository/claim-queries';
import { createClaimUpdates } from './repository/claim-updates';
import { createClassifyHandlers } from './handlers/classify-handlers';
import { createQueryHandlers } from './handlers/claim-query-handlers';
import { createUpdateHandlers } from './handlers/claim-update-handlers';
import { createDualProtocolServer } from './http/dual-protocol-listener';
import { createFallback } from './http/fallback';
import { createGrpcUnaryFastPath } from './http/grpc-unary-fast-path';
import { createRpcObserver } from './http/rpc-observer';

export interface TopologyServerOptions {
  /** a pool on the (migrated) topology database; the caller owns and closes it */
  sql: Sql;
  logger: Logger;
  cells: readonly CellConfig[];
  credentials: Credentials;
  /** records per ListRecords page (default 1000) */
  listRecordsPageSize?: number;
  /** collect Node process metrics too (default true; tests running many servers turn it off) */
  processMetrics?: boolean;
}

export interface TopologyServer {
  /** resolves with the bound port (pass 0 for any free port) */
  listen(port: number, host?: string): Promise<{ port: number; url: string }>;
  close(graceMs?: number): Promise<void>;
  readonly registry: Registry;
}

// Requests above this never reach validation (Connect answers RESOURCE_EXHAUSTED); between the
// ~10 MB BeginUpdate limit and this, validation answers INVALID_ARGUMENT with a message.
const READ_MAX_BYTES = 32 * 1024 * 1024;

/** Connect, gRPC and gRPC-Web for ClaimService and ClassifyService, plus health and metrics. */
export function createTopologyServer(options: TopologyServerOptions): TopologyServer {
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const cells = createCellDirectory(options.cells);
  const queries = createClaimQueries(options.sql);
  const updates = createClaimUpdates(options.sql);
  const pageSize = options.listRecordsPageSize ?? 1000;

  const interceptors = [createRpcObserver(options.logger, registry), createAuthInterceptor(createCredentialResolver(options.credentials))];
  const claimImpl = {
    ...createUpdateHandlers({ updates, cells }),
    ...createQueryHandlers({ queries, cells, listRecordsPageSize: pageSize }),
  };
  const classifyImpl = createClassifyHandlers({ queries, cells });
  const connectHandler = connectNodeAdapter({
    readMaxBytes: READ_MAX_BYTES,
    interceptors,
    routes(router) {
      router.service(ClaimService, claimImpl);
      router.service(ClassifyService, classifyImpl);
    },
    fallback: createFallback({ ping: queries.ping, registry, logger: options.logger }),
  });
  // unary gRPC over HTTP/2 (what cells and routers send) skips Connect's generic pipeline
  const handler = createGrpcUnaryFastPath({
    services: [
      { service: ClaimService, impl: claimImpl },
      { service: ClassifyService, impl: classifyImpl },
    ],
    interceptors,
    readMaxBytes: READ_MAX_BYTES,
    fallback: connectHandler,
  });
  const server = createDualProtocolServer(handler);

  return {
    registry,
    async listen(port, host = '127.0.0.1') {
      const bound = await server.listen(port, host);
      const shownHost = host.includes(':') ? `[${host}]` : host;
      return { port: bound, url: `http://${shownHost}:${bound}` };
    },
    close: (graceMs = 5000) => server.close(graceMs),
  };
}
