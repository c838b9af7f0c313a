import type { DescService } from '@bufbuild/protobuf';
import { Code, ConnectError, createContextKey, createContextValues, type ContextValues, type HandlerContext } from '@connectrpc/connect';
import { codeToString } from '@connectrpc/connect/protocol-connect';
import { codeFromHttpStatus } from '@connectrpc/connect/protocol-grpc';
import type { connectNodeAdapter } from '@connectrpc/connect-node';
import type { Logger } from '@meridian/logger';
import { Counter, Histogram, type Registry } from 'prom-client';
import { describePrincipal, principalKey } from '../auth/principal';

type NodeHandlerFn = ReturnType<typeof connectNodeAdapter>;
type Req = Parameters<NodeHandlerFn>[0];
type Res = Parameters<NodeHandlerFn>[1];

// One structured log line, one counter increment and one histogram sample per answer, labelled
// by method and the code the client actually got. It watches the HTTP exchange rather than the
// handler, so answers Connect gives before any interceptor runs count too: undecodable bodies,
// size limits, bad timeouts, refused credentials (the request gate), unknown paths and
// unsupported content types. The code comes from the call's HandlerContext, whose signal
// Connect aborts with the error it answers (a response it cannot serialize included); a
// request Connect answered without a context (404, 415, 405) is coded from its HTTP status.

const HTTP_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

interface Observation {
  context?: HandlerContext;
}
const observationKey = createContextKey<Observation | undefined>(undefined, { description: 'rpc observation' });

function protocolOf(contentType: string | undefined): string {
  if (!contentType) return 'unknown';
  if (contentType.startsWith('application/grpc-web')) return 'grpc-web';
  if (contentType.startsWith('application/grpc')) return 'grpc';
  return 'connect';
}

/** The code of the answer: what Connect aborted the call with, else from how the exchange ended. */
function answerCode(observation: Observation, res: Res): string {
  const context = observation.context;
  if (!context) return res.statusCode === 200 ? 'ok' : codeToString(codeFromHttpStatus(res.statusCode));
  if (context.signal.aborted) {
    const reason: unknown = context.signal.reason;
    if (reason instanceof ConnectError) return codeToString(reason.code);
    const plainAbort = reason instanceof Error && reason.name === 'AbortError';
    if (!plainAbort) return codeToString(Code.Internal);
  }
  // no error: it is ok if the answer went out in full
  return res.writableFinished ? 'ok' : codeToString(Code.Canceled);
}

export interface RpcObserver {
  /** the outermost Node handler: starts the observation, records it when the answer is done */
  wrap(handler: NodeHandlerFn): NodeHandlerFn;
  /** for connectNodeAdapter's `contextValues`: hands the observation to the call */
  contextValues(req: Req): ContextValues;
  /** call first in the request gate: the call's context is where its code will be read */
  track(context: HandlerContext): void;
}

export function createRpcObserver(logger: Logger, registry: Registry, services: DescService[]): RpcObserver {
  const requests = new Counter({
    name: 'topology_rpc_requests_total',
    help: 'RPC answers, by method and the code sent (method "unknown" for paths that are no RPC)',
    labelNames: ['method', 'code'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'topology_rpc_duration_seconds',
    help: 'time from request to the end of the answer, by method and code',
    labelNames: ['method', 'code'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.3, 1, 3, 10],
    registers: [registry],
  });
  const httpRequests = new Counter({
    name: 'topology_http_requests_total',
    help: 'health and metrics requests, by path and HTTP status',
    labelNames: ['path', 'status'] as const,
    registers: [registry],
  });
  const methodByPath = new Map<string, string>();
  for (const service of services) {
    for (const method of service.methods) methodByPath.set(`/${service.typeName}/${method.name}`, `${service.name}/${method.name}`);
  }
  const observations = new WeakMap<object, Observation>();

  return {
    wrap(handler) {
      return (req, res) => {
        const started = process.hrtime.bigint();
        const path = (req.url ?? '/').split('?', 1)[0]!;
        const observation: Observation = {};
        observations.set(req, observation);
        res.once('close', () => {
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          const method = methodByPath.get(path);
          if (!method && HTTP_PATHS.has(path)) {
            httpRequests.inc({ path, status: String(res.statusCode) });
            if (logger.isLevelEnabled('debug')) logger.debug({ path, status: res.statusCode, durationMs: Math.round(seconds * 1e6) / 1e3 }, 'http');
            return;
          }
          const code = answerCode(observation, res);
          const labels = { method: method ?? 'unknown', code };
          requests.inc(labels);
          latency.observe(labels, seconds);
          if (!logger.isLevelEnabled('info')) return;
          const header = req.headers['content-type'];
          logger.info(
            {
              ...labels,
              ...(method ? {} : { path: path.slice(0, 200) }),
              httpStatus: res.statusCode,
              durationMs: Math.round(seconds * 1e6) / 1e3,
              protocol: protocolOf(Array.isArray(header) ? header[0] : header),
              httpVersion: req.httpVersion,
              caller: describePrincipal(observation.context?.values.get(principalKey)),
            },
            'rpc',
          );
        });
        handler(req, res);
      };
    },
    contextValues(req) {
      const values = createContextValues();
      values.set(observationKey, observations.get(req));
      return values;
    },
    track(context) {
      const observation = context.values.get(observationKey);
      if (observation) observation.context = context;
    },
  };
}
