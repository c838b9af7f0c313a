import fs from 'node:fs';
import path from 'node:path';
import { UnsafePathError } from './errors';
import { isTemporaryName } from './temporary-files';

/** Is `candidate` strictly below `root`? Both absolute and normalized. */
function isBelow(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
}

function entryExists(file: string): boolean {
  try {
    return fs.lstatSync(file, { throwIfNoEntry: false }) !== undefined;
  } catch (error) {
    // ENOTDIR: a parent is a regular file; keep walking up to it.
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return false;
    throw error;
  }
}

/**
 * Maps a blob path (as stored in a database row, so attacker-influenced) to an absolute path
 * strictly inside `root`. Lexical checks first, then the filesystem: the nearest existing entry on
 * the way (the path itself or an ancestor) must really live inside `realRoot`, so a symlink planted
 * under the root cannot lead reads or writes elsewhere.
 */
export function resolveInside(root: string, realRoot: string, relativePath: string): string {
  const refuse = (reason: string): never => {
    throw new UnsafePathError(relativePath, reason);
  };
  if (typeof relativePath !== 'string' || relativePath === '') refuse('empty');
  if (relativePath.includes('\0')) refuse('contains a NUL byte');
  // Backslashes are separators on Windows and never part of a blob path we generate.
  if (relativePath.includes('\\')) refuse('contains a backslash');
  if (path.posix.isAbsolute(relativePath)) refuse('absolute');

  const absolute = path.resolve(root, relativePath);
  if (absolute === root) refuse('resolves to the storage root');
  if (!isBelow(root, absolute)) refuse('escapes the storage root');
  // The sweeper deletes these; a blob with such a name would vanish.
  if (isTemporaryName(path.basename(absolute))) refuse('uses the temporary-file prefix');

  let existing = absolute;
  for (;;) {
    if (entryExists(existing)) break;
    const parent = path.dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  let real: string;
  try {
    real = fs.realpathSync.native(existing);
  } catch {
    // lstat saw it but realpath cannot follow it: a dangling symlink, whose target we cannot judge.
    return refuse('goes through a dangling symlink');
  }
  const inside = existing === absolute ? isBelow(realRoot, real) : real === realRoot || isBelow(realRoot, real);
  if (!inside) refuse('a symlink leads outside the storage root');
  return absolute;
}
