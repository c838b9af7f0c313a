import type http2 from 'node:http2';
import { create, toBinary } from '@bufbuild/protobuf';
import { Code, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { BeginUpdateRequestSchema, ClaimService } from '@meridian/proto';
import { bearer, CELL_1_TOKEN, ROUTER_TOKEN } from './harness';
import { useHarnessWithSession } from './harness-session';
import { claim, expectCode, meta, USERNAMES } from './fixtures';
import { envelope, h2Request } from './wire';

// Oversized and endless request bodies: answered with a clean code, read no further than the
// limit, refused unread when the caller is not authenticated, and the connection keeps working.

const READ_MAX = 16 * 1024 * 1024; // the default limit

const ctx = useHarnessWithSession();

const BEGIN = `/${ClaimService.typeName}/BeginUpdate`;
const grpc = (token?: string): http2.OutgoingHttpHeaders => ({
  ':path': BEGIN,
  'content-type': 'application/grpc',
  ...(token ? { authorization: `Bearer ${token}` } : {}),
});
const beginBytes = (value: string) =>
  toBinary(BeginUpdateRequestSchema, create(BeginUpdateRequestSchema, { cellId: 1n, createRecords: [claim(USERNAMES, value)] }));

async function stillServes(): Promise<void> {
  const ok = await h2Request(ctx.session, grpc(CELL_1_TOKEN), envelope(beginBytes(`after-${Math.random()}`)));
  expect(ok.trailers['grpc-status']).toBe('0');
}

test('a 33 MiB gRPC request is RESOURCE_EXHAUSTED and the same HTTP/2 connection keeps working', async () => {
  const size = 33 * 1024 * 1024;
  const answer = await h2Request(ctx.session, grpc(CELL_1_TOKEN), envelope(new Uint8Array(0), size), size);
  expect(answer.trailers['grpc-status']).toBe(String(Code.ResourceExhausted));
  expect(decodeURIComponent(String(answer.trailers['grpc-message']))).toContain('readMaxBytes');
  expect(answer.sentBytes).toBeLessThan(size);
  expect(ctx.session.destroyed).toBe(false);
  await stillServes();
  // and again, on the same connection
  const again = await h2Request(ctx.session, grpc(CELL_1_TOKEN), envelope(new Uint8Array(0), size), size);
  expect(again.trailers['grpc-status']).toBe(String(Code.ResourceExhausted));
  await stillServes();
});

test('the Connect client gets RESOURCE_EXHAUSTED for an oversized request and its next call works', async () => {
  // Node's HTTP/2 client counts a body it has queued but cannot send (the server stopped reading
  // it) against its own maxSessionMemory (10 MB by default); past that it resets the stream with
  // ENHANCE_YOUR_CALM itself and refuses every later stream of the ctx.session. A client that sends
  // bodies that large raises its limit, as here.
  const transport = createGrpcTransport({ baseUrl: ctx.h.url, interceptors: [bearer(CELL_1_TOKEN)], nodeOptions: { maxSessionMemory: 100 } });
  const client = createClient(ClaimService, transport);
  const big = meta(USERNAMES, 'too-big', { userData: { typeUrl: 'type.googleapis.com/x.Blob', value: new Uint8Array(READ_MAX + 1024) } });
  await expectCode(client.beginUpdate({ cellId: 1n, createRecords: [big] }), Code.ResourceExhausted);
  await expect(client.getCells({})).resolves.toBeDefined();
});

test('a 10-byte envelope followed by 64 MiB is not read to its end', async () => {
  const rest = 64 * 1024 * 1024;
  const answer = await h2Request(ctx.session, grpc(CELL_1_TOKEN), envelope(new Uint8Array(10)), rest);
  expect(answer.trailers['grpc-status']).not.toBe('0');
  expect(answer.trailers['grpc-status']).toBeDefined();
  // the server stopped reading long before the end (at most one further message of READ_MAX)
  expect(answer.sentBytes).toBeLessThan(READ_MAX);
  await stillServes();
});

test('an unauthenticated request is refused before its body is read', async () => {
  const rest = 64 * 1024 * 1024;
  const anonymous = await h2Request(ctx.session, grpc(), envelope(new Uint8Array(0), READ_MAX - 1), rest);
  expect(anonymous.trailers['grpc-status']).toBe(String(Code.Unauthenticated));
  // only what flow control let through before the answer: a few windows, not the body
  expect(anonymous.sentBytes).toBeLessThan(4 * 1024 * 1024);
  const wrongToken = await h2Request(ctx.session, grpc('not-a-credential'), envelope(new Uint8Array(0), READ_MAX - 1), rest);
  expect(wrongToken.trailers['grpc-status']).toBe(String(Code.Unauthenticated));
  expect(wrongToken.sentBytes).toBeLessThan(4 * 1024 * 1024);
  // a router may never call BeginUpdate, whatever the body says: also refused unread
  const router = await h2Request(ctx.session, grpc(ROUTER_TOKEN), envelope(new Uint8Array(0), READ_MAX - 1), rest);
  expect(router.trailers['grpc-status']).toBe(String(Code.PermissionDenied));
  expect(router.sentBytes).toBeLessThan(4 * 1024 * 1024);
  await stillServes();
});

test('HTTP/1.1: a Connect request declaring more than the limit is refused unread', async () => {
  const res = await fetch(`${ctx.h.url}${BEGIN}`, {
    method: 'POST',
    headers: { 'content-type': 'application/proto', authorization: `Bearer ${CELL_1_TOKEN}` },
    body: new Uint8Array(READ_MAX + 1),
  });
  expect(res.status).toBe(429); // resource_exhausted
  expect(((await res.json()) as { code: string }).code).toBe('resource_exhausted');
});
