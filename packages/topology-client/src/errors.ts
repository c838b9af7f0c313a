import { Code, ConnectError } from '@connectrpc/connect';
import { BucketSchema } from '@meridian/proto';

// What a cell needs to tell apart: a value someone else owns (show "has already been taken"),
// a lease problem, a refusal, bad input, and "the service is not answering" (retryable later,
// handled by lease recovery). Every error keeps the Connect code and the original cause.

export interface ConflictingClaim {
  /** Bucket.Type number, e.g. 4 for USERNAMES */
  type: number;
  value: string;
}

export class TopologyError extends Error {
  override readonly name: string = 'TopologyError';
  constructor(
    message: string,
    readonly code: Code | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** ALREADY_EXISTS: at least one created value is owned (or being created) by another claim. */
export class AlreadyClaimedError extends TopologyError {
  override readonly name = 'AlreadyClaimedError';
  constructor(
    message: string,
    readonly conflicts: ConflictingClaim[],
    options?: { cause?: unknown },
  ) {
    super(message, Code.AlreadyExists, options);
  }
}

/** NOT_FOUND for a lease or a record. */
export class NotFoundError extends TopologyError {
  override readonly name = 'NotFoundError';
}

/** FAILED_PRECONDITION: destroying what the cell does not own or what is leased; lease already ended. */
export class PreconditionFailedError extends TopologyError {
  override readonly name = 'PreconditionFailedError';
}

/** UNAUTHENTICATED or PERMISSION_DENIED: wrong credential or acting for another cell. */
export class PermissionDeniedError extends TopologyError {
  override readonly name = 'PermissionDeniedError';
}

/** INVALID_ARGUMENT: the request itself is wrong; retrying cannot help. */
export class InvalidRequestError extends TopologyError {
  override readonly name = 'InvalidRequestError';
}

/** DEADLINE_EXCEEDED / UNAVAILABLE / INTERNAL after the last try. */
export class TopologyUnavailableError extends TopologyError {
  override readonly name = 'TopologyUnavailableError';
}

/** The circuit breaker is open: the call was not sent. */
export class CircuitOpenError extends TopologyError {
  override readonly name = 'CircuitOpenError';
  constructor(readonly retryAfterMs: number) {
    super(`topology service circuit is open; not calling for another ${retryAfterMs} ms`, Code.Unavailable);
  }
}

/** Too many calls in flight from this process: the call was not sent. */
export class ConcurrencyLimitError extends TopologyError {
  override readonly name = 'ConcurrencyLimitError';
  constructor(readonly limit: number) {
    super(`more than ${limit} topology service calls in flight`, Code.ResourceExhausted);
  }
}

export function fromConnectError(error: unknown): TopologyError {
  if (error instanceof TopologyError) return error;
  const e = ConnectError.from(error);
  const options = { cause: error };
  switch (e.code) {
    case Code.AlreadyExists:
      return new AlreadyClaimedError(
        e.rawMessage,
        e.findDetails(BucketSchema).map((b) => ({ type: b.type, value: b.value })),
        options,
      );
    case Code.NotFound:
      return new NotFoundError(e.rawMessage, e.code, options);
    case Code.FailedPrecondition:
      return new PreconditionFailedError(e.rawMessage, e.code, options);
    case Code.PermissionDenied:
    case Code.Unauthenticated:
      return new PermissionDeniedError(e.rawMessage, e.code, options);
    case Code.InvalidArgument:
      return new InvalidRequestError(e.rawMessage, e.code, options);
    default:
      return new TopologyUnavailableError(e.rawMessage, e.code, options);
  }
}
