import http2 from 'node:http2';
import { ClaimService } from '@meridian/proto';
import { CELL_1_TOKEN, startHarness, type Harness } from './harness';
import { h2Request, startFragmentingRelay } from './wire';

// However a client's first bytes are split across packets, the connection reaches the right
// server (default timeouts here, so a slow machine cannot turn fragmentation into a timeout).

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

describe('first bytes arriving one at a time still reach the right server', () => {
  test('HTTP/1.1', async () => {
    const relay = await startFragmentingRelay(h.url, 40);
    try {
      const res = await fetch(`${relay.url}/healthz`);
      expect(res.status).toBe(200);
    } finally {
      await relay.close();
    }
  });

  test('HTTP/2 with prior knowledge (the 24-byte preface split)', async () => {
    const relay = await startFragmentingRelay(h.url, 40);
    const session = http2.connect(relay.url);
    session.on('error', () => undefined);
    try {
      const health = await h2Request(session, { ':method': 'GET', ':path': '/healthz' }, Buffer.alloc(0));
      expect(health.headers[':status']).toBe(200);
      const rpc = await h2Request(
        session,
        { ':path': `/${ClaimService.typeName}/GetCells`, 'content-type': 'application/grpc', authorization: `Bearer ${CELL_1_TOKEN}` },
        Buffer.from([0, 0, 0, 0, 0]),
      );
      expect(rpc.trailers['grpc-status']).toBe('0');
    } finally {
      session.destroy();
      await relay.close();
    }
  });
});
