import pino, { type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

export interface LoggerFactoryOptions {
  /** the process or component name, e.g. `worker` */
  name: string;
  level?: LoggerOptions['level'];
  /** extra bindings on every line, e.g. `{ site: 'primary' }` */
  base?: Record<string, unknown>;
  /** defaults to stdout; tests pass a stream to read lines back */
  destination?: pino.DestinationStream;
}

// Secrets must never reach a log line, wherever they hide in an object we log.
export const REDACT_PATHS = [
  'token',
  'password',
  'secret',
  'authorization',
  '*.token',
  '*.password',
  '*.secret',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'config.GEO_SHARED_SECRET',
  'config.ADMIN_TOKEN',
  'config.VIEWER_TOKEN',
];

/** JSON lines to stdout: constant messages plus attributes (job ids, queue, site). */
export function createLogger(options: LoggerFactoryOptions): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      base: { pid: process.pid, ...options.base },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ sync: false }),
  );
}

/** A logger that drops everything (tests and benches). */
export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
