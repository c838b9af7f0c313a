import { ConfigError, loadConfig } from '../src';

describe('loadConfig', () => {
  it('applies documented defaults', () => {
    const config = loadConfig({});
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.SITE_ROLE).toBe('primary');
    expect(config.PORT).toBe(3000);
    expect(config.CELL_ID).toBe(1);
    expect(config.WORKER_HEAP_GROWING_PERCENT).toBe(300);
  });

  it('bounds the worker heap growth and accepts 0 for V8\'s own heuristic', () => {
    expect(loadConfig({ WORKER_HEAP_GROWING_PERCENT: '0' }).WORKER_HEAP_GROWING_PERCENT).toBe(0);
    expect(() => loadConfig({ WORKER_HEAP_GROWING_PERCENT: '-1' })).toThrow(/WORKER_HEAP_GROWING_PERCENT/);
    expect(() => loadConfig({ WORKER_HEAP_GROWING_PERCENT: '5000' })).toThrow(/WORKER_HEAP_GROWING_PERCENT/);
  });

  it('coerces numbers and parses name=value lists', () => {
    const config = loadConfig({ PORT: '8080', QUEUE_GLOBAL_CONCURRENCY: 'geo.sync=10, other=2' });
    expect(config.PORT).toBe(8080);
    expect(config.QUEUE_GLOBAL_CONCURRENCY).toEqual({ 'geo.sync': 10, other: 2 });
  });

  it('names every bad or missing variable in one error', () => {
    let error: unknown;
    try {
      loadConfig(
        { SITE_ROLE: 'tertiary', PORT: '70000', REDIS_URL: 'http://x', DATABASE_URL: 'nope', ADMIN_TOKEN: 'short' },
        ['GEO_SHARED_SECRET'],
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const key of ['SITE_ROLE', 'PORT', 'REDIS_URL', 'DATABASE_URL', 'ADMIN_TOKEN', 'GEO_SHARED_SECRET']) {
      expect(message).toContain(key);
    }
    expect((error as ConfigError).problems).toHaveLength(6);
    // secrets are never echoed back
    expect(message).not.toContain('short');
  });

  it('rejects malformed lists with the variable name', () => {
    expect(() => loadConfig({ QUEUE_CONCURRENCY: 'a=0' })).toThrow(/QUEUE_CONCURRENCY/);
    expect(() => loadConfig({ QUEUE_CONCURRENCY: 'a' })).toThrow(/QUEUE_CONCURRENCY/);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ LOG_LEVEL: '' }).LOG_LEVEL).toBe('info');
  });

  it('includes the claims section: upstream deadlines by default, the credential never echoed', () => {
    const config = loadConfig({});
    expect(config.TOPOLOGY_CELL_CREDENTIAL).toBeUndefined();
    expect([config.TOPOLOGY_TRANSACTION_TIMEOUT_MS, config.TOPOLOGY_TRANSACTION_ATTEMPTS, config.TOPOLOGY_MAX_CONCURRENT]).toEqual([300, 2, 200]);
    const error = (() => {
      try {
        loadConfig({ TOPOLOGY_CELL_CREDENTIAL: 'shortsecret', TOPOLOGY_PROTOCOL: 'carrier-pigeon' });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).toMatch(/TOPOLOGY_CELL_CREDENTIAL: must be at least 16 characters/);
    expect(error?.message).toMatch(/TOPOLOGY_PROTOCOL/);
    expect(error?.message).not.toContain('shortsecret');
  });
});
