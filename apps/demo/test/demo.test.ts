import { dropDatabase } from '@meridian/db';
import { deleteKeysWithPrefix, spawnTs, testPostgresUrl, uniqueName, waitFor } from '@meridian/testing';

// The README's first command, for real: every process starts, answers, and Ctrl-C stops them all.
describe('npm run demo', () => {
  const name = uniqueName('dt').toLowerCase();
  afterAll(async () => {
    for (const db of ['main', 'geo_tracking', 'topology']) {
      const url = new URL(testPostgresUrl());
      url.pathname = `/meridian_${name}_${db}`;
      await dropDatabase(url.toString());
    }
    for (const site of ['primary', 'secondary']) await deleteKeysWithPrefix(`meridian-${name}-${site}`);
  });

  it('starts every process, prints the URLs, and stops cleanly on SIGINT', async () => {
    const demo = spawnTs('apps/demo/src/main.ts', { MERIDIAN_DEMO_NAME: name, MERIDIAN_DEMO_PORTS: 'auto', LOG_LEVEL: 'warn' });
    await waitFor(() => demo.output().includes('Press Ctrl-C') || demo.child.exitCode !== null, { timeoutMs: 90_000, message: 'demo up' });
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
    demo.child.kill('SIGINT');
    expect(await demo.exited).toBe(0);
    expect(demo.output()).toContain('stopped.');
  }, 150_000);

  it('--exit-when-converged seeds the primary and exits 0 once the secondary has every blob', async () => {
    const converge = spawnTs('apps/demo/src/main.ts', { MERIDIAN_DEMO_NAME: name, MERIDIAN_DEMO_PORTS: 'auto', LOG_LEVEL: 'warn' }, ['--exit-when-converged', '--timeout', '100']);
    expect(await converge.exited).toBe(0);
    const out = converge.output();
    expect(out).toMatch(/seeded 3 organizations, 6 projects, 120 package files, 12 Helm metadata caches/);
    expect(out).toMatch(/Package Files: (\d+)\/\1 synced \(100 %\)/);
    expect(out).toContain('✓ secondary converged');
  }, 150_000);

  it('exits 2 with usage on an unknown option', async () => {
    const demo = spawnTs('apps/demo/src/main.ts', {}, ['--bogus']);
    expect(await demo.exited).toBe(2);
    expect(demo.output()).toContain('Usage: npm run demo');
  });
});
