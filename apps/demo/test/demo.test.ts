import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { portAnswers, relocatedHome } from '@meridian/dev-services';
import path from 'node:path';
import postgres from 'postgres';
import { repoRoot, spawnTs, testPostgresUrl, testRedisUrl, uniqueName, waitFor } from '@meridian/testing';
import { Redis } from 'ioredis';

/** `<label> env KEY=value … npm run meridian` line the demo prints → its variables. */
function envAfter(output: string, label: string): Record<string, string> {
  const line = new RegExp(`${label}\\s+env (.*?) npm run meridian`).exec(output)?.[1];
  expect(line).toBeDefined();
  return Object.fromEntries(line!.split(' ').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
}

const cliEnv = (banner: string, site: 'primary' | 'secondary') => envAfter(banner, `CLI as the ${site}:`);

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

  it('--exit-when-converged seeds the primary once and exits 0 once the secondary has every blob synced and verified; a second run reuses it', async () => {
    const converge = spawnTs('apps/demo/src/main.ts', env, ['--exit-when-converged', '--timeout', '100']);
    expect(await converge.exited).toBe(0);
    const out = converge.output();
    expect(out).toMatch(/seeded 3 organizations, 6 projects, 120 package files, 12 Helm metadata caches/);
    expect(out).toMatch(/Package Files: (\d+)\/\1 synced \(100 %\)/);
    expect(out).toContain('✓ secondary converged');
    // verification on both sites, not only the copies: every blob checksummed and verified
    expect(out).toMatch(/Package Files: primary checksummed 120\/120 \(100 %\), secondary verified 120\/120 \(100 %\)/);
    expect(out).toMatch(/Helm Metadata Caches: primary checksummed 12\/12 \(100 %\), secondary verified 12\/12 \(100 %\)/);
    expect(out).toContain('✓ verified: every blob checksummed on the primary and verified on the secondary');

    const again = spawnTs('apps/demo/src/main.ts', env, ['--exit-when-converged', '--timeout', '100']);
    expect(await again.exited).toBe(0);
    expect(again.output()).toMatch(/reusing the demo state of an earlier run \(120 Package Files, 12 Helm Metadata Caches\)/);
    expect(again.output()).not.toContain('seeded');
    expect(again.output()).toMatch(/Package Files: 120\/120 synced/);
  }, 400_000);

  it('--reset removes the databases, Redis keys and files the demo created', async () => {
    expect(await demoDatabases(name)).toHaveLength(4); // main, geo tracking, topology, cell 2's main
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

interface VerifySummary {
  model: string;
  status: string;
  created: number;
  destroyed: number;
  replaced: number;
  conflicts: number;
}

async function query<T extends object>(url: string, run: (sql: postgres.Sql) => Promise<T[]>): Promise<T[]> {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  try {
    return await run(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

// What the demo shows of claims: users in two cells, the username cell 1 holds refused in cell 2,
// and a seeded drift that the printed `claims verify all` line repairs (a second run finds none).
describe('npm run demo: claims in two cells', () => {
  const name = uniqueName('dc').toLowerCase();
  const env = { MERIDIAN_DEMO_NAME: name, MERIDIAN_DEMO_PORTS: 'auto', LOG_LEVEL: 'warn' };

  afterAll(async () => {
    const reset = spawnTs('apps/demo/src/main.ts', env, ['--reset']);
    expect(await reset.exited).toBe(0);
  }, 60_000);

  it('refuses a username another cell holds, and `claims verify all` repairs the seeded drift with counts', async () => {
    const demo = spawnTs('apps/demo/src/main.ts', env, []);
    try {
      await waitFor(() => demo.output().includes('repair it:') || demo.child.exitCode !== null, { timeoutMs: 250_000, message: 'claims demo' });
      const out = demo.output();
      expect(out).toContain("cell-1: signed up alice (alice@example.com, alice@work.example.com)");
      expect(out).toContain("cell-2: signed up carol");
      expect(out).toContain("✗ cell-2: username 'alice' has already been taken (held by cell-1); the user was not created");

      const cell1 = envAfter(out, 'repair it:');
      const cell2 = envAfter(out, 'CLI as cell 2:');
      const topologyUrl = cell1.TOPOLOGY_DATABASE_URL!;
      const usernames = async (url: string) => (await query(url, (sql) => sql<{ username: string }[]>`select username from users order by username`)).map((r) => r.username);
      // the refused sign-up left nothing in cell 2; cell 1's drift: dave deleted, erin inserted past the writer
      expect(await usernames(cell2.DATABASE_URL!)).toEqual(['carol']);
      expect(await usernames(cell1.DATABASE_URL!)).toEqual(['alice', 'bob', 'erin']);
      const claimed = async (values: string[]) =>
        (await query(topologyUrl, (sql) => sql<{ v: string; cell: string }[]>`select bucket_value as v, cell_id::text as cell from claims where bucket_value = any(${values}) and status = 1 order by 1`)).map((r) => `${r.v}@${r.cell}`);
      const drifted = ['alice', 'alice@cell-2.example.com', 'dave', 'dave@example.com', 'erin', 'erin@example.com'];
      expect(await claimed(drifted)).toEqual(['alice@1', 'dave@1', 'dave@example.com@1']);

      const verify = async () => {
        const cli = spawnTs('apps/cli/src/main.ts', cell1, ['claims', 'verify', 'all', '--json']);
        expect(await cli.exited).toBe(0);
        const result = JSON.parse(cli.output()) as { models: VerifySummary[]; conflicts: unknown[] };
        expect(result.conflicts).toEqual([]);
        expect(result.models.every((m) => m.status === 'done')).toBe(true);
        return Object.fromEntries(result.models.map((m) => [m.model, { created: m.created, destroyed: m.destroyed, replaced: m.replaced, conflicts: m.conflicts }]));
      };
      const first = await verify();
      expect(first.users).toEqual({ created: 2, destroyed: 2, replaced: 0, conflicts: 0 }); // erin's id + username; dave's
      expect(first.emails).toEqual({ created: 1, destroyed: 1, replaced: 0, conflicts: 0 });
      expect(await claimed(drifted)).toEqual(['alice@1', 'erin@1', 'erin@example.com@1']);
      const second = await verify();
      for (const counts of Object.values(second)) expect(counts).toEqual({ created: 0, destroyed: 0, replaced: 0, conflicts: 0 });

      const passes = spawnTs('apps/cli/src/main.ts', cell1, ['claims', 'passes', '--model', 'users', '--json']);
      expect(await passes.exited).toBe(0);
      expect((JSON.parse(passes.output()) as Array<{ trigger: string }>).map((p) => p.trigger)).toEqual(['cli', 'cli']);
    } finally {
      demo.child.kill('SIGINT');
      expect(await demo.exited).toBe(0);
    }
  }, 400_000);
});
