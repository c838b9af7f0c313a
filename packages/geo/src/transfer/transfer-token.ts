import { randomUUID } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { TransferAuthError, WeakTransferSecretError, type TransferAuthReason } from './errors';

/** HS256 with a shorter key is brute-forceable offline from one captured token. */
export const MIN_TRANSFER_SECRET_LENGTH = 32;
/** upstream: tokens are valid for one minute */
export const DEFAULT_TRANSFER_TOKEN_TTL_SECONDS = 60;
/** the longest lifetime (exp − iat) a verifier accepts, before the clock-skew allowance */
export const MAX_TRANSFER_TOKEN_LIFETIME_SECONDS = 60;
export const DEFAULT_CLOCK_SKEW_SECONDS = 5;
// Far above any token we sign; bounds the work done on garbage.
const MAX_TOKEN_LENGTH = 4096;
// The one algorithm signed and accepted: honoring a token's `alg` is the classic JWT downgrade
// (`none`, or an RSA public key used as an HMAC secret).
const ALGORITHM = 'HS256';

export type TransferId = bigint | number | string;

export interface TransferTokenClaims {
  replicable: string;
  /** decimal string: model ids are bigints and JSON numbers lose precision past 2^53 */
  id: string;
  /** seconds since the epoch */
  iat: number;
  exp: number;
  jti: string;
}

export interface SignTransferTokenOptions {
  secret: string;
  replicable: string;
  id: TransferId;
  /** at most MAX_TRANSFER_TOKEN_LIFETIME_SECONDS: verifiers refuse longer-lived tokens */
  ttlSeconds?: number;
  /** milliseconds since the epoch; tests inject it */
  now?: number;
}

export interface VerifyTransferTokenOptions {
  secret: string;
  replicable: string;
  id: TransferId;
  now?: number;
  clockSkewSeconds?: number;
}

function keyOf(secret: string): Uint8Array {
  if (typeof secret !== 'string' || secret.length < MIN_TRANSFER_SECRET_LENGTH) {
    throw new WeakTransferSecretError(MIN_TRANSFER_SECRET_LENGTH);
  }
  return new TextEncoder().encode(secret);
}

/** Normalizes an id to its canonical decimal string; rejects anything but a positive integer. */
export function transferIdString(id: TransferId): string {
  if (typeof id === 'number' && !Number.isSafeInteger(id)) throw new TypeError(`transfer id ${id} is not a safe integer`);
  if (typeof id === 'string' && !/^[1-9][0-9]*$/.test(id)) throw new TypeError(`transfer id ${JSON.stringify(id)} is not a positive integer`);
  const value = BigInt(id);
  if (value <= 0n) throw new TypeError(`transfer id ${value} is not positive`);
  return value.toString();
}

/** An HS256 JWT (signed by `jose`) that lets its bearer fetch exactly one subject for `ttlSeconds`. */
export async function signTransferToken(options: SignTransferTokenOptions): Promise<string> {
  const key = keyOf(options.secret);
  const ttl = options.ttlSeconds ?? DEFAULT_TRANSFER_TOKEN_TTL_SECONDS;
  if (!(ttl > 0 && ttl <= MAX_TRANSFER_TOKEN_LIFETIME_SECONDS)) {
    throw new RangeError(`ttlSeconds must be in (0, ${MAX_TRANSFER_TOKEN_LIFETIME_SECONDS}], got ${ttl}`);
  }
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  return new SignJWT({ replicable: options.replicable, id: transferIdString(options.id) })
    .setProtectedHeader({ alg: ALGORITHM, typ: 'JWT' })
    .setIssuedAt(iat)
    .setExpirationTime(iat + Math.ceil(ttl))
    .setJti(randomUUID())
    .sign(key);
}

/** jose's error → our refusal reason (safe to tell the caller). */
function reasonFor(error: unknown): TransferAuthReason | undefined {
  if (error instanceof joseErrors.JWTExpired) return 'expired';
  if (error instanceof joseErrors.JWTClaimValidationFailed) return error.claim === 'iat' && error.reason === 'check_failed' ? 'expired' : 'malformed';
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return 'bad_signature';
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return 'alg';
  if (error instanceof joseErrors.JOSEError) return 'malformed';
  return undefined;
}

function isClaims(value: Record<string, unknown>): value is Record<string, unknown> & TransferTokenClaims {
  return (
    typeof value.replicable === 'string' &&
    typeof value.id === 'string' &&
    Number.isFinite(value.iat) &&
    Number.isFinite(value.exp) &&
    typeof value.jti === 'string'
  );
}

/**
 * Checks a token for one (replicable, id) and returns its claims, or throws TransferAuthError.
 * Verified by `jose` with the algorithm pinned to HS256; then the lifetime is capped: exp − iat
 * at most MAX_TRANSFER_TOKEN_LIFETIME_SECONDS + skew, iat not in the future beyond the skew (a
 * token signed with a far-off expiry is refused even though its signature is good).
 */
export async function verifyTransferToken(token: string | undefined | null, options: VerifyTransferTokenOptions): Promise<TransferTokenClaims> {
  const key = keyOf(options.secret);
  if (token === undefined || token === null || token === '') throw new TransferAuthError('missing', 'no transfer token');
  if (token.length > MAX_TOKEN_LENGTH) throw new TransferAuthError('malformed', 'token too long');
  const parts = token.split('.');
  if (parts.length !== 3) throw new TransferAuthError('malformed', 'token is not a compact JWS');
  // Only the canonical base64url encoding of a signature passes (no variants with other padding bits).
  const signature = parts[2]!;
  if (Buffer.from(signature, 'base64url').toString('base64url') !== signature) throw new TransferAuthError('bad_signature', 'token signature does not match');
  const skew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  const nowMs = options.now ?? Date.now();
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: [ALGORITHM],
      clockTolerance: skew,
      currentDate: new Date(nowMs),
      // iat required and not older than a token may live; jose also refuses an iat in the future
      maxTokenAge: MAX_TRANSFER_TOKEN_LIFETIME_SECONDS,
      requiredClaims: ['iat', 'exp', 'jti'],
    }));
  } catch (error) {
    const reason = reasonFor(error);
    if (reason === undefined) throw error;
    throw new TransferAuthError(reason, (error as Error).message);
  }
  if (!isClaims(payload)) throw new TransferAuthError('malformed', 'token claims are incomplete');
  if (payload.exp - payload.iat > MAX_TRANSFER_TOKEN_LIFETIME_SECONDS + skew) {
    throw new TransferAuthError('lifetime', `token lifetime ${payload.exp - payload.iat} s exceeds ${MAX_TRANSFER_TOKEN_LIFETIME_SECONDS} s`);
  }
  // jose allows an iat up to the tolerance ahead; state it here too, whatever jose's version does.
  if (payload.iat > nowMs / 1000 + skew) throw new TransferAuthError('expired', 'token issued in the future; check the site clocks');
  if (payload.replicable !== options.replicable || payload.id !== transferIdString(options.id)) {
    throw new TransferAuthError('wrong_subject', 'token is for another blob');
  }
  return { replicable: payload.replicable, id: payload.id, iat: payload.iat, exp: payload.exp, jti: payload.jti };
}
