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

/** every file below `dir`, relative, sorted (follows no symlinks) */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isDirectory()) out.push(path.relative(dir, path.join(entry.parentPath, entry.name)));
  }
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
