import net from 'node:net';
import { createTestDatabase, spawnTs, testPostgresUrl, type TestDatabase } from '@meridian/testing';

// A database host that accepts connections and never answers: every CLI command must still end,
// with exit 1 and a message naming the service. (The jest timeout bounds each test; nothing here
// measures time.)
interface Silent {
  port: number;
  close(): Promise<void>;
}

/** Accepts TCP connections and never writes a byte; the first `forward` connections go to the real server instead. */
async function silentServer(forward = 0): Promise<Silent> {
  const sockets = new Set<net.Socket>();
  let seen = 0;
  const target = new URL(testPostgresUrl());
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
    if (seen++ < forward) {
      const upstream = net.connect({ host: target.hostname, port: Number(target.port || 5432) });
      sockets.add(upstream);
      upstream.on('error', () => socket.destroy());
      socket.pipe(upstream).pipe(socket);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const COMMANDS: Array<{ argv: string[]; role: 'primary' | 'secondary' }> = [
  { argv: ['db', 'status'], role: 'primary' },
  { argv: ['db', 'migrate'], role: 'primary' },
  { argv: ['flags', 'list'], role: 'primary' },
  { argv: ['flags', 'enable', 'geo_package_file_replication'], role: 'primary' },
  { argv: ['status'], role: 'primary' },
  { argv: ['geo', 'status'], role: 'primary' },
  { argv: ['geo', 'status', '--json'], role: 'secondary' },
  { argv: ['geo', 'status', '--watch', '--timeout', '600'], role: 'secondary' },
  { argv: ['geo', 'laps'], role: 'secondary' },
  { argv: ['geo', 'double-check', '--type', 'all', '--since-hours', '24'], role: 'secondary' },
  { argv: ['org', 'readiness', '1'], role: 'secondary' },
  { argv: ['geo', 'selective-sync', 'show'], role: 'secondary' },
  { argv: ['geo', 'sites', 'list'], role: 'primary' },
];

describe('CLI against a database host that never answers', () => {
  let silent: Silent;
  beforeAll(async () => {
    silent = await silentServer();
  });
  afterAll(() => silent.close());

  it.each(COMMANDS)('meridian $argv ($role) exits 1 naming the service', async ({ argv, role }) => {
    const url = `postgres://postgres@127.0.0.1:${silent.port}/meridian_main`;
    const cli = spawnTs('apps/cli/src/main.ts', { SITE_ROLE: role, DATABASE_URL: url, GEO_TRACKING_DATABASE_URL: url, TOPOLOGY_DATABASE_URL: url, CLI_TIMEOUT_MS: '500' }, argv);
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toContain(`main database (DATABASE_URL) at 127.0.0.1:${silent.port}/meridian_main did not answer within 0.5 s`);
  });

  it('a refused connection is named too', async () => {
    const closed = await silentServer();
    await closed.close();
    const url = `postgres://postgres@127.0.0.1:${closed.port}/meridian_main`;
    const cli = spawnTs('apps/cli/src/main.ts', { DATABASE_URL: url, CLI_TIMEOUT_MS: '500' }, ['flags', 'list']);
    expect(await cli.exited).toBe(1);
    expect(cli.output()).toContain(`main database (DATABASE_URL) at 127.0.0.1:${closed.port}/meridian_main is unreachable (ECONNREFUSED)`);
  });

  describe('a host that answers the first connection and then goes silent', () => {
    let db: TestDatabase;
    let flaky: Silent;
    beforeAll(async () => {
      db = await createTestDatabase('mcli_silent');
      flaky = await silentServer(1);
    });
    afterAll(async () => {
      await flaky.close();
      await db.drop();
    });

    it('the whole command is bounded too', async () => {
      const url = `postgres://postgres@127.0.0.1:${flaky.port}/${db.name}`;
      // the first connection (the reachability probe) must get its answer within CLI_TIMEOUT_MS even
      // on a loaded machine, so the bound is a few seconds; the command's silent query then hits 3×
      const cli = spawnTs('apps/cli/src/main.ts', { DATABASE_URL: url, CLI_TIMEOUT_MS: '4000' }, ['flags', 'list']);
      expect(await cli.exited).toBe(1);
      // whichever bound fires first (the driver's connect timeout or the command's), the message names the service
      expect(cli.output()).toMatch(
        new RegExp(`\`meridian flags list\` did not finish within 12 s|main database \\(DATABASE_URL\\) at 127\\.0\\.0\\.1:${flaky.port}/${db.name} stopped answering during the command`),
      );
    });
  });
});
