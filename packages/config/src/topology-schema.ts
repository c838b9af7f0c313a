import { z } from 'zod';
import { ConfigError } from './load-config';

// Variables only the Topology Service reads. The generic ones (TOPOLOGY_DATABASE_URL, HOST,
// LOG_LEVEL, SHUTDOWN_TIMEOUT_MS, …) stay in schema.ts. Defaults describe a two-cell demo on one
// machine; the demo credentials are public, so the service warns when it runs with any of them.

export interface CellConfig {
  id: number;
  /** where routers proxy this cell's traffic (host:port or URL) */
  address: string;
  /** session cookie prefix that identifies the cell, e.g. `cell-1` */
  sessionPrefix: string;
}

export const DEMO_TOPOLOGY_CELLS = '1,127.0.0.1:3001,cell-1;2,127.0.0.1:3002,cell-2';
export const DEMO_CELL_CREDENTIALS = '1=demo-cell-1-credential,2=demo-cell-2-credential';
export const DEMO_ADMIN_TOKEN = 'demo-topology-admin-token';
export const DEMO_ROUTER_TOKEN = 'demo-topology-router-token';

const MIN_SECRET = 16;
const secret = z.string().min(MIN_SECRET, `must be at least ${MIN_SECRET} characters`);

/** `id,address,session_prefix;…` */
const cellList = z.string().transform((raw, ctx) => {
  const cells: CellConfig[] = [];
  for (const entry of raw.split(';').map((e) => e.trim()).filter(Boolean)) {
    const [id, address, sessionPrefix, ...rest] = entry.split(',').map((p) => p.trim());
    const n = Number(id);
    if (!Number.isSafeInteger(n) || n < 1 || !address || !sessionPrefix || rest.length > 0) {
      ctx.addIssue({ code: 'custom', message: `"${entry}" is not id,address,session_prefix with a positive id` });
      return z.NEVER;
    }
    if (cells.some((c) => c.id === n)) {
      ctx.addIssue({ code: 'custom', message: `cell ${n} is listed twice` });
      return z.NEVER;
    }
    if (cells.some((c) => c.sessionPrefix === sessionPrefix)) {
      ctx.addIssue({ code: 'custom', message: `session prefix "${sessionPrefix}" is used by two cells` });
      return z.NEVER;
    }
    cells.push({ id: n, address, sessionPrefix });
  }
  if (cells.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must list at least one cell' });
    return z.NEVER;
  }
  return cells.sort((a, b) => a.id - b.id);
});

/** `cell_id=credential,…`; the credential is everything after the first `=`. Never echoed. */
const credentialMap = z.string().transform((raw, ctx) => {
  const out = new Map<number, string>();
  for (const entry of raw.split(',').map((e) => e.trim()).filter(Boolean)) {
    const at = entry.indexOf('=');
    const id = Number(entry.slice(0, Math.max(at, 0)));
    const credential = at < 0 ? '' : entry.slice(at + 1);
    if (!Number.isSafeInteger(id) || id < 1 || credential.length < MIN_SECRET) {
      // name only the cell part: the credential must not reach the error message
      ctx.addIssue({
        code: 'custom',
        message: `entry for "${entry.slice(0, Math.max(at, 0)) || '?'}" is not cell_id=credential (credential at least ${MIN_SECRET} characters)`,
      });
      return z.NEVER;
    }
    out.set(id, credential);
  }
  return out;
});

