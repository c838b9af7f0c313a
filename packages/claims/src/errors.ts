import { describeKey, type ClaimKey } from './claim-key';

/** One value another cell (or another lease) already holds, named as the model sees it. */
export interface TakenValue {
  model: string;
  attribute: string;
  value: string;
  /** "username has already been taken" */
  message: string;
}

/**
 * A validation error: the write was rolled back because a claimed value is taken. `errors` has
 * one entry per value, in the form an API returns to its caller.
 */
export class ClaimTakenError extends Error {
  override readonly name = 'ClaimTakenError';
  constructor(
    readonly errors: TakenValue[],
    readonly conflicts: ClaimKey[],
    options?: { cause?: unknown },
  ) {
    super(errors.length > 0 ? errors.map((e) => e.message).join('; ') : `claim conflict ${conflicts.map(describeKey).join(',')}`, options);
  }
}

/**
 * The Topology Service could not take the claims (unavailable, deadline, breaker open, refused):
 * the write was rolled back; retrying later may succeed.
 */
export class ClaimsUnavailableError extends Error {
  override readonly name = 'ClaimsUnavailableError';
}
