import { Code, type Interceptor } from '@connectrpc/connect';
import { createSql, migrationTemplate, type Sql } from '@meridian/db';
import { createSilentLogger } from '@meridian/logger';
import { createTestDatabase, waitFor, type TestDatabase } from '@meridian/testing';
// by relative path, not as package dependencies: the service and @meridian/claims depend on this package
import { createTopologyServer, type TopologyServer } from '../../../apps/topology-service/src/server';
import { topologyMigrationSet } from '../../claims/src/topology-migrations';
import {
  AlreadyClaimedError,
  CircuitOpenError,
  ConcurrencyLimitError,
  createTopologyClient,
  InvalidRequestError,
  NotFoundError,
  PermissionDeniedError,
  PreconditionFailedError,
  TopologyUnavailableError,
} from '../src';

// The client against a real Topology Service and PostgreSQL. Slowness is real too: a test
// transaction locks claim_leases so BeginUpdate blocks in the database until it is released.

const TOKENS = { 1: 'client-test-cell-1-token', 2: 'client-test-cell-2-token' } as const;
let db: TestDatabase;
let sql: Sql;
let server: TopologyServer;
let url: string;

beforeAll(async () => {
  db = await createTestDatabase('topoclient', { template: migrationTemplate(topologyMigrationSet()) });
  sql = createSql(db.url, { max: 20 });
  server = createTopologyServer({
    sql,
    logger: createSilentLogger(),
    cells: [
      { id: 1, address: 'cell-1:443', sessionPrefix: 'cell-1' },
      { id: 2, address: 'cell-2:443', sessionPrefix: 'cell-2' },
    ],
    credentials: { cells: new Map([[1, TOKENS[1]], [2, TOKENS[2]]]), admin: 'client-test-admin-token', router: 'client-test-router-token' },
    processMetrics: false,
  });
  ({ url } = await server.listen(0));
});
afterAll(async () => {
  await server.close(1000);
  await sql.end({ timeout: 5 });
  await db.drop();
});

const username = (value: string, id = 1) => ({
  bucket: { type: 4, value },
  subject: { type: 4, id: BigInt(id) },
  source: { type: 1, railsPrimaryKeyId: new Uint8Array([0, 0, 0, 0, 0, 0, 0, id]) },
});

/** Counts requests that left the client. */
function counter(): { interceptor: Interceptor; count(): number } {
  let n = 0;
  return {
    interceptor: (next) => (req) => {
      n++;
      return next(req);
    },
    count: () => n,
  };
}

/** Holds an exclusive lock on claim_leases until release() is called. */
async function blockBeginUpdate(): Promise<{ release(): Promise<void> }> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const holder = sql.begin(async (tx) => {
    await tx`lock table claim_leases in access exclusive mode`;
    locked();
    await released;
  });
  await isLocked;
  return {
    async release() {
      release();
      await holder;
    },
  };
}

describe.each(['grpc', 'connect', 'grpc-web'] as const)('over %s', (protocol) => {
  test('claims, commits idempotently and maps errors to named classes', async () => {
    const cell1 = createTopologyClient({ baseUrl: url, credential: TOKENS[1], cellId: 1, protocol });
    await cell1.warmUp();
    const cell2 = createTopologyClient({ baseUrl: url, credential: TOKENS[2], cellId: 2, protocol });
    await cell2.warmUp();
    // background mode (10 s deadline): this test is about error mapping, not the 0.3 s in-transaction deadline a loaded CI machine can miss
    const bg = { mode: 'background' } as const;
    const value = `client-${protocol}`;
    const lease = await cell1.beginUpdate({ creates: [username(value)] }, bg);
    await cell1.commitUpdate(lease, bg);
    await cell1.commitUpdate(lease, bg);

    const conflict = await cell2.beginUpdate({ creates: [username(value, 2)] }, bg).catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(AlreadyClaimedError);
    expect((conflict as AlreadyClaimedError).conflicts).toEqual([{ type: 4, value }]);

    await expect(cell1.commitUpdate('00000000-0000-4000-8000-000000000000', bg)).rejects.toBeInstanceOf(NotFoundError);
    await expect(cell2.commitUpdate(lease, bg)).rejects.toBeInstanceOf(PermissionDeniedError);
    await expect(cell2.beginUpdate({ destroys: [username(value)] }, bg)).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(cell1.beginUpdate({ creates: [username('')] }, bg)).rejects.toBeInstanceOf(InvalidRequestError);
    const wrongCredential = createTopologyClient({ baseUrl: url, credential: 'wrong-credential-xxxx', cellId: 1, protocol });
    await expect(wrongCredential.getCells()).rejects.toBeInstanceOf(PermissionDeniedError);

    const { records } = await cell1.listRecords({ sourceType: 1, bucketTypes: [4] });
    expect(records.map((r) => r.metadata?.bucket?.value)).toContain(value);
    expect((await cell1.classify({ claims: [{ claim: { case: 'username', value } }] })).proxy?.address).toBe('cell-1:443');
    expect(cell1.stats()).toEqual({ inFlight: 0, breaker: 'closed' });
  });
});

