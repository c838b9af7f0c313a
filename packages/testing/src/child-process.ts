import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';

export const repoRoot = path.resolve(__dirname, '../../..');

export interface SpawnedTs {
  child: ChildProcess;
  /** everything written to stdout and stderr so far */
  output(): string;
  /** resolves with the exit code (or signal name) */
  exited: Promise<number | string>;
}

/** Runs a TypeScript entry point in its own Node process, through tsx (tests, the demo). */
export function spawnTs(entry: string, env: Record<string, string>, args: string[] = []): SpawnedTs {
  return spawnNode(['--import', 'tsx', entry, ...args], env);
}

/** Runs `node <argv>` from the repository root, e.g. an app's esbuild bundle (what the image runs). */
export function spawnNode(argv: string[], env: Record<string, string>): SpawnedTs {
  const child = spawn(process.execPath, argv, {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => {
    child.on('exit', (code, signal) => resolve(code ?? signal ?? -1));
  });
  return { child, output: () => output, exited };
}
