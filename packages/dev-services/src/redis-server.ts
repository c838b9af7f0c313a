import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import { freePort } from './free-port';
import { which } from './which';

export interface RedisServerHandle {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export class MissingBinaryError extends Error {
  override readonly name = 'MissingBinaryError';
}

/**
 * Starts a private `redis-server` configured the way BullMQ needs it (noeviction; AOF when a data
 * directory is given) and waits until it answers PING.
 */
export async function startRedisServer(options: { dataDir?: string; port?: number; maxmemoryPolicy?: string } = {}): Promise<RedisServerHandle> {
  const binary = which('redis-server');
  if (!binary) {
    throw new MissingBinaryError('redis-server is not installed: install it (Debian: `apt-get install redis-server`) or set REDIS_URL');
  }
  const port = options.port ?? (await freePort());
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--maxmemory-policy', options.maxmemoryPolicy ?? 'noeviction'];
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    args.push('--dir', options.dataDir, '--appendonly', 'yes');
  } else {
    args.push('--appendonly', 'no');
  }
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.once('error', (error) => (stderr += `spawn failed: ${error.message}`));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || stderr.startsWith('spawn failed')) throw new Error(`redis-server exited at start: ${stderr.trim()}`);
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {
      probe.disconnect();
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`redis-server on port ${port} did not answer within 10 s`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url,
    port,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        // 'exit' can come before our end of the stderr pipe is closed: close it so nothing stays open
        const done = (): void => {
          child.stderr?.destroy();
          resolve();
        };
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', done);
        child.kill('SIGTERM');
      }),
  };
}
