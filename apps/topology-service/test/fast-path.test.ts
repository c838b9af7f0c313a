import http2 from 'node:http2';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  BeginUpdateRequestSchema,
  BeginUpdateResponseSchema,
  BucketSchema,
  ClaimService,
} from '@meridian/proto';
import { findTrailerError } from '@connectrpc/connect/protocol-grpc';
import { CELL_1_TOKEN, CELL_2_TOKEN, startHarness, type Harness } from './harness';
import { claim, USERNAMES } from './fixtures';

// Unary gRPC over HTTP/2 is served by src/http/grpc-unary-fast-path.ts instead of Connect's
// generic handler. These tests pin its wire format to what Connect sends (captured from Connect
// before the fast path existed): headers, trailers, status details and protocol errors.

let h: Harness;
let session: http2.ClientHttp2Session;
beforeAll(async () => {
  h = await startHarness();
  session = http2.connect(h.url);
});
afterAll(async () => {
  session.close();
  await h.close();
});

const BEGIN = `/${ClaimService.typeName}/BeginUpdate`;
const COMMIT = `/${ClaimService.typeName}/CommitUpdate`;

interface RawResponse {
  headers: http2.IncomingHttpHeaders;
  trailers: http2.IncomingHttpHeaders;
  body: Buffer;
}

function frame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

function call(path: string, body: Buffer, extra: http2.OutgoingHttpHeaders = {}, token = CELL_1_TOKEN): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      authorization: `Bearer ${token}`,
      ...extra,
    });
    let headers: http2.IncomingHttpHeaders = {};
    let trailers: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    stream.on('response', (h) => (headers = h));
    stream.on('trailers', (t) => (trailers = t));
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('end', () => resolve({ headers, trailers, body: Buffer.concat(chunks) }));
    stream.end(body);
  });
}

const beginBody = (value: string) =>
  frame(toBinary(BeginUpdateRequestSchema, create(BeginUpdateRequestSchema, { cellId: 1n, createRecords: [claim(USERNAMES, value)] })));

describe('unary gRPC fast path', () => {
  test('a success has Connect’s headers, one uncompressed envelope and grpc-status 0', async () => {
    const res = await call(BEGIN, beginBody('fast-ok'), { 'grpc-timeout': '300m' });
    expect(res.headers[':status']).toBe(200);
    expect(res.headers['content-type']).toBe('application/grpc+proto');
    expect(res.headers['grpc-encoding']).toBeUndefined();
    expect(res.trailers['grpc-status']).toBe('0');
    expect(res.body[0]).toBe(0);
    expect(res.body.readUInt32BE(1)).toBe(res.body.length - 5);
    const reply = fromBinary(BeginUpdateResponseSchema, res.body.subarray(5));
    expect(reply.cellId).toBe(1n);
    expect(reply.leaseUuid?.value).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('errors travel in trailers with percent-encoded messages and status details', async () => {
    await call(BEGIN, beginBody('fast-taken'));
    const res = await call(BEGIN, beginBody('fast-taken'));
    expect(res.headers['content-type']).toBe('application/grpc+proto');
    expect(res.trailers['grpc-status']).toBe('6'); // ALREADY_EXISTS
    expect(decodeURIComponent(String(res.trailers['grpc-message']))).toContain('{USERNAMES=fast-taken}');
    // decoded the way Connect's own clients decode it
    const trailer = new Headers();
    for (const [key, value] of Object.entries(res.trailers)) if (!key.startsWith(':')) trailer.set(key, String(value));
    const error = findTrailerError(trailer);
    expect(error?.code).toBe(6);
    expect(error?.findDetails(BucketSchema)).toEqual([expect.objectContaining({ type: USERNAMES, value: 'fast-taken' })]);
  });

  test('interceptors run: unknown credentials and foreign cells are refused', async () => {
    const anonymous = await call(BEGIN, beginBody('fast-anon'), {}, 'nobody');
    expect(anonymous.trailers['grpc-status']).toBe('16');
    const foreign = await call(BEGIN, beginBody('fast-foreign'), {}, CELL_2_TOKEN);
    expect(foreign.trailers['grpc-status']).toBe('7');
    expect(decodeURIComponent(String(foreign.trailers['grpc-message']))).toBe('cell 2 may not act for cell 1');
    expect(h.logs()).toContain('"code":"unauthenticated"');
  });

  test('protocol errors match Connect’s codes and messages', async () => {
    const incomplete = await call(COMMIT, Buffer.from([0, 0, 0, 0, 2, 8]));
    expect(incomplete.trailers).toMatchObject({ 'grpc-status': '3', 'grpc-message': 'protocol%20error%3A%20incomplete%20envelope' });
    const missing = await call(COMMIT, Buffer.alloc(0));
    expect(missing.trailers).toMatchObject({
      'grpc-status': '12',
      'grpc-message': 'protocol%20error%3A%20missing%20input%20message%20for%20unary%20method',
    });
    const huge = Buffer.from([0, 0x7f, 0xff, 0xff, 0xff]);
    const tooBig = await call(COMMIT, huge);
    expect(tooBig.trailers['grpc-status']).toBe('8'); // RESOURCE_EXHAUSTED
  });

  test('what the fast path does not handle still reaches Connect', async () => {
    const badTimeout = await call(COMMIT, frame(new Uint8Array()), { 'grpc-timeout': 'soon' });
    expect(badTimeout.trailers['grpc-status']).toBe('3');
    expect(decodeURIComponent(String(badTimeout.trailers['grpc-message']))).toContain('invalid grpc timeout value');
  });
});
