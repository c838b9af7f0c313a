import { create, toBinary } from '@bufbuild/protobuf';
import { Code } from '@connectrpc/connect';
import { BeginUpdateRequestSchema } from '@meridian/proto';
import { ADMIN_TOKEN, CELL_1_TOKEN, CELL_2_TOKEN, ROUTER_TOKEN, startHarness, type Harness } from './harness';
import { claim, expectCode, meta, USERNAMES } from './fixtures';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const begin = (createRecords: ReturnType<typeof claim>[], cellId = 1n) =>
  h.claims(CELL_1_TOKEN).beginUpdate({ cellId, createRecords });

describe('validation: bad input is INVALID_ARGUMENT with a message', () => {
  test.each([
    ['UNSPECIFIED bucket type', () => begin([claim(0, 'x')]), 'UNSPECIFIED or unknown'],
    ['unknown bucket type', () => begin([claim(14, 'x')]), 'UNSPECIFIED or unknown'],
    ['empty value', () => begin([claim(USERNAMES, '')]), 'must not be empty'],
    ['value over 1,024 bytes', () => begin([claim(USERNAMES, 'é'.repeat(513))]), 'longer than 1024 bytes'],
    ['NUL in value', () => begin([claim(USERNAMES, 'a\u0000b')]), 'NUL'],
    ['missing primary key bytes', () => begin([meta(USERNAMES, 'pk', { source: { type: 1 } })]), 'primary key bytes'],
    ['UNSPECIFIED source type', () => begin([meta(USERNAMES, 'st', { source: { type: 0, railsPrimaryKeyId: new Uint8Array([1]) } })]), 'source.type'],
    ['missing subject', () => begin([meta(USERNAMES, 'sub', { subject: undefined })]), 'subject.type'],
    ['bucket and claim disagree', () => begin([meta(USERNAMES, 'a', { claim: { claim: { case: 'username', value: 'b' } } })]), 'different values'],
    ['same claim twice', () => begin([claim(USERNAMES, 'twice'), claim(USERNAMES, 'twice')]), 'created twice'],
    ['no records', () => begin([]), 'both empty'],
    ['over 1,000 records', () => begin(Array.from({ length: 1001 }, (_, i) => claim(USERNAMES, `many-${i}`))), 'at most 1000'],
    ['cell id 0', () => h.claims(ADMIN_TOKEN).beginUpdate({ cellId: 0n, createRecords: [claim(USERNAMES, 'zero')] }), 'positive cell id'],
    ['malformed lease uuid', () => h.claims(CELL_1_TOKEN).commitUpdate({ cellId: 1n, leaseUuid: { value: 'not-a-uuid' } }), 'must be a UUID'],
    ['missing lease uuid', () => h.claims(CELL_1_TOKEN).rollbackUpdate({ cellId: 1n }), 'must be a UUID'],
  ])('%s', async (_name, call, message) => {
    const error = await expectCode(call(), Code.InvalidArgument);
    expect(error.rawMessage).toContain(message);
  });

  test('an update of about 10 MB or more is INVALID_ARGUMENT, not a crash', async () => {
    const big = new Uint8Array(11 * 1024 * 1024);
    const record = meta(USERNAMES, 'huge', { userData: { typeUrl: 'type.googleapis.com/x.Blob', value: big } });
    const error = await expectCode(begin([record]), Code.InvalidArgument);
    expect(error.rawMessage).toContain('per BeginUpdate');
  });

  test('claims given as types.v1.Claim instead of Bucket are accepted and keyed the same', async () => {
    const viaClaim = meta(USERNAMES, 'x', { bucket: undefined, claim: { claim: { case: 'projectId', value: 42n } } });
    const begun = await begin([viaClaim]);
    await h.claims(CELL_1_TOKEN).commitUpdate({ cellId: 1n, leaseUuid: begun.leaseUuid });
    await expectCode(h.claims(CELL_2_TOKEN).beginUpdate({ cellId: 2n, createRecords: [claim(6, '42', 2)] }), Code.AlreadyExists);
  });

  test('malformed JSON and wrong JSON types over Connect are INVALID_ARGUMENT', async () => {
    for (const body of ['{"cellId": ', '{"cellId": "abc"}', '{"createRecords": 5}']) {
      const res = await fetch(`${h.url}/gitlab.cells.topology_service.claims.v1.ClaimService/BeginUpdate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${CELL_1_TOKEN}` },
        body,
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('invalid_argument');
    }
  });

  test('a valid binary request over plain HTTP/1.1 works (Connect unary)', async () => {
    const body = toBinary(BeginUpdateRequestSchema, create(BeginUpdateRequestSchema, { cellId: 1n, createRecords: [claim(USERNAMES, 'raw-h1')] }));
    const res = await fetch(`${h.url}/gitlab.cells.topology_service.claims.v1.ClaimService/BeginUpdate`, {
      method: 'POST',
      headers: { 'content-type': 'application/proto', authorization: `Bearer ${CELL_1_TOKEN}` },
      body,
    });
    expect(res.status).toBe(200);
  });
});

describe('authentication and authorization', () => {
  test('missing or unknown credentials are UNAUTHENTICATED', async () => {
    await expectCode(h.claims(undefined).beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, 'anon')] }), Code.Unauthenticated);
    await expectCode(h.claims('not-a-real-credential').getCells({}), Code.Unauthenticated);
  });

  test('a cell may only act for its own cell id', async () => {
    const error = await expectCode(
      h.claims(CELL_2_TOKEN).beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, 'spoof')] }),
      Code.PermissionDenied,
    );
    expect(error.rawMessage).toBe('cell 2 may not act for cell 1');
  });

  test('routers may only classify and list cells', async () => {
    const router = h.claims(ROUTER_TOKEN);
    const error = await expectCode(router.beginUpdate({ cellId: 1n, createRecords: [claim(USERNAMES, 'r')] }), Code.PermissionDenied);
    expect(error.rawMessage).toContain('routers may only classify');
    await expectCode(router.listRecords({ cellId: 1n, sourceType: 1 }), Code.PermissionDenied);
    await expectCode(router.getRecord({ bucket: { type: USERNAMES, value: 'r' } }), Code.PermissionDenied);
    await expect(router.getCells({})).resolves.toBeDefined();
  });

  test('credentials never reach the logs; every RPC is logged with method, code and duration', () => {
    const logs = h.logs();
    for (const secret of [CELL_1_TOKEN, CELL_2_TOKEN, ADMIN_TOKEN, ROUTER_TOKEN, 'not-a-real-credential']) {
      expect(logs).not.toContain(secret);
    }
    const lines = logs.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const denied = lines.find((l) => l.method === 'ClaimService/BeginUpdate' && l.code === 'permission_denied');
    expect(denied).toMatchObject({ msg: 'rpc', caller: 'cell 2' });
    expect(typeof denied?.durationMs).toBe('number');
  });
});

describe('health and metrics', () => {
  test('/healthz, /readyz and /metrics answer over HTTP/1.1', async () => {
    expect((await fetch(`${h.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${h.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', postgres: 'ok' });
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).toMatch(/topology_rpc_requests_total\{method="ClaimService\/BeginUpdate",code="invalid_argument"\} \d+/);
    expect(metrics).toContain('topology_rpc_duration_seconds_bucket');
    expect((await fetch(`${h.url}/nope`)).status).toBe(404);
  });
});
