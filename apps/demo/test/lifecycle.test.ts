import { spawn } from 'node:child_process';
import { repoRoot, spawnTs, uniqueName, waitFor, type SpawnedTs } from '@meridian/testing';
import { alive, commandLine, descendants } from './process-tree';

// Every way of stopping the top process stops every demo process; a demo whose parent dies stops
// itself; a demo process that exits is restarted with backoff, and the demo says so.
const name = uniqueName('dl').toLowerCase();
const env = { MERIDIAN_DEMO_NAME: name, MERIDIAN_DEMO_PORTS: 'auto', LOG_LEVEL: 'warn' };

function npmDemo(): SpawnedTs {
  const child = spawn('npm', ['run', 'demo', '--', '--no-seed'], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, output: () => output, exited };
}

async function up(demo: SpawnedTs): Promise<number[]> {
  await waitFor(() => demo.output().includes('Press Ctrl-C') || demo.child.exitCode !== null, { timeoutMs: 200_000, message: 'demo up' });
  expect(demo.output()).toContain('Meridian demo is up');
  const tree = descendants(demo.child.pid!);
  // bootstrap, demo main, and its eight supervised processes at least
  expect(tree.filter((pid) => commandLine(pid).includes('watch-parent.cjs')).length).toBe(8);
  return tree;
}

async function allGone(tree: number[]): Promise<void> {
  await waitFor(() => tree.every((pid) => !alive(pid)), {
    timeoutMs: 40_000,
    message: `every demo process to stop (left: ${tree.filter(alive).map(commandLine).join('; ')})`,
  });
}

afterAll(async () => {
  const reset = spawnTs('apps/demo/src/main.ts', env, ['--reset']);
  expect(await reset.exited).toBe(0);
}, 60_000);

describe('stopping the demo', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('kill -%s of the npm process stops every demo process', async (signal) => {
    const demo = npmDemo();
    const tree = await up(demo);
    demo.child.kill(signal);
    await demo.exited;
    await allGone(tree);
    expect(demo.output()).toContain('stopped.');
  }, 300_000);

  it("stops itself when its parent dies without passing a signal on (kill -9 of the bootstrap process)", async () => {
    const demo = npmDemo();
    const tree = await up(demo);
    const bootstrap = tree.find((pid) => commandLine(pid).includes('scripts/demo.mjs') && !commandLine(pid).startsWith('sh'))!;
    process.kill(bootstrap, 'SIGKILL');
    await allGone(tree);
  }, 300_000);

  it('every supervised process stops when the demo itself is killed with SIGKILL', async () => {
    const demo = spawnTs('apps/demo/src/main.ts', env, ['--no-seed']);
    const tree = await up(demo);
    demo.child.kill('SIGKILL');
    await allGone(tree);
  }, 300_000);
});

describe('supervision', () => {
  it('restarts a process that exits, with backoff, and says so', async () => {
    const demo = spawnTs('apps/demo/src/main.ts', env, ['--no-seed']);
    const tree = await up(demo);
    const worker = tree.find((pid) => commandLine(pid).includes('apps/worker/src/main.ts'))!;
    process.kill(worker, 'SIGKILL');
    await waitFor(() => /↻ (primary|secondary)-worker(-\d)? exited \(SIGKILL\); restarting in 1 s \(restart 1\)/.test(demo.output()), { timeoutMs: 20_000, message: 'restart notice' });
    await waitFor(() => descendants(demo.child.pid!).some((pid) => !tree.includes(pid) && commandLine(pid).includes('apps/worker/src/main.ts')), {
      timeoutMs: 30_000,
      message: 'a new worker process',
    });
    expect(demo.child.exitCode).toBeNull();
    const now = descendants(demo.child.pid!);
    demo.child.kill('SIGTERM');
    expect(await demo.exited).toBe(0);
    await allGone(now);
  }, 300_000);
});