export const topologyConfigSchema = z.object({
  TOPOLOGY_PORT: z.coerce.number().int().min(0).max(65535).default(9090),
  TOPOLOGY_CELLS: cellList.default(cellList.parse(DEMO_TOPOLOGY_CELLS)),
  TOPOLOGY_CELL_CREDENTIALS: credentialMap.default(credentialMap.parse(DEMO_CELL_CREDENTIALS)),
  TOPOLOGY_ADMIN_TOKEN: secret.default(DEMO_ADMIN_TOKEN),
  TOPOLOGY_ROUTER_TOKEN: secret.default(DEMO_ROUTER_TOKEN),
  /** records per ListRecords page before `truncated` is set */
  TOPOLOGY_LIST_RECORDS_PAGE_SIZE: z.coerce.number().int().min(1).max(10_000).default(1000),
  TOPOLOGY_DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(20),
  // Limits and timeouts of the HTTP servers (see docs/topology-service.md, "Limits and timeouts")
  /** largest request message Connect reads; larger is RESOURCE_EXHAUSTED */
  TOPOLOGY_READ_MAX_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024 * 1024).default(16 * 1024 * 1024),
  /** largest response message Connect writes */
  TOPOLOGY_WRITE_MAX_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024 * 1024).default(64 * 1024 * 1024),
  /** first bytes of a connection, and on HTTP/1.1 the complete request headers, within this */
  TOPOLOGY_HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(1).default(10_000),
  /** a whole request (headers and body) within this, HTTP/1.1 requests and HTTP/2 streams alike */
  TOPOLOGY_HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1).default(30_000),
  /** an HTTP/1.1 connection waiting for its next request is closed after this */
  TOPOLOGY_HTTP_KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().min(1).default(5_000),
  /** a connection (HTTP/1.1 socket or HTTP/2 session) without traffic either way is closed after this */
  TOPOLOGY_HTTP_IDLE_TIMEOUT_MS: z.coerce.number().int().min(1).default(120_000),
  /** streams one HTTP/2 connection may have open at once */
  TOPOLOGY_HTTP2_MAX_CONCURRENT_STREAMS: z.coerce.number().int().min(1).max(10_000).default(100),
  /** request header block size (HTTP/1.1 header bytes, HTTP/2 header list size) */
  TOPOLOGY_HTTP_MAX_HEADER_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024).default(16 * 1024),
});

export type TopologyConfig = z.output<typeof topologyConfigSchema>;
export type TopologyConfigKey = keyof TopologyConfig;

/** Parses the Topology Service's own variables; throws ConfigError naming every bad one. */
export function loadTopologyConfig(env: Record<string, string | undefined>): TopologyConfig {
  const cleaned = Object.fromEntries(
    Object.keys(topologyConfigSchema.shape).map((key) => [key, env[key] === '' ? undefined : env[key]]),
  );
  const result = topologyConfigSchema.safeParse(cleaned);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const key = String(issue.path[0] ?? '(root)');
        const shown = /TOKEN|CREDENTIAL/.test(key) ? '[redacted]' : JSON.stringify(env[key]);
        return `${key}: ${issue.message} (${env[key] === undefined ? 'unset' : `got ${shown}`})`;
      }),
    );
  }
  const config = result.data;
  const problems: string[] = [];
  for (const id of config.TOPOLOGY_CELL_CREDENTIALS.keys()) {
    if (!config.TOPOLOGY_CELLS.some((c) => c.id === id)) {
      problems.push(`TOPOLOGY_CELL_CREDENTIALS: cell ${id} has a credential but is not in TOPOLOGY_CELLS`);
    }
  }
  const secrets = [
    ...[...config.TOPOLOGY_CELL_CREDENTIALS].map(([id, s]) => [`TOPOLOGY_CELL_CREDENTIALS (cell ${id})`, s] as const),
    ['TOPOLOGY_ADMIN_TOKEN', config.TOPOLOGY_ADMIN_TOKEN] as const,
    ['TOPOLOGY_ROUTER_TOKEN', config.TOPOLOGY_ROUTER_TOKEN] as const,
  ];
  for (let i = 0; i < secrets.length; i++) {
    for (let j = i + 1; j < secrets.length; j++) {
      if (secrets[i]![1] === secrets[j]![1]) {
        problems.push(`${secrets[j]![0]}: must differ from ${secrets[i]![0]} (one credential, one identity)`);
      }
    }
  }
  if (config.TOPOLOGY_HTTP_HEADERS_TIMEOUT_MS > config.TOPOLOGY_HTTP_REQUEST_TIMEOUT_MS) {
    problems.push('TOPOLOGY_HTTP_HEADERS_TIMEOUT_MS: must not exceed TOPOLOGY_HTTP_REQUEST_TIMEOUT_MS');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/** Names of variables still at their public demo value (the service logs a warning for each). */
export function demoCredentialsInUse(config: TopologyConfig): string[] {
  const names: string[] = [];
  const demo = credentialMap.parse(DEMO_CELL_CREDENTIALS);
  if ([...config.TOPOLOGY_CELL_CREDENTIALS].some(([id, s]) => demo.get(id) === s)) {
    names.push('TOPOLOGY_CELL_CREDENTIALS');
  }
  if (config.TOPOLOGY_ADMIN_TOKEN === DEMO_ADMIN_TOKEN) names.push('TOPOLOGY_ADMIN_TOKEN');
  if (config.TOPOLOGY_ROUTER_TOKEN === DEMO_ROUTER_TOKEN) names.push('TOPOLOGY_ROUTER_TOKEN');
  return names;
}
