import postgres from 'postgres';
import type { Config } from '@meridian/config';
import { databaseName } from '@meridian/db';

/** A service the CLI needs did not answer in time, or refused the connection: exit 1, named. */
export class ServiceUnavailableError extends Error {
  override readonly name = 'ServiceUnavailableError';
}

export interface Service {
  /** e.g. "main database (DATABASE_URL)" */
  label: string;
  url: string;
}

/** The databases a command under `group` needs on a site with this configuration. */
export function neededDatabases(config: Config, group: string): Service[] {
  const out: Service[] = [{ label: 'main database (DATABASE_URL)', url: config.DATABASE_URL }];
  if (config.SITE_ROLE === 'secondary' || group === 'db') out.push({ label: 'tracking database (GEO_TRACKING_DATABASE_URL)', url: config.GEO_TRACKING_DATABASE_URL });
  if (group === 'db') out.push({ label: 'topology database (TOPOLOGY_DATABASE_URL)', url: config.TOPOLOGY_DATABASE_URL });
  return out;
}

export function describe(service: Service): string {
  const url = new URL(service.url);
  return `${service.label} at ${url.host}/${databaseName(service.url)}`;
}

// Network-level failures: the server never answered as PostgreSQL. A PostgreSQL error (a missing
// database, a bad password) is an answer, and the command reports it itself.
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'CONNECT_TIMEOUT', 'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED']);

/** One `select 1` per service, each bounded by `timeoutMs`; throws naming every one that did not answer. */
export async function checkServices(services: readonly Service[], timeoutMs: number): Promise<void> {
  const failures = await Promise.all(services.map((service) => probe(service, timeoutMs)));
  const problems = failures.filter((f): f is string => f !== undefined);
  if (problems.length > 0) throw new ServiceUnavailableError(problems.join('; '));
}

async function probe(service: Service, timeoutMs: number): Promise<string | undefined> {
  const sql = postgres(service.url, { max: 1, connect_timeout: Math.max(1, Math.ceil(timeoutMs / 1000)), idle_timeout: 1, onnotice: () => undefined });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const result = await Promise.race([sql`select 1`.then(() => 'ok' as const), timeout]);
    if (result === 'timeout') return `${describe(service)} did not answer within ${formatSeconds(timeoutMs)} (CLI_TIMEOUT_MS)`;
    return undefined;
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (NETWORK.has(code)) return `${describe(service)} is unreachable (${code})`;
    return undefined;
  } finally {
    clearTimeout(timer);
    await sql.end({ timeout: 0 });
  }
}

export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/**
 * A network failure that reached the command after its services had answered the probe (a host
 * that went silent mid-command): named with the service it came from, matched by host and port.
 */
export function namedNetworkFailure(error: unknown, services: readonly Service[]): string | undefined {
  const { code, address, port } = (error ?? {}) as { code?: unknown; address?: unknown; port?: unknown };
  if (typeof code !== 'string' || !NETWORK.has(code)) return undefined;
  const matching = services.filter((service) => {
    const url = new URL(service.url);
    return (address === undefined || url.hostname === String(address)) && (port === undefined || (url.port || '5432') === String(port));
  });
  const named = matching.length > 0 ? matching.map(describe).join(' or ') : 'a database';
  return `${named} stopped answering during the command (${code})`;
}
