import type { connectNodeAdapter } from '@connectrpc/connect-node';

type NodeHandlerFn = ReturnType<typeof connectNodeAdapter>;
import type { Logger } from '@meridian/logger';
import type { Registry } from 'prom-client';

// Plain HTTP endpoints served next to the RPCs: liveness, readiness (PostgreSQL answers) and
// Prometheus metrics. Everything else is a 404.

type Req = Parameters<NodeHandlerFn>[0];
type Res = Parameters<NodeHandlerFn>[1];

const READY_TIMEOUT_MS = 2000;

function send(res: Res, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

export function createFallback(deps: { ping: () => Promise<void>; registry: Registry; logger: Logger }): NodeHandlerFn {
  return (req: Req, res: Res): void => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 404, 'text/plain', 'not found\n');
      return;
    }
    if (path === '/healthz') {
      send(res, 200, 'application/json', '{"status":"ok"}\n');
    } else if (path === '/readyz') {
      const timeout = new Promise<never>((_, reject) =>
        setTimeout(() => reject(new Error('timed out')), READY_TIMEOUT_MS).unref(),
      );
      Promise.race([deps.ping(), timeout]).then(
        () => send(res, 200, 'application/json', '{"status":"ready","postgres":"ok"}\n'),
        (error: unknown) => {
          deps.logger.warn({ err: error }, 'readiness check failed');
          send(res, 503, 'application/json', '{"status":"unready","postgres":"unreachable"}\n');
        },
      );
    } else if (path === '/metrics') {
      deps.registry.metrics().then(
        (text) => send(res, 200, deps.registry.contentType, text),
        (error: unknown) => {
          deps.logger.error({ err: error }, 'metrics collection failed');
          send(res, 500, 'text/plain', 'metrics unavailable\n');
        },
      );
    } else {
      send(res, 404, 'text/plain', 'not found\n');
    }
  };
}
