import { existsSync } from 'node:fs';
import path from 'node:path';

export interface DemoSettings {
  root: string;
  /** isolates key prefixes (and, in main.ts, databases and state) of one demo */
  name: string;
  redisUrl: string;
  /** `cell2Main`: the second cell's main database (the demo itself writes its users) */
  databases: { main: string; tracking: string; topology: string; cell2Main: string };
  /** `cell2`: the address the Topology Service gives for cell 2 (nothing listens there in the demo) */
  ports: { primary: number; secondary: number; topology: number; cell2: number };
  secrets: {
    adminToken: string;
    viewerToken: string;
    geoSharedSecret: string;
    topologyCellToken: string;
    topologyCell2Token: string;
    topologyAdminToken: string;
    topologyRouterToken: string;
  };
  logLevel: string;
}

export interface DemoProcess {
  name: string;
  entry: string;
  env: Record<string, string>;
  /** URL polled until it answers 200 before the demo says it is up */
  readyUrl?: string;
}

/**
 * The demo topology: one Topology Service, a primary site (cell 1) and a secondary site, each
 * with its API, scheduler and worker(s). Both sites share the local Redis under different key
 * prefixes; the secondary reads the primary's main database directly (a replica in production).
 * Cell 2 is a database and a credential only: the demo process writes its users (claims.ts).
 */
export function demoProcesses(settings: DemoSettings): DemoProcess[] {
  const { common, primary, secondary } = siteEnvironments(settings);
  const { ports, secrets } = settings;
  const primaryUrl = common.PRIMARY_API_URL;
  return processList(settings, common, primary, secondary, primaryUrl, ports, secrets);
}

/** The environment of every process, and of each site. */
function siteEnvironments(settings: DemoSettings) {
  const { ports, databases, secrets } = settings;
  const primaryUrl = `http://127.0.0.1:${ports.primary}`;
  const common = {
    REDIS_URL: settings.redisUrl,
    LOG_LEVEL: settings.logLevel,
    TOPOLOGY_SERVICE_URL: `http://127.0.0.1:${ports.topology}`,
    TOPOLOGY_DATABASE_URL: databases.topology,
    GEO_SHARED_SECRET: secrets.geoSharedSecret,
    ADMIN_TOKEN: secrets.adminToken,
    VIEWER_TOKEN: secrets.viewerToken,
    PRIMARY_API_URL: primaryUrl,
    HOST: '127.0.0.1',
    // the demo checksums every few seconds (default every minute) so verification shows at once
    GEO_VERIFICATION_INTERVAL_MS: '3000',
  };
  const primary = {
    ...common,
    SITE_ROLE: 'primary',
    SITE_NAME: 'primary',
    CELL_ID: '1',
    TOPOLOGY_CELL_CREDENTIAL: secrets.topologyCellToken,
    QUEUE_PREFIX: `meridian-${settings.name}-primary`,
    DATABASE_URL: databases.main,
    GEO_TRACKING_DATABASE_URL: databases.tracking,
    STORAGE_ROOT: path.join(settings.root, 'storage', 'primary'),
  };
  const secondary = {
    ...primary,
    SITE_ROLE: 'secondary',
    SITE_NAME: 'secondary',
    QUEUE_PREFIX: `meridian-${settings.name}-secondary`,
    STORAGE_ROOT: path.join(settings.root, 'storage', 'secondary'),
  };
  const cell2 = {
    ...common,
    SITE_ROLE: 'primary',
    SITE_NAME: 'cell-2',
    CELL_ID: '2',
    TOPOLOGY_CELL_CREDENTIAL: secrets.topologyCell2Token,
    QUEUE_PREFIX: `meridian-${settings.name}-cell-2`,
    DATABASE_URL: databases.cell2Main,
  };
  return { common, primary, secondary, 'cell-2': cell2 };
}

export type DemoCell = 'primary' | 'secondary' | 'cell-2';

// What the `meridian` CLI reads (see README, "Operating"): which site it is, and its databases.
// `claims verify` also needs the Topology Service and the cell's credential there.
const CLI_KEYS = [
  'SITE_ROLE',
  'SITE_NAME',
  'CELL_ID',
  'DATABASE_URL',
  'GEO_TRACKING_DATABASE_URL',
  'TOPOLOGY_DATABASE_URL',
  'TOPOLOGY_SERVICE_URL',
  'TOPOLOGY_CELL_CREDENTIAL',
  'REDIS_URL',
  'QUEUE_PREFIX',
] as const;

/** `KEY=value …` for the CLI to act as `site`, exactly as that site's processes are configured. */
export function cliEnvironment(settings: DemoSettings, site: DemoCell): Record<string, string> {
  const env: Record<string, string> = siteEnvironments(settings)[site];
  return Object.fromEntries(CLI_KEYS.filter((key) => env[key] !== undefined).map((key) => [key, env[key]!]));
}

type Env = Record<string, string>;

function processList(settings: DemoSettings, common: Env, primary: Env, secondary: Env, primaryUrl: string, ports: DemoSettings['ports'], secrets: DemoSettings['secrets']): DemoProcess[] {
  const processes: DemoProcess[] = [];
  if (existsSync('apps/topology-service/src/main.ts')) {
    processes.push({
      name: 'topology-service',
      entry: 'apps/topology-service/src/main.ts',
      env: {
        ...common,
        TOPOLOGY_PORT: String(ports.topology),
        // cell 1 is the primary site; routers proxy its traffic to the primary's API
        TOPOLOGY_CELLS: `1,127.0.0.1:${ports.primary},cell-1;2,127.0.0.1:${ports.cell2},cell-2`,
        TOPOLOGY_CELL_CREDENTIALS: `1=${secrets.topologyCellToken},2=${secrets.topologyCell2Token}`,
        TOPOLOGY_ADMIN_TOKEN: secrets.topologyAdminToken,
        TOPOLOGY_ROUTER_TOKEN: secrets.topologyRouterToken,
      },
      readyUrl: `http://127.0.0.1:${ports.topology}/healthz`,
    });
  }
  processes.push(
    { name: 'primary-site-api', entry: 'apps/site-api/src/main.ts', env: { ...primary, PORT: String(ports.primary) }, readyUrl: `${primaryUrl}/readyz` },
    { name: 'primary-scheduler', entry: 'apps/scheduler/src/main.ts', env: primary },
    { name: 'primary-worker', entry: 'apps/worker/src/main.ts', env: primary },
    {
      name: 'secondary-site-api',
      entry: 'apps/site-api/src/main.ts',
      env: { ...secondary, PORT: String(ports.secondary) },
      readyUrl: `http://127.0.0.1:${ports.secondary}/readyz`,
    },
    { name: 'secondary-scheduler', entry: 'apps/scheduler/src/main.ts', env: secondary },
    { name: 'secondary-worker-1', entry: 'apps/worker/src/main.ts', env: secondary },
    { name: 'secondary-worker-2', entry: 'apps/worker/src/main.ts', env: secondary },
  );
  return processes;
}
