import { noProgressDeadline } from '../src/command-deadline';
import { ServiceUnavailableError } from '../src/services';

// The CLI's bound on a command ends it once nothing moved for the budget, not after a fixed time.
// Fake timers: only the clock is faked.
describe('noProgressDeadline', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  async function settled(promise: Promise<never>): Promise<Error | 'pending'> {
    let outcome: Error | 'pending' = 'pending';
    promise.catch((error: Error) => (outcome = error));
    await Promise.resolve();
    await Promise.resolve();
    return outcome;
  }

  it('ends a command that takes no step once the budget has passed', async () => {
    const deadline = noProgressDeadline(3_000, '`meridian flags list`');
    jest.advanceTimersByTime(2_999);
    expect(await settled(deadline.expired)).toBe('pending');
    jest.advanceTimersByTime(1);
    const error = await settled(deadline.expired);
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect((error as Error).message).toBe('`meridian flags list` did not finish within 3 s: a database answers too slowly (CLI_TIMEOUT_MS)');
  });

  it('lets work that keeps making progress run far past the budget, and ends it once it stalls', async () => {
    const deadline = noProgressDeadline(3_000, '`meridian claims verify all`');
    for (let step = 0; step < 100; step += 1) {
      jest.advanceTimersByTime(2_500); // 250 s in all, each step inside the budget
      deadline.progress();
    }
    expect(await settled(deadline.expired)).toBe('pending');
    jest.advanceTimersByTime(3_000);
    expect(((await settled(deadline.expired)) as Error).message).toBe(
      '`meridian claims verify all` made no progress for 3 s: a database answers too slowly (CLI_TIMEOUT_MS)',
    );
  });

  it('never expires without a budget, and not after stop', async () => {
    const unbounded = noProgressDeadline(undefined, '`meridian geo status --watch`');
    jest.advanceTimersByTime(24 * 3_600_000);
    expect(await settled(unbounded.expired)).toBe('pending');
    const stopped = noProgressDeadline(1_000, '`meridian status`');
    stopped.stop();
    jest.advanceTimersByTime(10_000);
    expect(await settled(stopped.expired)).toBe('pending');
  });
});
