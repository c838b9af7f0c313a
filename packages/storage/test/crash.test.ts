import fs from 'node:fs';
import path from 'node:path';
import { spawnTs, waitFor } from '@meridian/testing';
import { createFilesystemStorage } from '../src';
import { listFiles, makeTempDirs, type TempDirs } from './helpers';

const fixture = path.join(__dirname, 'fixtures', 'slow-writer.ts');
let dirs: TempDirs;

beforeEach(() => (dirs = makeTempDirs()));
afterEach(() => dirs.cleanup());

async function killMidWrite(relativePath: string): Promise<void> {
  const child = spawnTs(fixture, {}, [dirs.root, relativePath]);
  try {
    await waitFor(() => child.output().includes('PROGRESS'), { message: 'the writer to report progress', timeoutMs: 30_000 });
  } finally {
    child.child.kill('SIGKILL');
  }
  expect(await child.exited).toBe('SIGKILL');
}

describe('a writer killed mid-write', () => {
  it('leaves nothing at the final path and a temporary file the sweeper removes', async () => {
    await killMidWrite('packages/7/blob.bin');

    const storage = createFilesystemStorage(dirs.root);
    expect(await storage.exists('packages/7/blob.bin')).toBe(false);
    const files = listFiles(dirs.root);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^packages\/7\/\.tmp-/);

    expect(await storage.sweepTemporaryFiles(0)).toBe(1);
    expect(listFiles(dirs.root)).toEqual([]);
  });

  it('leaves the previous version intact when replacing a blob', async () => {
    const storage = createFilesystemStorage(dirs.root);
    await storage.write('blob.bin', 'previous version');

    await killMidWrite('blob.bin');

    expect(fs.readFileSync(path.join(dirs.root, 'blob.bin'), 'utf8')).toBe('previous version');
    expect(await storage.sweepTemporaryFiles(0)).toBe(1);
    expect(listFiles(dirs.root)).toEqual(['blob.bin']);
  });
});
