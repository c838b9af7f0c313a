import { formatSeconds, ServiceUnavailableError } from './services';

// The CLI's bound on a command: it ends the command once it stops making progress, not after a
// fixed time, so long work that keeps moving (a claims verification of millions of rows) runs on.

export interface NoProgressDeadline {
  /** rejects with ServiceUnavailableError when the budget passes without progress */
  expired: Promise<never>;
  /** a step was done: the budget starts again */
  progress: () => void;
  stop: () => void;
}

/**
 * Rejects `expired` once `budgetMs` pass without a call to `progress` (never when undefined).
 * The message says how long nothing moved, and that a database answering too slowly is the usual cause.
 */
export function noProgressDeadline(budgetMs: number | undefined, command: string): NoProgressDeadline {
  let timer: NodeJS.Timeout | undefined;
  let progressed = false;
  let fail!: (error: Error) => void;
  const expired = new Promise<never>((_resolve, reject) => (fail = reject));
  expired.catch(() => undefined);
  const arm = () => {
    if (budgetMs === undefined) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      const what = progressed ? `made no progress for ${formatSeconds(budgetMs)}` : `did not finish within ${formatSeconds(budgetMs)}`;
      fail(new ServiceUnavailableError(`${command} ${what}: a database answers too slowly (CLI_TIMEOUT_MS)`));
    }, budgetMs);
  };
  arm();
  return {
    expired,
    progress: () => {
      progressed = true;
      arm();
    },
    stop: () => clearTimeout(timer),
  };
}
