import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../src';

const packages = ['apps', 'packages', 'packages/replicators'].flatMap((parent) =>
  readdirSync(path.join(repoRoot, parent))
    .map((name) => path.join(repoRoot, parent, name))
    .filter((dir) => existsSync(path.join(dir, 'package.json'))),
);

// Lint covers tests and benches too: each package lints its whole directory (eslint.config.mjs
// ignores dist/, generated code and node_modules), and its tsconfig includes test/ and bench/ so
// the type-aware rules (floating promises) see them.
describe('repository conventions', () => {
  it.each(packages.map((dir) => [path.relative(repoRoot, dir), dir]))('%s lints src, test and bench', (_name, dir) => {
    const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
    expect(manifest.scripts?.lint).toBe('eslint .');
    const tsconfig = JSON.parse(readFileSync(path.join(dir, 'tsconfig.json'), 'utf8')) as { include?: string[] };
    for (const sub of ['src', 'test', 'bench']) {
      if (existsSync(path.join(dir, sub))) expect(tsconfig.include).toContain(sub);
    }
  });
});
