// Fails when packages/proto/src/gen is not what `buf generate` makes from proto/ today, so a proto
// edit without a regenerate (or a hand edit of generated code) cannot slip through CI.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const committed = path.join(root, 'packages/proto/src/gen');
const scratch = mkdtempSync(path.join(tmpdir(), 'meridian-proto-'));

function listFiles(dir, prefix = '') {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const full = path.join(dir, name);
    const rel = path.join(prefix, name);
    return statSync(full).isDirectory() ? listFiles(full, rel) : [rel];
  });
}

try {
  // --output prefixes the template's out dir, so the fresh copy lands in <scratch>/packages/proto/src/gen
  execFileSync(path.join(root, 'node_modules/.bin/buf'), ['generate', '--output', scratch], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const fresh = path.join(scratch, 'packages/proto/src/gen');
  const expected = listFiles(fresh).sort();
  const actual = listFiles(committed).sort();
  const problems = [];
  for (const file of expected) {
    if (!actual.includes(file)) problems.push(`missing: ${file}`);
    else if (!readFileSync(path.join(fresh, file)).equals(readFileSync(path.join(committed, file)))) {
      problems.push(`differs: ${file}`);
    }
  }
  for (const file of actual) if (!expected.includes(file)) problems.push(`not generated from proto/: ${file}`);
  if (problems.length > 0) {
    console.error(
      `packages/proto/src/gen is stale (${problems.length} file(s)):\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nrun `npm run generate -w @meridian/proto` and commit the result',
    );
    process.exitCode = 1;
  } else {
    console.log(`packages/proto/src/gen is up to date (${expected.length} files)`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
