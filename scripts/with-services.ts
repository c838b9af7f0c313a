import { spawn } from 'node:child_process';
import path from 'node:path';
import { ensureServices, NoServiceError } from '@meridian/dev-services';

export const root = path.resolve(__dirname, '..');

export interface ServiceUrls {
  redisUrl: string;
  postgresUrl: string;
}

/** Called with the servers' URLs before the command starts and after it ended (servers still up). */
export interface AroundCommand {
  before?(urls: ServiceUrls): Promise<void>;
  after?(urls: ServiceUrls, code: number): Promise<number>;
}

/** Runs `command` with REDIS_URL/DATABASE_URL pointing at servers found or started for it. */
export async function runWithServices(label: string, command: string, args: string[], extraEnv: Record<string, string> = {}, around: AroundCommand = {}): Promise<number> {
  let services;
  try {
    services = await ensureServices({ env: process.env, dataDir: path.join(root, '.meridian', label) });
  } catch (error) {
    if (error instanceof NoServiceError) {
      process.stderr.write(`${label}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
  for (const note of services.notes) process.stdout.write(`${label}: ${note}\n`);
  try {
    await around.before?.(services);
    const code = await new Promise<number>((resolve) => {
      const child = spawn(command, args, {
        cwd: root,
        stdio: 'inherit',
        env: { ...process.env, ...extraEnv, REDIS_URL: services.redisUrl, DATABASE_URL: services.postgresUrl },
      });
      const forward = (signal: NodeJS.Signals) => child.kill(signal);
      process.on('SIGINT', forward);
      process.on('SIGTERM', forward);
      child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    });
    return around.after ? await around.after(services, code) : code;
  } finally {
    await services.stop();
  }
}
