import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { portAnswers, relocatedHome } from '@meridian/dev-services';
import path from 'node:path';
import postgres from 'postgres';
import { repoRoot, spawnTs, testPostgresUrl, testRedisUrl, uniqueName, waitFor } from '@meridian/testing';
import { Redis } from 'ioredis';

/** `env KEY=value … npm run meridian` line the banner prints → its variables. */
function cliEnv(banner: string, site: 'primary' | 'secondary'): Record<string, string> {
  const line = new RegExp(`CLI as the ${site}:\\s+env (.*?) npm run meridian`).exec(banner)?.[1];
  expect(line).toBeDefined();
  return Object.fromEntries(line!.split(' ').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
}

async function demoDatabases(name: string): Promise<string[]> {
  const sql = postgres(testPostgresUrl(), { max: 1, onnotice: () => undefined });
  try {
    const rows = await sql<{ datname: string }[]>`select datname from pg_database where datname like ${`meridian_${name}_%`}`;
    return rows.map((r) => r.datname);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function demoKeys(name: string): Promise<number> {
  const redis = new Redis(testRedisUrl());
  try {
    const [, keys] = await redis.scan('0', 'MATCH', `meridian-${name}-*`, 'COUNT', 100_000);
    return keys.length;
  } finally {
    redis.disconnect();
  }
}

// The README's first command, for real: every process starts, answers, and Ctrl-C stops them all.
describe('npm run demo', () => {
  const name = uniqueName('dt').toLowerCase();
  const env = { MERIDIAN_DEMO_NAME: name, MERIDIAN_DEMO_PORTS: 'auto', LOG_LEVEL: 'warn' };

  it('starts every process, prints the URLs and a CLI line that works, and stops cleanly on SIGINT', async () => {
    const demo = spawnTs('apps/demo/src/main.ts', env, ['--no-seed']);
    await waitFor(() => demo.output().includes('Press Ctrl-C') || demo.child.exitCode !== null, { timeoutMs: 200_000, message: 'demo up' });
    const banner = demo.output();
    expect(banner).toContain('Meridian demo is up');
    for (const label of ['primary site (cell 1)', 'secondary site', 'topology service', 'Bull Board', 'metrics']) {
      expect(banner).toContain(label);
    }
    const [primaryBoard, secondaryBoard] = [...banner.matchAll(/Bull Board\s+(http:\S+)/g)].map((m) => m[1]!);
    const admin = /user admin,\s+password (\S+)/.exec(banner)?.[1];
    for (const board of [primaryBoard!, secondaryBoard!]) {
      const response = await fetch(`${board}/api/queues`, { headers: { authorization: `Bearer ${admin}` } });
      expect(response.status).toBe(200);
      const { queues } = (await response.json()) as { queues: Array<{ name: string }> };
      expect(queues.map((q) => q.name)).toContain('site.heartbeat');
    }
    // the printed CLI line works for every command and names the right site
    for (const site of ['primary', 'secondary'] as const) {
      const vars = cliEnv(banner, site);
      const status = spawnTs('apps/cli/src/main.ts', vars, ['geo', 'status', '--json']);
      expect(await status.exited).toBe(0);
      expect(JSON.parse(status.output())).toMatchObject({ site, role: site });
      const db = spawnTs('apps/cli/src/main.ts', vars, ['db', 'status']);
      expect(await db.exited).toBe(0);
      expect(db.output()).not.toMatch(/needs migrate|does not exist/);
    }
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    expect(demo.output()).toContain('stopped.');
  }, 300_000);

  it('--exit-when-converged seeds the primary once and exits 0 once the secondary has every blob; a second run reuses it', async () => {
    const converge = spawnTs('apps/demo/src/main.ts', env, ['--exit-when-converged', '--timeout', '100']);
    expect(await converge.exited).toBe(0);
    const out = converge.output();
    expect(out).toMatch(/seeded 3 organizations, 6 projects, 120 package files, 12 Helm metadata caches/);
    expect(out).toMatch(/Package Files: (\d+)\/\1 synced \(100 %\)/);
    expect(out).toContain('✓ secondary converged');

    const again = spawnTs('apps/demo/src/main.ts', env, ['--exit-when-converged', '--timeout', '100']);
    expect(await again.exited).toBe(0);
    expect(again.output()).toMatch(/reusing the demo state of an earlier run \(120 Package Files, 12 Helm Metadata Caches\)/);
    expect(again.output()).not.toContain('seeded');
    expect(again.output()).toMatch(/Package Files: 120\/120 synced/);
  }, 400_000);

  it('--reset removes the databases, Redis keys and files the demo created', async () => {
    expect(await demoDatabases(name)).toHaveLength(3);
    expect(await demoKeys(name)).toBeGreaterThan(0);
    const reset = spawnTs('apps/demo/src/main.ts', env, ['--reset']);
    expect(await reset.exited).toBe(0);
    expect(await demoDatabases(name)).toEqual([]);
    expect(await demoKeys(name)).toBe(0);
    expect(existsSync(path.join(repoRoot, '.meridian', name))).toBe(false);
  }, 60_000);

  it('exits 2 with usage on an unknown option', async () => {
    const demo = spawnTs('apps/demo/src/main.ts', {}, ['--bogus']);
    expect(await demo.exited).toBe(2);
    expect(demo.output()).toContain('Usage: npm run demo');
  });

  it('a start-up failure is one message, exit 1, and no server left running', async () => {
    const broken = uniqueName('db').toLowerCase();
    // Redis starts (embedded), then PostgreSQL cannot: its cluster directory holds no cluster
    const dataDir = path.join(repoRoot, '.meridian', broken, 'services', 'postgres');
    for (const cluster of [dataDir, path.join(relocatedHome(dataDir), 'data')]) {
      mkdirSync(cluster, { recursive: true, mode: 0o700 });
      writeFileSync(path.join(cluster, 'PG_VERSION'), '18\n');
    }
    try {
      const demo = spawnTs('apps/demo/src/main.ts', { MERIDIAN_DEMO_NAME: broken, MERIDIAN_SERVICES: 'embedded', REDIS_URL: '', DATABASE_URL: '' });
      const code = await demo.exited;
      const out = demo.output();
      expect(code).toBe(1);
      expect(out).toMatch(/^demo: no PostgreSQL: /m);
      expect(out).not.toMatch(/^\s+at /m); // no stack trace
      const redisPort = /stopped again: redis:\/\/127\.0\.0\.1:(\d+)/.exec(out)?.[1];
      expect(redisPort).toBeDefined();
      expect(await portAnswers('127.0.0.1', Number(redisPort))).toBe(false);
    } finally {
      rmSync(path.join(repoRoot, '.meridian', broken), { recursive: true, force: true });
      rmSync(relocatedHome(dataDir), { recursive: true, force: true });
    }
  }, 60_000);
});
