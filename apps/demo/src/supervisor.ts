import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import path from 'node:path';
import type { DemoProcess } from './demo-processes';

export interface Supervised {
  spec: DemoProcess;
  child: ChildProcess;
  logFile: string;
  /** last lines of output, shown when the process dies */
  tail(): string[];
  exited: Promise<number | string>;
}

export interface Supervisor {
  processes: Supervised[];
  /** SIGTERM everything, wait up to `timeoutMs`, then SIGKILL what is left */
  stopAll(timeoutMs: number): Promise<void>;
}

/** Starts each process with tsx, its output in `<logDir>/<name>.log`, and reports unexpected exits. */
export function startProcesses(
  specs: readonly DemoProcess[],
  options: { root: string; logDir: string; onExit: (process: Supervised, code: number | string) => void },
): Supervisor {
  mkdirSync(options.logDir, { recursive: true });
  let stopping = false;
  const processes = specs.map((spec): Supervised => {
    const logFile = path.join(options.logDir, `${spec.name}.log`);
    const log: WriteStream = createWriteStream(logFile, { flags: 'a' });
    const child = spawn(process.execPath, ['--import', 'tsx', spec.entry], {
      cwd: options.root,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: false,
    });
    const lines: string[] = [];
    const collect = (chunk: Buffer) => {
      log.write(chunk);
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      if (lines.length > 20) lines.splice(0, lines.length - 20);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const supervised: Supervised = {
      spec,
      child,
      logFile,
      tail: () => [...lines],
      exited: new Promise((resolve) => {
        child.on('exit', (code, signal) => {
          log.end();
          const result = code ?? signal ?? -1;
          if (!stopping) options.onExit(supervised, result);
          resolve(result);
        });
      }),
    };
    return supervised;
  });
  return {
    processes,
    async stopAll(timeoutMs) {
      stopping = true;
      for (const p of processes) if (p.child.exitCode === null) p.child.kill('SIGTERM');
      const all = Promise.all(processes.map((p) => p.exited));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      if ((await Promise.race([all, timeout])) === 'timeout') {
        for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
        await all;
      }
      clearTimeout(timer);
    },
  };
}

/** Polls `url` until it answers 200, the process exits, or the deadline passes. */
export async function waitUntilReady(process: Supervised, timeoutMs: number): Promise<void> {
  const url = process.spec.readyUrl;
  if (!url) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (process.child.exitCode !== null) throw new Error(`${process.spec.name} exited before it was ready`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${process.spec.name} not ready at ${url} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
