import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { TransferAuthError, WeakTransferSecretError } from './errors';

/** HS256 with a shorter key is brute-forceable offline from one captured token. */
export const MIN_TRANSFER_SECRET_LENGTH = 32;
/** upstream: tokens are valid for one minute */
export const DEFAULT_TRANSFER_TOKEN_TTL_SECONDS = 60;
const DEFAULT_CLOCK_SKEW_SECONDS = 5;
// Far above any token we sign; bounds the work done on garbage.
const MAX_TOKEN_LENGTH = 4096;

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

const HEADER = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}

function assertSecret(secret: string): void {
  if (typeof secret !== 'string' || secret.length < MIN_TRANSFER_SECRET_LENGTH) {
    throw new WeakTransferSecretError(MIN_TRANSFER_SECRET_LENGTH);
  }
}

function signature(secret: string, signingInput: string): string {
  return createHmac('sha256', secret).update(signingInput).digest('base64url');
}

/** Normalizes an id to its canonical decimal string; rejects anything but a positive integer. */
export function transferIdString(id: TransferId): string {
  if (typeof id === 'number' && !Number.isSafeInteger(id)) throw new TypeError(`transfer id ${id} is not a safe integer`);
  if (typeof id === 'string' && !/^[1-9][0-9]*$/.test(id)) throw new TypeError(`transfer id ${JSON.stringify(id)} is not a positive integer`);
  const value = BigInt(id);
  if (value <= 0n) throw new TypeError(`transfer id ${value} is not positive`);
  return value.toString();
}

/** A compact HS256 JWT that lets its bearer fetch exactly one blob for `ttlSeconds`. */
export function signTransferToken(options: SignTransferTokenOptions): string {
  assertSecret(options.secret);
  const ttl = options.ttlSeconds ?? DEFAULT_TRANSFER_TOKEN_TTL_SECONDS;
  if (!(ttl > 0)) throw new RangeError(`ttlSeconds must be positive, got ${ttl}`);
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  const claims: TransferTokenClaims = {
    replicable: options.replicable,
    id: transferIdString(options.id),
    iat,
    exp: iat + Math.ceil(ttl),
    jti: randomUUID(),
  };
  const signingInput = `${HEADER}.${base64url(JSON.stringify(claims))}`;
  return `${signingInput}.${signature(options.secret, signingInput)}`;
}

function decodeJson(part: string): unknown {
  if (!/^[A-Za-z0-9_-]*$/.test(part)) throw new TransferAuthError('malformed', 'token part is not base64url');
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new TransferAuthError('malformed', 'token part is not JSON');
  }
}

function isClaims(value: unknown): value is TransferTokenClaims {
  if (typeof value !== 'object' || value === null) return false;
  const claims = value as Record<string, unknown>;
  return (
    typeof claims.replicable === 'string' &&
    typeof claims.id === 'string' &&
    Number.isFinite(claims.iat) &&
    Number.isFinite(claims.exp) &&
    typeof claims.jti === 'string'
  );
}

/**
 * Checks a token for one (replicable, id) and returns its claims, or throws TransferAuthError.
 * The algorithm is fixed to HS256 whatever the header says: honoring `alg` is the classic JWT
 * downgrade (`none`, or an RSA public key used as an HMAC secret).
 */
export function verifyTransferToken(token: string | undefined | null, options: VerifyTransferTokenOptions): TransferTokenClaims {
  assertSecret(options.secret);
  if (token === undefined || token === null || token === '') throw new TransferAuthError('missing', 'no transfer token');
  if (token.length > MAX_TOKEN_LENGTH) throw new TransferAuthError('malformed', 'token too long');
  const parts = token.split('.');
  if (parts.length !== 3) throw new TransferAuthError('malformed', 'token is not a compact JWS');
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];

  const header = decodeJson(headerPart);
  if (typeof header !== 'object' || header === null) throw new TransferAuthError('malformed', 'token header is not an object');
  const alg = (header as Record<string, unknown>).alg;
  if (alg !== 'HS256') throw new TransferAuthError('alg', `token algorithm ${JSON.stringify(alg)} is not HS256`);

  // Compare canonical encodings, so a signature with different padding bits does not pass either.
  const expected = Buffer.from(signature(options.secret, `${headerPart}.${payloadPart}`), 'utf8');
  const given = Buffer.from(signaturePart, 'utf8');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    throw new TransferAuthError('bad_signature', 'token signature does not match');
  }

  const claims = decodeJson(payloadPart);
  if (!isClaims(claims)) throw new TransferAuthError('malformed', 'token claims are incomplete');
  const now = (options.now ?? Date.now()) / 1000;
  const skew = options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS;
  if (now > claims.exp + skew) throw new TransferAuthError('expired', 'token has expired');
  // A token from the future means a clock is off; refusing it keeps a token from living longer than its TTL.
  if (claims.iat > now + skew) throw new TransferAuthError('expired', 'token issued in the future; check the site clocks');

  if (claims.replicable !== options.replicable || claims.id !== transferIdString(options.id)) {
    throw new TransferAuthError('wrong_subject', 'token is for another blob');
  }
  return claims;
}
