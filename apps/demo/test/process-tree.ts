import { readdirSync, readFileSync } from 'node:fs';

/** Every live descendant of `pid` (from /proc, so it sees grandchildren in other process groups). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const task of tasks) {
    let children = '';
    try {
      children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const child of children.split(' ').filter(Boolean).map(Number)) out.push(child, ...descendants(child));
  }
  return [...new Set(out)];
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // a zombie is dead for our purposes
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** Command line of a process, for assertions and messages. */
export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}
