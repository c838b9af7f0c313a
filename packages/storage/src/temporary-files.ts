import { randomBytes } from 'node:crypto';

/**
 * Every in-flight write goes to a file with this prefix next to its destination, so the final
 * path only ever holds complete blobs and a sweeper can find what a crash left behind.
 */
export const TEMPORARY_PREFIX = '.tmp-';

export function temporaryName(): string {
  return `${TEMPORARY_PREFIX}${process.pid}-${randomBytes(8).toString('hex')}`;
}

export function isTemporaryName(name: string): boolean {
  return name.startsWith(TEMPORARY_PREFIX);
}
