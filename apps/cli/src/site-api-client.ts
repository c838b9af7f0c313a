import { Code, ConnectError, createClient, type Client, type Interceptor } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { z } from 'zod';
import { loadConfig } from '@meridian/config';
import { RegistryAdminService } from '@meridian/proto';
import { UsageError, type CliIo } from './io';
import { formatSeconds, ServiceUnavailableError } from './services';

// The commands that act on a site through its site API (registry admin RPCs) instead of its
// databases. Their variables: SITE_API_URL and SITE_API_TOKEN (ADMIN_TOKEN when unset); each RPC
// is bounded by CLI_TIMEOUT_MS.

const siteApiEnv = z.object({
  SITE_API_URL: z
    .string()
    .default('http://127.0.0.1:3000')
    .refine((value) => {
      try {
        return ['http:', 'https:'].includes(new URL(value).protocol);
      } catch {
        return false;
      }
    }, 'SITE_API_URL must be an http(s) URL, e.g. http://127.0.0.1:3000'),
  SITE_API_TOKEN: z.string().min(1).optional(),
});

const NETWORK = /\b(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EPIPE)\b/;

/** connect-node reports a refused or reset connection as INTERNAL; its cause (or message) names it. */
function networkCode(error: ConnectError): string | undefined {
  const cause = (error.cause ?? {}) as { code?: unknown };
  if (typeof cause.code === 'string' && NETWORK.test(cause.code)) return cause.code;
  return NETWORK.exec(error.rawMessage)?.[1];
}

export interface SiteApi {
  client: Client<typeof RegistryAdminService>;
  url: string;
  timeoutMs: number;
  /** turns a failed RPC into the CLI's errors: INVALID_ARGUMENT exit 2, everything else exit 1 naming the site API */
  explain(error: unknown): Error;
}

export function openSiteApi(io: CliIo): SiteApi {
  const config = loadConfig(io.env);
  const parsed = siteApiEnv.safeParse(io.env);
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('; '));
  const token = parsed.data.SITE_API_TOKEN ?? config.ADMIN_TOKEN;
  if (!token) throw new UsageError('set SITE_API_TOKEN (or ADMIN_TOKEN) to the site API token: the admin token for updates, the viewer token for listing');
  const url = parsed.data.SITE_API_URL.replace(/\/+$/, '');
  const timeoutMs = config.CLI_TIMEOUT_MS;
  const auth: Interceptor = (next) => (req) => {
    req.header.set('authorization', `Bearer ${token}`);
    return next(req);
  };
  const client = createClient(RegistryAdminService, createConnectTransport({ baseUrl: url, httpVersion: '1.1', interceptors: [auth], defaultTimeoutMs: timeoutMs }));
  const label = `site API at ${url} (SITE_API_URL)`;
  return {
    client,
    url,
    timeoutMs,
    explain(error) {
      const e = ConnectError.from(error);
      if (e.code === Code.InvalidArgument) return new UsageError(`${label}: ${e.rawMessage}`);
      if (e.code === Code.DeadlineExceeded) return new ServiceUnavailableError(`${label} did not answer within ${formatSeconds(timeoutMs)} (CLI_TIMEOUT_MS)`);
      const network = networkCode(e);
      if (network || e.code === Code.Unavailable) return new ServiceUnavailableError(`${label} is unreachable (${network ?? e.rawMessage})`);
      return new ServiceUnavailableError(`${label}: ${Code[e.code].replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}: ${e.rawMessage}`);
    },
  };
}
