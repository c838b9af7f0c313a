import { Redis } from 'ioredis';
import { startRedisServer, freePort, portAnswers } from '../src';

describe('startRedisServer', () => {
  it('starts a private noeviction Redis and stops it', async () => {
    const server = await startRedisServer();
    const client = new Redis(server.url);
    try {
      expect(await client.ping()).toBe('PONG');
      const info = await client.info('memory');
      expect(info).toContain('maxmemory_policy:noeviction');
    } finally {
      client.disconnect();
      await server.stop();
    }
    expect(await portAnswers('127.0.0.1', server.port)).toBe(false);
  });

  it('freePort returns a port nobody listens on', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    expect(await portAnswers('127.0.0.1', port)).toBe(false);
  });
});
