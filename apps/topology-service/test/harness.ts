import { Writable } from 'node:stream';
import { createRegistry } from '@bufbuild/protobuf';
import { StringValueSchema } from '@bufbuild/protobuf/wkt';
import { createClient, type Client, type Interceptor, type Transport } from '@connectrpc/connect';
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from '@connectrpc/connect-node';
import { encodePrimaryKey, topologyMigrationSet } from '@meridian/claims/rules';
import { createSql, migrationTemplate, type Sql } from '@meridian/db';
import { createLogger } from '@meridian/logger';
import { ClaimService, ClassifyService } from '@meridian/proto';
import { createTestDatabase, type TestDatabase } from '@meridian/testing';
import { createTopologyServer, type ServerLimits, type TopologyServer } from '../src/server';

// A real server on port 0 over a fresh, migrated database, plus clients for each identity.

export const CELL_1_TOKEN = 'test-cell-1-credential-aaaa';
export const CELL_2_TOKEN = 'test-cell-2-credential-bbbb';
export const ADMIN_TOKEN = 'test-admin-credential-cccc';
export const ROUTER_TOKEN = 'test-router-credential-dddd';
export const CELLS = [
  { id: 1, address: 'cell-1.test:443', sessionPrefix: 'cell-1' },
  { id: 2, address: 'cell-2.test:443', sessionPrefix: 'cell-2' },
];

export type Protocol = 'connect' | 'connect-h1' | 'connect-json' | 'connect-json-h1' | 'grpc' | 'grpc-web' | 'grpc-web-h1';

export interface Harness {
  url: string;
  sql: Sql;
  server: TopologyServer;
  logs(): string;
  transport(token: string | undefined, protocol?: Protocol): Transport;
  claims(token: string | undefined, protocol?: Protocol): Client<typeof ClaimService>;
  classify(token: string | undefined, protocol?: Protocol): Client<typeof ClassifyService>;
  close(): Promise<void>;
}

export function bearer(token: string | undefined): Interceptor {
  return (next) => (req) => {
    if (token) req.header.set('authorization', `Bearer ${token}`);
    return next(req);
  };
}

export async function startHarness(options: { listRecordsPageSize?: number; limits?: Partial<ServerLimits> } = {}): Promise<Harness> {
  const db: TestDatabase = await createTestDatabase('topo', { template: migrationTemplate(topologyMigrationSet()) });
  const sql = createSql(db.url, { max: 20 });
  let logText = '';
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logText += chunk.toString();
      cb();
    },
  });
  const server = createTopologyServer({
    sql,
    logger: createLogger({ name: 'topology-test', level: 'info', destination }),
    cells: CELLS,
    credentials: {
      cells: new Map([
        [1, CELL_1_TOKEN],
        [2, CELL_2_TOKEN],
      ]),
      admin: ADMIN_TOKEN,
      router: ROUTER_TOKEN,
    },
    listRecordsPageSize: options.listRecordsPageSize,
    processMetrics: false,
    limits: options.limits,
  });
  const { url } = await server.listen(0);
  const transports: Transport[] = [];

  const transport = (token: string | undefined, protocol: Protocol = 'connect'): Transport => {
    const interceptors = [bearer(token)];
    const t =
      protocol === 'grpc'
        ? createGrpcTransport({ baseUrl: url, interceptors })
        : protocol === 'grpc-web' || protocol === 'grpc-web-h1'
          ? createGrpcWebTransport({ baseUrl: url, httpVersion: protocol === 'grpc-web' ? '2' : '1.1', interceptors })
          : createConnectTransport({
              baseUrl: url,
              httpVersion: protocol === 'connect' || protocol === 'connect-json' ? '2' : '1.1',
              useBinaryFormat: !protocol.startsWith('connect-json'),
              // a JSON client needs the types of the Any fields it decodes (ListLeases' cursor)
              jsonOptions: { registry: createRegistry(StringValueSchema) },
              interceptors,
            });
    transports.push(t);
    return t;
  };

  return {
    url,
    sql,
    server,
    logs: () => logText,
    transport,
    claims: (token, protocol) => createClient(ClaimService, transport(token, protocol)),
    classify: (token, protocol) => createClient(ClassifyService, transport(token, protocol)),
    async close() {
      await server.close(1000);
      await sql.end({ timeout: 5 });
      await db.drop();
    },
  };
}

/** 8-byte big-endian primary key bytes, as cells send integer ids. */
export function pk(id: number | bigint): Uint8Array {
  return encodePrimaryKey(id);
}
