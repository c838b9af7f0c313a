import type { CliIo } from '../src';

/** A CliIo that records what a command writes (in-process CLI tests). */
export function captureIo(env: Record<string, string | undefined> = {}): CliIo & { stdout: () => string; stderr: () => string } {
  let out = '';
  let err = '';
  return { env, isTty: false, out: (t) => void (out += t), err: (t) => void (err += t), stdout: () => out, stderr: () => err };
}
