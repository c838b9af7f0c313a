import { ConfigError } from '@meridian/config';
import { MigrationHistoryError, NotMigratedError } from '@meridian/db';
import { RedisPolicyError } from '@meridian/queue';

// Start-up refusals an operator must fix: print the message alone, not a stack trace.
const EXPECTED = [ConfigError, NotMigratedError, MigrationHistoryError, RedisPolicyError];

/** Runs an app's async main; a start-up failure prints `<app>: <message>` and exits 1. */
export function runMain(app: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    const expected = EXPECTED.some((kind) => error instanceof kind);
    const text = expected || !(error instanceof Error) ? String((error as Error).message ?? error) : (error.stack ?? error.message);
    process.stderr.write(`${app}: cannot start: ${text}\n`);
    process.exit(1);
  });
}
