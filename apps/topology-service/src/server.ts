import { createRegistry, type JsonReadOptions, type JsonWriteOptions } from '@bufbuild/protobuf';
import { StringValueSchema } from '@bufbuild/protobuf/wkt';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { CellConfig } from '@meridian/config';
import type { Sql } from '@meridian/db';
import type { Logger } from '@meridian/logger';
import { ClaimService, ClassifyService } from '@meridian/proto';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { createAuthorization } from './auth/auth-interceptor';
import { createCredentialResolver, type Credentials } from './auth/principal';
import { createCellDirectory } from './claims/cells';
import { createClaimQueries } from './repository/claim-queries';
import { createClaimUpdates, type ClaimUpdates } from './repository/claim-updates';
import { createClassifyHandlers } from './handlers/classify-handlers';
import { createQueryHandlers } from './handlers/claim-query-handlers';
import { createUpdateHandlers } from './handlers/claim-update-handlers';
import { createDualProtocolServer, DEFAULT_HTTP_LIMITS, type HttpLimits } from './http/dual-protocol-listener';
import { createFallback } from './http/fallback';
import { createRpcObserver } from './http/rpc-observer';
import { createUnexpectedErrorInterceptor } from './http/unexpected-errors';

export interface ServerLimits extends HttpLimits {
  /** largest request message Connect reads (RESOURCE_EXHAUSTED above) */
  readMaxBytes: number;
  /** largest response message Connect writes */
  writeMaxBytes: number;
}

// Above readMaxBytes a request is RESOURCE_EXHAUSTED before it is read; between the ~10 MB
// BeginUpdate limit and it, validation answers INVALID_ARGUMENT with a message.
export const DEFAULT_SERVER_LIMITS: ServerLimits = {
  ...DEFAULT_HTTP_LIMITS,
  readMaxBytes: 16 * 1024 * 1024,
  writeMaxBytes: 64 * 1024 * 1024,
};

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
  /** sizes and timeouts (default DEFAULT_SERVER_LIMITS) */
  limits?: Partial<ServerLimits>;
  /** the lease protocol's storage (default: SQL on `sql`; the benchmark's RPC ceiling passes a no-op) */
  updates?: ClaimUpdates;
}

export interface TopologyServer {
  /** resolves with the bound port (pass 0 for any free port) */
  listen(port: number, host?: string): Promise<{ port: number; url: string }>;
  close(graceMs?: number): Promise<void>;
  readonly registry: Registry;
}

// JSON (Connect JSON, gRPC and gRPC-Web with +json) is read with a fatal UTF-8 decoder, so
// invalid UTF-8 is INVALID_ARGUMENT instead of turning into U+FFFD (binary decoding rejects it
// too), and written with a registry holding the types our google.protobuf.Any fields carry.
const jsonOptions: Partial<JsonReadOptions & JsonWriteOptions> & { textDecoder: { decode(input: Uint8Array): string } } = {
  registry: createRegistry(StringValueSchema),
  textDecoder: new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }),
};

/** Connect, gRPC and gRPC-Web for ClaimService and ClassifyService, plus health and metrics. */
export function createTopologyServer(options: TopologyServerOptions): TopologyServer {
  const limits: ServerLimits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry });
  const cells = createCellDirectory(options.cells);
  const queries = createClaimQueries(options.sql);
  const updates = options.updates ?? createClaimUpdates(options.sql);
  const pageSize = options.listRecordsPageSize ?? 1000;

  const observer = createRpcObserver(options.logger, registry, [ClaimService, ClassifyService]);
  const authorization = createAuthorization(createCredentialResolver(options.credentials));
  const handler = connectNodeAdapter({
    readMaxBytes: limits.readMaxBytes,
    writeMaxBytes: limits.writeMaxBytes,
    jsonOptions,
    contextValues: observer.contextValues,
    requestGate(context) {
      observer.track(context);
      authorization.gate(context);
    },
    interceptors: [createUnexpectedErrorInterceptor(options.logger), authorization.interceptor],
    routes(router) {
      router.service(ClaimService, {
        ...createUpdateHandlers({ updates, cells }),
        ...createQueryHandlers({ queries, cells, listRecordsPageSize: pageSize }),
      });
      router.service(ClassifyService, createClassifyHandlers({ queries, cells }));
    },
    fallback: createFallback({ ping: queries.ping, registry, logger: options.logger }),
  });
  const server = createDualProtocolServer(observer.wrap(handler), limits);

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
