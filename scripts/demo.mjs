import { run } from './bootstrap.mjs';
run('apps/demo/src/main.ts', process.argv.slice(2));
