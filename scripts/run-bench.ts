// `npm run bench`: servers (found or started), then every package's bench script, one at a time
// so figures do not steal each other's cores.
import path from 'node:path';
import { root, runWithServices } from './with-services';

runWithServices('bench', path.join(root, 'node_modules', '.bin', 'turbo'), ['run', 'bench', '--concurrency=1', '--output-logs=full', ...process.argv.slice(2)]).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${String(error)}\n`);
    process.exit(1);
  },
);