test('a message over the limit fails in the client and the next call on the connection works', async () => {
  const client = createTopologyClient({ baseUrl: url, credential: TOKENS[1], cellId: 1 });
  const huge = { ...username('too-big'), userData: { typeUrl: 'type.googleapis.com/x.Blob', value: new Uint8Array(17 * 1024 * 1024) } };
  await expect(client.beginUpdate({ creates: [huge] }, { mode: 'background' })).rejects.toMatchObject({ code: Code.ResourceExhausted });
  const lease = await client.beginUpdate({ creates: [username('after-too-big', 3)] });
  await client.commitUpdate(lease);
});

test('in-transaction calls give up after 2 tries of 0.3 s; the breaker then fails fast and recovers', async () => {
  // a fake clock for the breaker's "open for 30 s" (cockatiel reads Date.now)
  const realNow = Date.now.bind(Date);
  let offset = 0;
  const clock = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
  const sent = counter();
  const client = createTopologyClient({
    baseUrl: url,
    credential: TOKENS[1],
    cellId: 1,
    interceptors: [sent.interceptor],
    breaker: { failureThreshold: 2, openMs: 30_000 },
  });
  const lock = await blockBeginUpdate();
  try {
    const error = await client.beginUpdate({ creates: [username('slow-1')] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TopologyUnavailableError);
    expect(sent.count()).toBe(2); // two tries, each with its own deadline
    expect(client.stats().breaker).toBe('open');

    await expect(client.beginUpdate({ creates: [username('slow-2')] })).rejects.toBeInstanceOf(CircuitOpenError);
    expect(sent.count()).toBe(2); // nothing sent while open
  } finally {
    await lock.release();
  }
  offset += 30_000; // half-open: one probe goes through and closes the circuit
  try {
    const lease = await client.beginUpdate({ creates: [username('after-recovery')] });
    expect(lease).toMatch(/^[0-9a-f-]{36}$/);
    expect(client.stats().breaker).toBe('closed');
    await client.commitUpdate(lease);
  } finally {
    clock.mockRestore();
  }
});

test('the concurrency limit rejects at once instead of queueing behind a slow service', async () => {
  const client = createTopologyClient({ baseUrl: url, credential: TOKENS[1], cellId: 1, maxConcurrent: 1 });
  const lock = await blockBeginUpdate();
  let first: Promise<string> | undefined;
  try {
    first = client.beginUpdate({ creates: [username('limited-1')] }, { mode: 'background' });
    await waitFor(() => client.stats().inFlight === 1);
    await expect(client.beginUpdate({ creates: [username('limited-2')] })).rejects.toBeInstanceOf(ConcurrencyLimitError);
  } finally {
    await lock.release();
  }
  // background mode waited (10 s deadline) and succeeds once the database answers
  const lease = await first;
  await client.commitUpdate(lease);
  expect(client.stats().inFlight).toBe(0);
});

test('an unreachable service is TopologyUnavailableError after the tries', async () => {
  const client = createTopologyClient({ baseUrl: 'http://127.0.0.1:1', credential: TOKENS[1], cellId: 1, policies: { background: { backoffMs: 1 } } });
  await expect(client.getCells()).rejects.toBeInstanceOf(TopologyUnavailableError);
});

test('ALREADY_EXISTS on a retried BeginUpdate is not "taken": the first try may hold the values itself', async () => {
  let first = true;
  // the first try reaches the service (its lease is opened), then its answer never arrives: the
  // client's deadline aborts it and the retry finds the values held by that orphan lease
  const loseFirstAnswer: Interceptor = (next) => async (req) => {
    const res = await next(req);
    if (req.method.name === 'BeginUpdate' && first) {
      first = false;
      await new Promise((resolve) => req.signal.addEventListener('abort', resolve));
      throw new Error('answer lost');
    }
    return res;
  };
  const client = createTopologyClient({ baseUrl: url, credential: TOKENS[1], cellId: 1, interceptors: [loseFirstAnswer] });
  const error = await client.beginUpdate({ creates: [username('orphaned-by-retry')] }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(TopologyUnavailableError);
  expect((error as Error).message).toMatch(/own earlier try/);
  const [open] = await sql<{ n: number }[]>`select count(*)::int as n from claim_leases where state = 'open' and cell_id = 1`;
  expect(open!.n).toBeGreaterThanOrEqual(1); // the orphan, for recovery
});
