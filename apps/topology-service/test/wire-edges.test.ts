import { Code } from '@connectrpc/connect';
import { ClaimService } from '@meridian/proto';
import { CELL_1_TOKEN, type Protocol } from './harness';
import { useHarnessWithSession } from './harness-session';
import { claim, expectCode, meta, USERNAMES } from './fixtures';
import { envelope, h2Request } from './wire';

// What an independent client found on the wire: JSON cursors, invalid UTF-8, canonical ids, and
// answers that must show up in logs and metrics with the code the client got.

const ctx = useHarnessWithSession();

const path = (method: string) => `/${ClaimService.typeName}/${method}`;
const PROJECT_IDS = 6;

interface LogLine {
  msg: string;
  method?: string;
  code?: string;
  httpStatus?: number;
  path?: string;
}
const logLines = (): LogLine[] => ctx.h.logs().trim().split('\n').map((l) => JSON.parse(l) as LogLine);
async function counter(method: string, code: string): Promise<number> {
  const text = await ctx.h.server.registry.getSingleMetricAsString('topology_rpc_requests_total');
  const match = new RegExp(`method="${method.replace('/', '\\/')}",code="${code}"\\} (\\d+)`).exec(text);
  return match ? Number(match[1]) : 0;
}

describe('ListLeases pages with a next cursor', () => {
  test.each<Protocol>(['connect-json', 'connect-json-h1', 'connect', 'grpc', 'grpc-web'])('over %s', async (protocol) => {
    const client = ctx.h.claims(CELL_1_TOKEN, protocol);
    const open: string[] = [];
    for (let i = 0; i < 3; i++) {
      const begun = await client.beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, `lease-${protocol}-${i}`)] });
      open.push(begun.leaseUuid!.value);
    }
    const seen: string[] = [];
    let next = undefined as Awaited<ReturnType<typeof client.listLeases>>['next'];
    let pages = 0;
    do {
      const page = await client.listLeases({ cellId: 1n, limit: 2, next });
      seen.push(...page.leases.map((l) => l.uuid!.value));
      next = page.next;
      pages++;
    } while (next && pages < 10);
    expect(pages).toBeGreaterThan(1);
    expect(seen).toEqual(expect.arrayContaining(open));
    for (const lease of open) await client.rollbackUpdate({ cellId: 1n, leaseUuid: { value: lease } });
  });
});

describe('invalid UTF-8 in JSON strings is INVALID_ARGUMENT on every protocol', () => {
  // {"cellId":"1","createRecords":[{"bucket":{"type":"USERNAMES","value":"a<0xFF>b"}, …}]}
  const json = (value: Buffer) =>
    Buffer.concat([
      Buffer.from('{"cellId":"1","createRecords":[{"bucket":{"type":"USERNAMES","value":"'),
      value,
      Buffer.from('"},"subject":{"type":"USER","id":"1"},"source":{"type":"RAILS_TABLE_USERS","railsPrimaryKeyId":"AAAAAAAAAAE="}}]}'),
    ]);
  const invalid = json(Buffer.from([0x61, 0xff, 0x62]));
  const postJson = (body: Buffer) =>
    fetch(`${ctx.h.url}${path('BeginUpdate')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${CELL_1_TOKEN}` },
      body,
    });

  test('Connect JSON (HTTP/1.1)', async () => {
    const res = await postJson(invalid);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('invalid_argument');
  });

  test('gRPC with the JSON codec', async () => {
    const answer = await h2Request(
      ctx.session,
      { ':path': path('BeginUpdate'), 'content-type': 'application/grpc+json', authorization: `Bearer ${CELL_1_TOKEN}` },
      envelope(invalid),
    );
    expect(answer.trailers['grpc-status']).toBe(String(Code.InvalidArgument));
  });

  test('gRPC-Web with the JSON codec', async () => {
    const answer = await h2Request(
      ctx.session,
      { ':path': path('BeginUpdate'), 'content-type': 'application/grpc-web+json', authorization: `Bearer ${CELL_1_TOKEN}` },
      envelope(invalid),
    );
    // gRPC-Web carries its status in a trailer frame at the end of the body
    expect(answer.body.toString('latin1')).toMatch(new RegExp(`grpc-status: ?${Code.InvalidArgument}\\r\\n`));
  });

  test('a JSON \\uD800 escape (half a surrogate pair) is INVALID_ARGUMENT too', async () => {
    const res = await postJson(json(Buffer.from('a\\ud800b')));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('invalid_argument');
  });

  test('the same value, valid, is accepted', async () => {
    const res = await postJson(json(Buffer.from('a\u00ffb')));
    expect(res.status).toBe(200);
  });
});

