import { Writable } from 'node:stream';
import { createLogger } from '../src';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      callback();
    },
  });
  return { destination, lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('writes JSON lines with name, bindings and attributes', () => {
    const { destination, lines } = capture();
    const logger = createLogger({ name: 'worker', base: { site: 'primary' }, destination });
    logger.child({ jobId: '42' }).info({ queue: 'geo.sync' }, 'job completed');
    expect(lines()[0]).toMatchObject({ name: 'worker', site: 'primary', jobId: '42', queue: 'geo.sync', msg: 'job completed', level: 30 });
  });

  it('redacts secrets wherever they appear', () => {
    const { destination, lines } = capture();
    const logger = createLogger({ name: 'api', destination });
    logger.info({ token: 't0ps3cret', headers: { authorization: 'Bearer abc' }, config: { ADMIN_TOKEN: 'admin-secret' } }, 'request');
    const text = JSON.stringify(lines()[0]);
    expect(text).not.toContain('t0ps3cret');
    expect(text).not.toContain('Bearer abc');
    expect(text).not.toContain('admin-secret');
    expect(text).toContain('[redacted]');
  });
});
