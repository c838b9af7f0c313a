import net from 'node:net';
import { createClient, Code, ConnectError, createRouterTransport } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-node';
import { CRASH_SHUTDOWN, createSql } from '@meridian/db';
import { createSilentLogger } from '@meridian/logger';
import { ClaimService } from '@meridian/proto';
import { createTopologyServer } from '../src/server';
import { createUnexpectedErrorInterceptor } from '../src/http/unexpected-errors';
import { ADMIN_TOKEN, CELL_1_TOKEN, CELLS, ROUTER_TOKEN, bearer } from './harness';
import { claim, expectCode, USERNAMES } from './fixtures';

// When PostgreSQL cannot serve, callers get UNAVAILABLE (retry elsewhere or later), not INTERNAL:
// the codes are @meridian/db's one table (isDatabaseUnavailable).

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('a server whose PostgreSQL refuses connections answers UNAVAILABLE with a generic message', async () => {
  const sql = createSql(`postgres://postgres@127.0.0.1:${await closedPort()}/meridian_topology_absent`, { max: 1 });
  const server = createTopologyServer({
    sql,
    logger: createSilentLogger(),
    cells: CELLS,
    credentials: { cells: new Map([[1, CELL_1_TOKEN]]), admin: ADMIN_TOKEN, router: ROUTER_TOKEN },
    processMetrics: false,
  });
  const { url } = await server.listen(0);
  try {
    const client = createClient(ClaimService, createConnectTransport({ baseUrl: url, httpVersion: '1.1', interceptors: [bearer(CELL_1_TOKEN)] }));
    const error = await expectCode(client.beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, 'nobody-home')] }), Code.Unavailable);
    expect(error.rawMessage).toBe('database unavailable');
  } finally {
    await server.close(1000);
    await sql.end({ timeout: 1 });
  }
});

test('every server or connection failure @meridian/db knows is UNAVAILABLE; other errors are INTERNAL', async () => {
  // the service used to keep its own shorter list, which missed crash shutdown (57P02), the 08 class and destroyed connections
  const answers: Record<string, string> = {};
  for (const code of ['ECONNREFUSED', 'CONNECTION_DESTROYED', CRASH_SHUTDOWN, '08006', '23505', 'none']) {
    const transport = createRouterTransport(
      ({ service }) =>
        service(ClaimService, {
          beginUpdate() {
            throw Object.assign(new Error(`failure ${code}`), code === 'none' ? {} : { code });
          },
        }),
      { router: { interceptors: [createUnexpectedErrorInterceptor(createSilentLogger())] } },
    );
    const error = await createClient(ClaimService, transport)
      .beginUpdate({ cellId: 1n })
      .then(() => undefined, (e: unknown) => ConnectError.from(e));
    answers[code] = error ? Code[error.code] : 'ok';
  }
  expect(answers).toEqual({
    ECONNREFUSED: 'Unavailable',
    CONNECTION_DESTROYED: 'Unavailable',
    [CRASH_SHUTDOWN]: 'Unavailable',
    '08006': 'Unavailable',
    '23505': 'Internal',
    none: 'Internal',
  });
});