describe('integer-valued buckets take canonical ids only', () => {
  const begin = (value: string) => ctx.h.claims(CELL_1_TOKEN).beginUpdate({ cellId: 1n, createRecords: [claim(PROJECT_IDS, value)] });
  test.each(['0042', '+42', ' 42', '42 ', '4.2', '1e3', 'not-a-number', '0', '-1', '-0', '9223372036854775808', '99999999999999999999'])(
    'PROJECT_IDS %j is INVALID_ARGUMENT',
    async (value) => {
      const error = await expectCode(begin(value), Code.InvalidArgument);
      expect(error.rawMessage).toContain('canonical decimal');
    },
  );
  test.each([7, 10, 11, 16])('bucket type %i checks the same', async (type) => {
    await expectCode(ctx.h.claims(CELL_1_TOKEN).beginUpdate({ cellId: 1n, createRecords: [claim(type, '007')] }), Code.InvalidArgument);
  });
  test('canonical ids are accepted, up to the int64 maximum', async () => {
    await expect(begin('42')).resolves.toBeDefined();
    await expect(begin('9223372036854775807')).resolves.toBeDefined();
  });
  test.each([0n, -5n])('the claim oneof’s project_id %p is INVALID_ARGUMENT', async (id) => {
    const viaClaim = meta(USERNAMES, 'x', { bucket: undefined, claim: { claim: { case: 'projectId', value: id } } });
    await expectCode(ctx.h.claims(CELL_1_TOKEN).beginUpdate({ cellId: 1n, createRecords: [viaClaim] }), Code.InvalidArgument);
  });
  test('string buckets keep their values as given', async () => {
    await expect(ctx.h.claims(CELL_1_TOKEN).beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, '0042')] })).resolves.toBeDefined();
  });
});

describe('every answer is logged and counted with its real code', () => {
  test('an undecodable binary body', async () => {
    const before = await counter('ClaimService/CommitUpdate', 'internal');
    const answer = await h2Request(
      ctx.session,
      { ':path': path('CommitUpdate'), 'content-type': 'application/grpc', authorization: `Bearer ${CELL_1_TOKEN}` },
      envelope(Buffer.from([0x0a, 0xff, 0xff])),
    );
    expect(answer.trailers['grpc-status']).toBe(String(Code.Internal)); // connect-es: binary parse failures are INTERNAL
    expect(await counter('ClaimService/CommitUpdate', 'internal')).toBe(before + 1);
  });

  test('an oversized request', async () => {
    const before = await counter('ClaimService/BeginUpdate', 'resource_exhausted');
    const answer = await h2Request(
      ctx.session,
      { ':path': path('BeginUpdate'), 'content-type': 'application/grpc', authorization: `Bearer ${CELL_1_TOKEN}` },
      envelope(new Uint8Array(0), 0x7fffffff),
    );
    expect(answer.trailers['grpc-status']).toBe(String(Code.ResourceExhausted));
    expect(await counter('ClaimService/BeginUpdate', 'resource_exhausted')).toBe(before + 1);
  });

  test('a refused credential (answered before any interceptor)', async () => {
    const before = await counter('ClaimService/GetCells', 'unauthenticated');
    await expectCode(ctx.h.claims('not-a-credential').getCells({}), Code.Unauthenticated);
    expect(await counter('ClaimService/GetCells', 'unauthenticated')).toBe(before + 1);
  });

  test('an unknown path', async () => {
    const before = await counter('unknown', 'unimplemented');
    const answer = await h2Request(ctx.session, { ':path': '/no.Such/Method', 'content-type': 'application/grpc' }, envelope(new Uint8Array(0)));
    expect(answer.headers[':status']).toBe(404);
    expect(await counter('unknown', 'unimplemented')).toBe(before + 1);
    expect(logLines()).toContainEqual(expect.objectContaining({ msg: 'rpc', method: 'unknown', code: 'unimplemented', path: '/no.Such/Method' }));
  });

  test('a JSON answer that cannot be encoded is logged as internal, not ok', async () => {
    // user_data may hold any message; one whose type the service does not know has no JSON form
    const record = meta(USERNAMES, 'opaque-user-data', { userData: { typeUrl: 'type.googleapis.com/x.Blob', value: new Uint8Array([1]) } });
    const begun = await ctx.h.claims(CELL_1_TOKEN).beginUpdate({ cellId: 1n, createRecords: [record] });
    await ctx.h.claims(CELL_1_TOKEN).commitUpdate({ cellId: 1n, leaseUuid: begun.leaseUuid });
    const before = await counter('ClaimService/ListRecords', 'internal');
    await expectCode(ctx.h.claims(CELL_1_TOKEN, 'connect-json').listRecords({ cellId: 1n, sourceType: 1, bucketTypes: [USERNAMES] }), Code.Internal);
    expect(await counter('ClaimService/ListRecords', 'internal')).toBe(before + 1);
    const line = logLines().filter((l) => l.method === 'ClaimService/ListRecords').at(-1);
    expect(line).toMatchObject({ code: 'internal', httpStatus: 500 });
  });
});
