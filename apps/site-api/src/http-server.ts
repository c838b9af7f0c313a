import http from 'node:http';
import type { Config } from '@meridian/config';

// The site API's server: Node's HTTP/1.1 server with every limit set from the configuration, so a
// slow or hostile client (headers trickled byte by byte, a body that never ends, a connection left
// open, oversized headers) costs a bounded time and one of a bounded number of sockets.

export interface SiteHttpLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  idleTimeoutMs: number;
  maxHeaderBytes: number;
  maxConnections: number;
}

export function siteHttpLimits(config: Config): SiteHttpLimits {
  return {
    headersTimeoutMs: config.SITE_HTTP_HEADERS_TIMEOUT_MS,
    // Node requires headersTimeout ≤ requestTimeout; a smaller request timeout wins for both
    requestTimeoutMs: Math.max(config.SITE_HTTP_REQUEST_TIMEOUT_MS, config.SITE_HTTP_HEADERS_TIMEOUT_MS),
    keepAliveTimeoutMs: config.SITE_HTTP_KEEP_ALIVE_TIMEOUT_MS,
    idleTimeoutMs: config.SITE_HTTP_IDLE_TIMEOUT_MS,
    maxHeaderBytes: config.SITE_HTTP_MAX_HEADER_BYTES,
    maxConnections: config.SITE_HTTP_MAX_CONNECTIONS,
  };
}

/** Starts `handler` on host:port with the limits; resolves once it listens. */
export function startSiteHttpServer(handler: http.RequestListener, limits: SiteHttpLimits, port: number, host: string): Promise<http.Server> {
  const server = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      // how often Node checks the two timeouts above: often enough that a small timeout holds
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    handler,
  );
  server.timeout = limits.idleTimeoutMs;
  server.maxConnections = limits.maxConnections;
  // Node's header timeout starts with the first byte, and a connection that sends none is not cut
  // by the idle timeout either once the timeout checker has looked at it (seen on Node 24): close
  // it when no byte arrives within the header timeout.
  server.on('connection', (socket) => {
    const timer = setTimeout(() => socket.destroy(), limits.headersTimeoutMs);
    timer.unref();
    const clear = () => clearTimeout(timer);
    socket.once('data', clear);
    socket.once('close', clear);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
