import http2 from 'node:http2';
import { startHarness, type Harness } from './harness';

/** A harness for the file's tests plus one raw HTTP/2 connection to it (jest hooks included). */
export function useHarnessWithSession(): { readonly h: Harness; readonly session: http2.ClientHttp2Session } {
  const ctx = {} as { h: Harness; session: http2.ClientHttp2Session };
  beforeAll(async () => {
    ctx.h = await startHarness();
    ctx.session = http2.connect(ctx.h.url);
    ctx.session.on('error', () => undefined);
  });
  afterAll(async () => {
    ctx.session.destroy();
    await ctx.h.close();
  });
  return ctx;
}
