import { createTestDatabase, type TestDatabase } from '@meridian/testing';
import { spawnTs } from '@meridian/testing';
import { runCli, EXIT_USAGE, type CliIo } from '../src';

function captureIo(env: Record<string, string | undefined> = {}): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return {
    env,
    isTty: false,
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    stdout: () => out,
    stderr: () => err,
  };
}

describe('meridian CLI', () => {
  it('exits 2 with usage on an unknown command (real process)', async () => {
    const child = spawnTs('apps/cli/src/main.ts', {}, ['definitely-not-a-command']);
    expect(await child.exited).toBe(EXIT_USAGE);
    expect(child.output()).toContain("unknown command 'definitely-not-a-command'");
    expect(child.output()).toContain('Usage: meridian');
  });

  it('exits 2 with usage when called with nothing, or with a bad option value', async () => {
    const io = captureIo();
    expect(await runCli([], io)).toBe(EXIT_USAGE);
    expect(io.stderr()).toContain('Usage: meridian');
    const bad = captureIo();
    expect(await runCli(['db', 'migrate', '--only', 'main,nope'], bad)).toBe(EXIT_USAGE);
    expect(bad.stderr()).toContain('expected a list of main, geo_tracking, topology');
  });

  it('prints help for every command and exits 0', async () => {
    for (const argv of [['--help'], ['db', 'migrate', '--help'], ['flags', 'list', '--help'], ['status', '--help']]) {
      const io = captureIo();
      expect(await runCli(argv, io)).toBe(0);
      expect(io.stdout()).toContain('Usage: meridian');
    }
  });

  it('exits 2 naming the variable when the configuration is bad', async () => {
    const io = captureIo({ DATABASE_URL: 'mysql://nope' });
    expect(await runCli(['db', 'status'], io)).toBe(EXIT_USAGE);
    expect(io.stderr()).toContain('DATABASE_URL');
  });

  describe('against real databases', () => {
    const dbs: TestDatabase[] = [];
    let env: Record<string, string>;
    beforeAll(async () => {
      for (let i = 0; i < 3; i++) dbs.push(await createTestDatabase('mcli'));
      // `db migrate` creates missing databases itself: drop one to prove it
      await dbs[2]!.drop();
      env = { DATABASE_URL: dbs[0]!.url, GEO_TRACKING_DATABASE_URL: dbs[1]!.url, TOPOLOGY_DATABASE_URL: dbs[2]!.url };
    });
    afterAll(async () => {
      for (const db of dbs) await db.drop();
    });

    it('db status exits 1 while a database is missing or unmigrated, naming it', async () => {
      const io = captureIo(env);
      expect(await runCli(['db', 'status', '--json'], io)).toBe(1);
      const rows = JSON.parse(io.stdout()) as Array<{ database: string; pending: number | string }>;
      expect(rows.find((r) => r.database === 'topology')?.pending).toBe('?');
      expect(io.stderr()).toMatch(/topology .*does not exist/);
    });

    it('migrates every database the configuration names, then reports them up to date', async () => {
      const io = captureIo(env);
      expect(await runCli(['db', 'migrate', '--json'], io)).toBe(0);
      const results = JSON.parse(io.stdout()) as Array<{ database: string; created: boolean; applied: string[] }>;
      expect(results.map((r) => r.database)).toEqual(['main', 'geo_tracking', 'topology']);
      expect(results.find((r) => r.database === 'topology')?.created).toBe(true);
      expect(results.every((r) => r.applied.length > 0)).toBe(true);

      const again = captureIo(env);
      expect(await runCli(['db', 'migrate', '--json'], again)).toBe(0);
      expect((JSON.parse(again.stdout()) as Array<{ applied: string[] }>).every((r) => r.applied.length === 0)).toBe(true);

      const status = captureIo(env);
      expect(await runCli(['db', 'status', '--json'], status)).toBe(0);
      expect((JSON.parse(status.stdout()) as Array<{ pending: number }>).every((r) => r.pending === 0)).toBe(true);
    });

    it('refuses to set a flag nobody declared, with exit 2', async () => {
      const io = captureIo(env);
      expect(await runCli(['flags', 'enable', 'no_such_flag'], io)).toBe(EXIT_USAGE);
      expect(io.stderr()).toContain('unknown flag "no_such_flag"');
      const list = captureIo(env);
      expect(await runCli(['flags', 'list', '--json'], list)).toBe(0);
      expect(Array.isArray(JSON.parse(list.stdout()))).toBe(true);
    });

    it('shows site heartbeats in status', async () => {
      const io = captureIo(env);
      expect(await runCli(['status', '--json'], io)).toBe(0);
      expect(JSON.parse(io.stdout())).toEqual([]);
    });
  });
});
