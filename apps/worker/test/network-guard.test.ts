import { spawnTs } from '@meridian/testing';

const FIXTURE = 'apps/worker/test/fixtures/stray-rejection.ts';

describe('worker network guard', () => {
  it('survives an unhandled rejection caused by a network error, and logs it', async () => {
    const run = spawnTs(FIXTURE, {}, ['network']);
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('still running');
    expect(run.output()).toContain('unhandled network error: the worker keeps running');
  });

  it('still exits on any other unhandled rejection (a bug)', async () => {
    const run = spawnTs(FIXTURE, {}, ['bug']);
    expect(await run.exited).toBe(1);
    expect(run.output()).not.toContain('still running');
    expect(run.output()).toContain('unhandled promise rejection');
  });
});

describe('worker guard against the postgres.js closed-socket write', () => {
  it('survives the driver defect a PostgreSQL restart triggers, and logs it', async () => {
    const run = spawnTs(FIXTURE, {}, ['driver']);
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('still running');
    expect(run.output()).toContain('postgres driver wrote to a closed connection');
  });

  it('still exits on the same message thrown from anywhere else', async () => {
    const run = spawnTs(FIXTURE, {}, ['throw']);
    expect(await run.exited).toBe(1);
    expect(run.output()).not.toContain('still running');
    expect(run.output()).toContain('uncaught exception');
  });
});
