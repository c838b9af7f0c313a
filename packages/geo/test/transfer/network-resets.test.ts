import path from 'node:path';
import { spawnTs } from '@meridian/testing';

describe('a connection reset mid-batch', () => {
  it('fails the batch and leaves no promise to reject later (the process survives)', async () => {
    const run = spawnTs(path.join(__dirname, 'fixtures/reset-mid-batch.ts'), {});
    const code = await run.exited;
    const output = run.output();
    expect(output).not.toMatch(/ECONNRESET\n\s+at /); // no crash report
    expect(code).toBe(0);
    const result = JSON.parse(output.trim().split('\n').at(-1)!) as { first: string[]; second: string[]; requests: number };
    expect(result.first).toEqual(['ok']);
    expect(result.second).toEqual(['error:ECONNRESET']);
    // the reset request is not sent again behind the caller's back
    expect(result.requests).toBe(2);
  });
});
