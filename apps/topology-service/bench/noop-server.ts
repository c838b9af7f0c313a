import { randomUUID } from 'node:crypto';
import { runService } from '../src/run-service';

// The Topology Service process with BeginUpdate/CommitUpdate/RollbackUpdate storing nothing:
// the same listener, Connect handlers, auth, validation, logging and metrics, no SQL. The
// benchmark's RPC ceiling. Bundled next to dist/main.js by `npm run bench`.

runService({
  updates: {
    begin: () => Promise.resolve(randomUUID()),
    commit: () => Promise.resolve(),
    rollback: () => Promise.resolve(),
  },
}).catch((error: unknown) => {
  process.stderr.write(`noop-server: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
