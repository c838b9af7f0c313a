export type TransferAuthReason = 'missing' | 'malformed' | 'bad_signature' | 'expired' | 'wrong_subject' | 'alg' | 'lifetime';

/** A transfer token was refused. `reason` is safe to return to the caller; the token never is. */
export class TransferAuthError extends Error {
  override readonly name = 'TransferAuthError';
  constructor(
    readonly reason: TransferAuthReason,
    message: string,
  ) {
    super(message);
  }
}

/** The shared secret is too short to sign or verify with: a configuration error, not a 401. */
export class WeakTransferSecretError extends Error {
  override readonly name = 'WeakTransferSecretError';
  constructor(minimum: number) {
    super(`the geo transfer secret must be at least ${minimum} characters (GEO_SHARED_SECRET)`);
  }
}

/** The primary has the model row but not its blob: the registry fails with the long backoff cap. */
export class FileMissingOnPrimaryError extends Error {
  override readonly name = 'FileMissingOnPrimaryError';
  constructor(
    readonly replicable: string,
    readonly id: bigint,
  ) {
    super(`the file of ${replicable} #${id} is missing on the primary site`);
  }
}

/** The primary has no such model row (deleted since the registry was created, usually). */
export class RemoteNotFoundError extends Error {
  override readonly name = 'RemoteNotFoundError';
  constructor(
    readonly replicable: string,
    readonly id: bigint,
  ) {
    super(`${replicable} #${id} does not exist on the primary site`);
  }
}

/** Any other non-200 answer from the primary. */
export class TransferHttpError extends Error {
  override readonly name = 'TransferHttpError';
  constructor(
    readonly status: number,
    /** the machine-readable `code` of a JSON error body, when there was one */
    readonly code: string | undefined,
    /** the start of the response body, for logs */
    readonly bodyExcerpt: string,
    readonly url: string,
  ) {
    super(`primary answered HTTP ${status}${code === undefined ? '' : ` (${code})`} for ${url}`);
  }
}

/** No bytes (or no response) arrived within the inactivity timeout, or the overall deadline passed. */
export class TransferTimeoutError extends Error {
  override readonly name = 'TransferTimeoutError';
  constructor(
    readonly kind: 'inactivity' | 'overall',
    readonly timeoutMs: number,
  ) {
    super(`geo transfer ${kind === 'inactivity' ? 'received nothing for' : 'took longer than'} ${timeoutMs} ms`);
  }
}
