import { Code, ConnectError } from '@connectrpc/connect';
import { BucketSchema } from '@meridian/proto';
import { describeKey, type ClaimKey } from '@meridian/claims/rules';

// Domain errors of the claims store. Handlers turn them into ConnectErrors with toConnectError;
// the repository never imports Connect.

/** Bad input; the message says which field and why. */
export class ValidationError extends Error {
  override readonly name = 'ValidationError';
}

/** Some created values are owned (or being created) by someone else. */
export class ClaimConflictError extends Error {
  override readonly name = 'ClaimConflictError';
  constructor(readonly conflicts: ClaimKey[]) {
    super(`claim conflict ${conflicts.map(describeKey).join(',')}`);
  }
}

/** Destroys the calling cell may not make: not its claim, missing, or leased by another update. */
export class DestroyRejectedError extends Error {
  override readonly name = 'DestroyRejectedError';
  constructor(readonly problems: { key: ClaimKey; reason: 'missing' | 'other_cell' | 'leased' }[]) {
    super(
      `cannot destroy ${problems
        .map((p) => `${describeKey(p.key)} (${p.reason === 'missing' ? 'not claimed' : p.reason === 'other_cell' ? 'owned by another cell' : 'held by another lease'})`)
        .join(',')}`,
    );
  }
}

export class LeaseNotFoundError extends Error {
  override readonly name = 'LeaseNotFoundError';
  constructor(readonly leaseUuid: string) {
    super(`lease ${leaseUuid} does not exist`);
  }
}

export class LeaseOwnershipError extends Error {
  override readonly name = 'LeaseOwnershipError';
  constructor(readonly leaseUuid: string, cellId: bigint) {
    super(`lease ${leaseUuid} does not belong to cell ${cellId}`);
  }
}

/** Commit after Rollback (or the reverse): the lease already ended the other way. */
export class LeaseFinishedError extends Error {
  override readonly name = 'LeaseFinishedError';
  constructor(readonly leaseUuid: string, readonly state: string) {
    super(`lease ${leaseUuid} is already ${state === 'committed' ? 'committed' : 'rolled back'}`);
  }
}

export class RecordNotFoundError extends Error {
  override readonly name = 'RecordNotFoundError';
}

/** Maps domain errors to codes; anything else is rethrown untouched for the interceptor. */
export function toConnectError(error: unknown): unknown {
  if (error instanceof ConnectError) return error;
  if (error instanceof ValidationError) return new ConnectError(error.message, Code.InvalidArgument);
  if (error instanceof ClaimConflictError) {
    // the conflicting claims travel as Bucket details too, so clients need not parse the message
    const details = error.conflicts.map((k) => ({ desc: BucketSchema, value: { type: k.type, value: k.value } }));
    return new ConnectError(error.message, Code.AlreadyExists, undefined, details);
  }
  if (error instanceof DestroyRejectedError) return new ConnectError(error.message, Code.FailedPrecondition);
  if (error instanceof LeaseNotFoundError) return new ConnectError(error.message, Code.NotFound);
  if (error instanceof LeaseOwnershipError) return new ConnectError(error.message, Code.PermissionDenied);
  if (error instanceof LeaseFinishedError) return new ConnectError(error.message, Code.FailedPrecondition);
  if (error instanceof RecordNotFoundError) return new ConnectError(error.message, Code.NotFound);
  return error;
}
