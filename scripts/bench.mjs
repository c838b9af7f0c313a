import { run } from './bootstrap.mjs';
run('scripts/run-bench.ts', process.argv.slice(2));
