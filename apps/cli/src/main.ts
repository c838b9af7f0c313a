#!/usr/bin/env node
import { processIo } from './io';
import { runCli } from './program';

runCli(process.argv.slice(2), processIo).then(
  // exit at once: a connection to a host that never answers would otherwise keep the process alive
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`meridian: ${String(error)}\n`);
    process.exit(1);
  },
);
