import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { DemoProcess } from './demo-processes';

export interface Supervised {
  spec: DemoProcess;
  /** the current incarnation (a restart replaces it) */
  readonly child: ChildProcess;
  logFile: string;
  /** how often this process was restarted */
  readonly restarts: number;
  /** last lines of output, shown when the process dies */
  tail(): string[];
}

export interface RestartPolicy {
  /** first delay; doubles per consecutive quick failure */
  initialDelayMs: number;
  maxDelayMs: number;
  /** a run this long resets the backoff */
  stableAfterMs: number;
  /** consecutive quick failures after which the supervisor gives up */
  maxQuickFailures: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 1_000, maxDelayMs: 30_000, stableAfterMs: 60_000, maxQuickFailures: 5 };

export interface SupervisorOptions {
  root: string;
  logDir: string;
  policy?: RestartPolicy;
  /** a process exited and will be started again after `delayMs` */
  onRestart: (process: Supervised, code: number | string, delayMs: number) => void;
  /** a process kept failing at start: the supervisor gave up on it */
  onGiveUp: (process: Supervised, code: number | string) => void;
}

export interface Supervisor {
  processes: Supervised[];
  /** SIGTERM everything, wait up to `timeoutMs`, then SIGKILL what is left */
  stopAll(timeoutMs: number): Promise<void>;
}

const watchParent = path.join(__dirname, 'watch-parent.cjs');

/**
 * Starts each process with tsx, its output in `<logDir>/<name>.log`, and restarts a process that
 * exits with exponential backoff. Each child runs in its own process group (so a terminal's Ctrl-C
 * reaches only the supervisor, which stops them in order) and holds an IPC channel to the
 * supervisor: if the supervisor dies, every child sees the channel close and stops itself.
 */
export function startProcesses(specs: readonly DemoProcess[], options: SupervisorOptions): Supervisor {
  mkdirSync(options.logDir, { recursive: true });
  const policy = options.policy ?? DEFAULT_RESTART_POLICY;
  let stopping = false;
  const timers = new Set<NodeJS.Timeout>();

  const processes = specs.map((spec): Supervised => {
    const logFile = path.join(options.logDir, `${spec.name}.log`);
    const log = createWriteStream(logFile, { flags: 'a' });
    const lines: string[] = [];
    let child: ChildProcess;
    let restarts = 0;
    let quickFailures = 0;
    const collect = (chunk: Buffer) => {
      log.write(chunk);
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      if (lines.length > 20) lines.splice(0, lines.length - 20);
    };
    const launch = (): void => {
      const startedAt = Date.now();
      child = spawn(process.execPath, ['--require', watchParent, '--import', 'tsx', spec.entry], {
        cwd: options.root,
        env: { ...process.env, ...spec.env },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        detached: true,
      });
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
      child.on('error', (error) => collect(Buffer.from(`spawn failed: ${error.message}\n`)));
      child.on('exit', (code, signal) => {
        if (stopping) return;
        const result = code ?? signal ?? -1;
        quickFailures = Date.now() - startedAt >= policy.stableAfterMs ? 1 : quickFailures + 1;
        if (quickFailures > policy.maxQuickFailures) {
          options.onGiveUp(supervised, result);
          return;
        }
        const delayMs = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (quickFailures - 1));
        options.onRestart(supervised, result, delayMs);
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (stopping) return;
          restarts += 1;
          collect(Buffer.from(`--- demo supervisor: restart ${restarts} after exit ${result} ---\n`));
          launch();
        }, delayMs);
        timers.add(timer);
      });
    };
    const supervised: Supervised = {
      spec,
      get child() {
        return child;
      },
      logFile,
      get restarts() {
        return restarts;
      },
      tail: () => [...lines],
    };
    launch();
    return supervised;
  });

  const exited = (child: ChildProcess): Promise<void> =>
    child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));

  return {
    processes,
    async stopAll(timeoutMs) {
      stopping = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const children = processes.map((p) => p.child);
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const all = Promise.all(children.map(exited));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      });
      if ((await Promise.race([all, timeout])) === 'timeout') {
        for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        await all;
      }
      clearTimeout(timer);
    },
  };
}

/** Polls `url` until it answers 200 or the deadline passes (a process restarting meanwhile is fine). */
export async function waitUntilReady(process: Supervised, timeoutMs: number, gaveUp: () => boolean): Promise<void> {
  const url = process.spec.readyUrl;
  if (!url) return;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (gaveUp()) throw new Error(`${process.spec.name} keeps exiting at start`);
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
