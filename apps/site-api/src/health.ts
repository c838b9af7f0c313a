import type { Sql } from '@meridian/db';
import type { Redis } from 'ioredis';

export interface Dependency {
  name: string;
  check(): Promise<void>;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function redisDependency(redis: Redis): Dependency {
  return { name: 'redis', check: async () => void (await withTimeout(redis.ping(), 2_000, 'redis')) };
}

export function sqlDependency(name: string, sql: Sql): Dependency {
  return { name, check: async () => void (await withTimeout(sql`select 1`.execute(), 2_000, name)) };
}

/** Runs every check in parallel; `ok` only when all pass. */
export async function readiness(dependencies: readonly Dependency[]) {
  const results = await Promise.all(
    dependencies.map(async (dependency) => {
      try {
        await dependency.check();
        return { name: dependency.name, ok: true as const };
      } catch (error) {
        return { name: dependency.name, ok: false as const, error: (error as Error).message };
      }
    }),
  );
  return { ok: results.every((r) => r.ok), checks: results };
}
