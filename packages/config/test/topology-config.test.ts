import { ConfigError, loadTopologyConfig } from '../src';

describe('loadTopologyConfig: HTTP limits and timeouts', () => {
  it('applies the documented defaults', () => {
    const config = loadTopologyConfig({});
    expect(config).toMatchObject({
      TOPOLOGY_READ_MAX_BYTES: 16 * 1024 * 1024,
      TOPOLOGY_WRITE_MAX_BYTES: 64 * 1024 * 1024,
      TOPOLOGY_HTTP_HEADERS_TIMEOUT_MS: 10_000,
      TOPOLOGY_HTTP_REQUEST_TIMEOUT_MS: 30_000,
      TOPOLOGY_HTTP_KEEP_ALIVE_TIMEOUT_MS: 5_000,
      TOPOLOGY_HTTP_IDLE_TIMEOUT_MS: 120_000,
      TOPOLOGY_HTTP2_MAX_CONCURRENT_STREAMS: 100,
      TOPOLOGY_HTTP_MAX_HEADER_BYTES: 16 * 1024,
    });
  });

  it('refuses a headers timeout longer than the request timeout, and bad numbers, naming each', () => {
    let error: unknown;
    try {
      loadTopologyConfig({ TOPOLOGY_HTTP_HEADERS_TIMEOUT_MS: '5000', TOPOLOGY_HTTP_REQUEST_TIMEOUT_MS: '1000' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toContain('TOPOLOGY_HTTP_HEADERS_TIMEOUT_MS: must not exceed TOPOLOGY_HTTP_REQUEST_TIMEOUT_MS');
    expect(() => loadTopologyConfig({ TOPOLOGY_HTTP2_MAX_CONCURRENT_STREAMS: '0' })).toThrow(/TOPOLOGY_HTTP2_MAX_CONCURRENT_STREAMS/);
  });
});
