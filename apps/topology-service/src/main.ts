import { runService } from './run-service';

runService().catch((error: unknown) => {
  // Configuration and migration problems are for an operator: print the message, not a stack.
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`topology-service: ${message}\n`);
  process.exitCode = 1;
});
