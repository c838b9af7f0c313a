import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { codeToString } from '@connectrpc/connect/protocol-connect';
import type { Logger } from '@meridian/logger';
import { Counter, Histogram, type Registry } from 'prom-client';
import { describePrincipal, principalKey } from '../auth/principal';

// One structured log line, one counter increment and one histogram sample per RPC, labelled by
// method and final code. It is the outermost interceptor, so auth failures are counted too.
// Unexpected errors are logged in full here and replaced by a generic INTERNAL for the caller.

function protocolOf(contentType: string | null): string {
  if (!contentType) return 'unknown';
  if (contentType.startsWith('application/grpc-web')) return 'grpc-web';
  if (contentType.startsWith('application/grpc')) return 'grpc';
  return 'connect';
}

const POSTGRES_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECT_TIMEOUT', '57P01', '57P03']);

export function createRpcObserver(logger: Logger, registry: Registry): Interceptor {
  const requests = new Counter({
    name: 'topology_rpc_requests_total',
    help: 'RPCs handled, by method and final code',
    labelNames: ['method', 'code'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'topology_rpc_duration_seconds',
    help: 'RPC handling time, by method and final code',
    labelNames: ['method', 'code'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.3, 1, 3, 10],
    registers: [registry],
  });

  return (next) => async (req) => {
    const started = process.hrtime.bigint();
    const method = `${req.service.name}/${req.method.name}`;
    let code = 'ok';
    try {
      return await next(req);
    } catch (error) {
      let failure: ConnectError;
      if (error instanceof ConnectError) {
        failure = error;
      } else {
        const pgCode = (error as { code?: string }).code;
        const unavailable = pgCode !== undefined && POSTGRES_UNAVAILABLE.has(pgCode);
        logger.error({ err: error, method }, 'rpc failed unexpectedly');
        failure = new ConnectError(unavailable ? 'database unavailable' : 'internal error', unavailable ? Code.Unavailable : Code.Internal);
      }
      code = codeToString(failure.code);
      throw failure;
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      requests.inc({ method, code });
      latency.observe({ method, code }, seconds);
      logger.info(
        {
          method,
          code,
          durationMs: Math.round(seconds * 1e6) / 1e3,
          protocol: protocolOf(req.header.get('content-type')),
          caller: describePrincipal(req.contextValues.get(principalKey)),
        },
        'rpc',
      );
    }
  };
}
