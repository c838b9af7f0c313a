import { z } from 'zod';
import { claimsConfigSection } from './sections/claims';
import { integer } from './zod-helpers';

// Every variable Meridian reads. Defaults suit a single development machine; anything that is a
// secret has no default and must be given by the apps that need it (see `requiredBy` below).
const url = (protocols: string[]) =>
  z.string().refine(
    (value) => {
      try {
        return protocols.includes(new URL(value).protocol);
      } catch {
        return false;
      }
    },
    { message: `must be a URL with scheme ${protocols.map((p) => p.replace(':', '')).join(' or ')}` },
  );

const postgresUrl = url(['postgres:', 'postgresql:']);
const httpUrl = url(['http:', 'https:']);

/** `name=value,name=value` lists, e.g. per-queue concurrency. */
const numberMap = z
  .string()
  .transform((raw, ctx) => {
    const out: Record<string, number> = {};
    for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
      const [key, value, ...rest] = part.split('=');
      const n = Number(value);
      if (!key || rest.length > 0 || !Number.isInteger(n) || n < 1) {
        ctx.addIssue({ code: 'custom', message: `"${part}" is not name=positive-integer` });
        return z.NEVER;
      }
      out[key.trim()] = n;
    }
    return out;
  });

const coreConfigSchema = z.object({
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_{}.-]+$/, 'letters, digits, _ . - { } only')
    .default('meridian'),
  DATABASE_URL: postgresUrl.default('postgres://postgres@127.0.0.1:5432/meridian_main'),
  GEO_TRACKING_DATABASE_URL: postgresUrl.default('postgres://postgres@127.0.0.1:5432/meridian_geo_tracking'),
  TOPOLOGY_DATABASE_URL: postgresUrl.default('postgres://postgres@127.0.0.1:5432/meridian_topology'),
  TOPOLOGY_SERVICE_URL: httpUrl.default('http://127.0.0.1:9090'),
  SITE_ROLE: z.enum(['primary', 'secondary']).default('primary'),
  SITE_NAME: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, at most 63')
    .default('primary'),
  CELL_ID: integer(1, 2 ** 31 - 1).default(1),
  STORAGE_ROOT: z.string().min(1).default('.meridian/storage'),
  /** blobs up to 64 KiB: synchronous calls (local disks) or the thread pool (network mounts) */
  STORAGE_SMALL_FILE_IO: z.enum(['sync', 'async']).default('sync'),
  /** the sweeper removes `.tmp-*` files untouched for this long (live downloads touch theirs continuously) */
  STORAGE_TEMP_FILE_MAX_AGE_MS: integer(1_000, 7 * 86_400_000).default(900_000),
  /** how often each site sweeps its storage for stale temporary files */
  STORAGE_TEMP_SWEEP_INTERVAL_MS: integer(1_000, 86_400_000).default(300_000),
  PRIMARY_API_URL: httpUrl.default('http://127.0.0.1:3000'),
  GEO_SHARED_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
  ADMIN_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  VIEWER_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  HOST: z.string().min(1).default('127.0.0.1'),
  PORT: integer(1, 65535).default(3000),
  // The site API's HTTP/1.1 server (Node's own). A client must send its headers within the first,
  // its whole request within the second; an idle connection closes after the third (keep-alive) or
  // the fourth (a socket with no bytes either way, e.g. a stalled download reader).
  SITE_HTTP_HEADERS_TIMEOUT_MS: integer(100, 600_000).default(10_000),
  SITE_HTTP_REQUEST_TIMEOUT_MS: integer(100, 3_600_000).default(30_000),
  SITE_HTTP_KEEP_ALIVE_TIMEOUT_MS: integer(100, 600_000).default(5_000),
  SITE_HTTP_IDLE_TIMEOUT_MS: integer(1_000, 3_600_000).default(120_000),
  SITE_HTTP_MAX_HEADER_BYTES: integer(1_024, 1_048_576).default(16 * 1024),
  /** open connections the site API accepts at once; more are refused (closed) until some end */
  SITE_HTTP_MAX_CONNECTIONS: integer(1, 1_000_000).default(1_024),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  QUEUE_CONCURRENCY: numberMap.optional(),
  QUEUE_GLOBAL_CONCURRENCY: numberMap.optional(),
  SHUTDOWN_TIMEOUT_MS: integer(0, 3_600_000).default(30_000),
  // Finished and failed geo sync jobs kept per sync queue, so Bull Board shows what ran and why it failed.
  GEO_SYNC_KEEP_COMPLETED_COUNT: integer(0, 1_000_000).default(1_000),
  GEO_SYNC_KEEP_COMPLETED_AGE_S: integer(1, 90 * 86_400).default(86_400),
  GEO_SYNC_KEEP_FAILED_COUNT: integer(0, 1_000_000).default(5_000),
  GEO_SYNC_KEEP_FAILED_AGE_S: integer(1, 90 * 86_400).default(7 * 86_400),
  /** the meridian CLI: how long a database may take to answer before the command gives up (exit 1) */
  CLI_TIMEOUT_MS: integer(100, 3_600_000).default(10_000),
  /** worker processes: V8's old-generation growth per major GC in percent (0 = V8's own heuristic) */
  WORKER_HEAP_GROWING_PERCENT: integer(0, 1_000).default(300),
  SCHEDULER_RESYNC_MS: integer(1_000, 3_600_000).default(60_000),
  // Geo cadences (upstream: cursor continuous, registry sync and consistency every minute,
  // timeouts every 10 min); tests shrink them.
  GEO_EVENT_CURSOR_INTERVAL_MS: integer(100, 3_600_000).default(1_000),
  GEO_REGISTRY_SYNC_INTERVAL_MS: integer(100, 3_600_000).default(5_000),
  GEO_CONSISTENCY_INTERVAL_MS: integer(100, 86_400_000).default(60_000),
  GEO_SYNC_TIMEOUT_CHECK_INTERVAL_MS: integer(100, 86_400_000).default(60_000),
  /** overrides every type's sync timeout (a sync with no heartbeat for this long is failed) */
  GEO_SYNC_TIMEOUT_MS: integer(1_000, 7 * 86_400_000).optional(),
  GEO_STATUS_REPORT_INTERVAL_MS: integer(1_000, 3_600_000).default(30_000),
  /** blobs per sync job (downloaded one after another; registry updates paid once per job) */
  GEO_SYNC_BATCH_SIZE: integer(1, 1_000).default(50),
  /** model ids per registry-consistency batch (upstream: 10,000) */
  GEO_CONSISTENCY_BATCH_SIZE: integer(100, 1_000_000).default(10_000),
  // Primary verification (checksums of <model>_states); each type is gated by geo_<type>_verification.
  /** how often each type's verification job runs on the primary (upstream: every minute) */
  GEO_VERIFICATION_INTERVAL_MS: integer(1_000, 86_400_000).default(60_000),
  /** rows claimed and checksummed per batch (upstream: 10) */
  GEO_VERIFICATION_BATCH_SIZE: integer(1, 1_000).default(10),
  /** a succeeded checksum is recomputed after this many days (upstream: 7; minimum 1) */
  GEO_REVERIFICATION_INTERVAL_DAYS: integer(1, 3_650).default(7),
  /** a row in `started` for longer is failed and retried with backoff (upstream: 8 h) */
  GEO_VERIFICATION_TIMEOUT_MS: integer(60_000, 7 * 86_400_000).default(8 * 3_600_000),
  /** overrides GEO_REVERIFICATION_INTERVAL_DAYS with milliseconds (drills and tests; either site reads its own) */
  GEO_REVERIFICATION_INTERVAL_MS: integer(1_000, 3_650 * 86_400_000).optional(),
  /** secondary: a synced blob whose primary checksum is not there yet is looked at again after this long */
  GEO_PRIMARY_CHECKSUM_WAIT_MS: integer(1_000, 86_400_000).default(600_000),
});

/** Core variables plus each feature's section (claims: sections/claims.ts). */
export const configSchema = coreConfigSchema.extend(claimsConfigSection.shape);

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
export type ConfigKey = keyof Config;
