import { SingleBar, Presets } from 'cli-progress';
import { BulkOperationState, type BulkOperation } from '@meridian/proto';

export interface BulkWatchOptions {
  operation: BulkOperation;
  /** the operation as the site API reports it now */
  poll: () => Promise<BulkOperation>;
  /** stop waiting (resolve with the still-running operation) after this long */
  timeoutMs: number;
  intervalMs?: number;
  /** a progress bar on a terminal; one line per change otherwise */
  tty: boolean;
  write: (text: string) => void;
}

const line = (op: BulkOperation) => `bulk operation ${op.id}: ${op.progressPercent.toFixed(1)} % of ids up to ${op.maxId}, ${op.examined} examined, ${op.updated} updated`;

/** Polls a bulk operation until it is no longer running (or the timeout); returns its last state. */
export async function watchBulkOperation(options: BulkWatchOptions): Promise<BulkOperation> {
  const deadline = Date.now() + options.timeoutMs;
  const bar = options.tty
    ? new SingleBar({ format: ' {bar} {percentage} % | {examined} examined, {updated} updated', hideCursor: true, clearOnComplete: false }, Presets.shades_classic)
    : undefined;
  let op = options.operation;
  let last = '';
  bar?.start(100, 0, { examined: '0', updated: '0' });
  try {
    for (;;) {
      if (bar) bar.update(Math.floor(op.progressPercent), { examined: op.examined.toString(), updated: op.updated.toString() });
      else {
        const text = line(op);
        if (text !== last) options.write(`${text}\n`);
        last = text;
      }
      if (op.state !== BulkOperationState.RUNNING || Date.now() > deadline) return op;
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 500));
      op = await options.poll();
    }
  } finally {
    bar?.stop();
  }
}
