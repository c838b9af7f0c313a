import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface TempDirs {
  base: string;
  /** the storage root */
  root: string;
  /** a sibling of the root that nothing may ever reach */
  outside: string;
  cleanup(): void;
}

export function makeTempDirs(): TempDirs {
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-storage-'));
  const root = path.join(base, 'root');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(outside);
  return { base, root, outside, cleanup: () => fs.rmSync(base, { recursive: true, force: true }) };
}

/**
 * every entry below `dir` that is not a directory, relative, sorted. Walks by hand and never
 * descends into a symlink (listed as an entry itself): `readdirSync({ recursive: true })`
 * follows symlinked directories under Node 24.
 */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (current: string): void => {
    for (const entry of fs.readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else out.push(path.relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}

export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A source that yields `first`, waits until `release()` is called, then yields `rest`. */
export function gatedSource(first: Buffer, rest: Buffer) {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  async function* source(): AsyncGenerator<Uint8Array> {
    yield first;
    await gate;
    yield rest;
  }
  return { source: source(), release };
}
