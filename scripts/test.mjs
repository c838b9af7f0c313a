import { run } from './bootstrap.mjs';
run('scripts/run-tests.ts', process.argv.slice(2));
