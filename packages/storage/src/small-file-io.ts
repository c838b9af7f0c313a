import fs from 'node:fs';
import { promisify } from 'node:util';

/**
 * How blobs up to the small-file limit (64 KiB) are read and written.
 *
 * - `sync`: synchronous calls on the event loop. On a local filesystem each takes microseconds,
 *   and a 4 KiB blob skips four or five thread-pool round trips: measured on the 2-core bench VM,
 *   open + fstat + read + close of a cached 4 KiB file cost 13–16 µs of CPU synchronously against
 *   122–162 µs through the thread pool (the handoffs and context switches dominate).
 * - `async`: the thread pool, for filesystems whose metadata calls can take milliseconds (NFS and
 *   other network mounts), where a synchronous call would stall every other request meanwhile.
 *
 * fdatasync is always asynchronous: it waits for the device.
 */
export type SmallFileIo = 'sync' | 'async';

/** The small-file limit: blobs up to this size take the small-file calls. */
export const SMALL_FILE_LIMIT = 64 * 1024;

/** The calls the small-file paths make, over raw descriptors, in either flavour. */
export interface SmallFileOps {
  mkdir(directory: string): unknown;
  open(file: string, flags: string): number | Promise<number>;
  fstat(fd: number): fs.Stats | Promise<fs.Stats>;
  read(fd: number, buffer: Buffer, offset: number, length: number, position: number): number | Promise<number>;
  write(fd: number, bytes: Uint8Array, offset: number, length: number, position: number): number | Promise<number>;
  close(fd: number): void | Promise<void>;
  rename(from: string, to: string): void | Promise<void>;
}

const readAsync = promisify(fs.read);
const writeAsync = promisify(fs.write);

const syncOps: SmallFileOps = {
  mkdir: (directory) => fs.mkdirSync(directory, { recursive: true }),
  open: (file, flags) => fs.openSync(file, flags),
  fstat: (fd) => fs.fstatSync(fd),
  read: (fd, buffer, offset, length, position) => fs.readSync(fd, buffer, offset, length, position),
  write: (fd, bytes, offset, length, position) => fs.writeSync(fd, bytes, offset, length, position),
  close: (fd) => fs.closeSync(fd),
  rename: (from, to) => fs.renameSync(from, to),
};

const asyncOps: SmallFileOps = {
  mkdir: (directory) => fs.promises.mkdir(directory, { recursive: true }),
  open: promisify(fs.open) as (file: string, flags: string) => Promise<number>,
  fstat: promisify(fs.fstat) as (fd: number) => Promise<fs.Stats>,
  read: async (fd, buffer, offset, length, position) => (await readAsync(fd, buffer, offset, length, position)).bytesRead,
  write: async (fd, bytes, offset, length, position) => (await writeAsync(fd, bytes, offset, length, position)).bytesWritten,
  close: promisify(fs.close),
  rename: fs.promises.rename,
};

export function smallFileOps(io: SmallFileIo): SmallFileOps {
  return io === 'sync' ? syncOps : asyncOps;
}

/** fdatasync of a raw descriptor, on the thread pool (it waits for the device). */
export const fdatasync: (fd: number) => Promise<void> = promisify(fs.fdatasync);
