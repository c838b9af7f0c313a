import { describeKey, isIntegerBucketType, isKnownBucketType, bucketTypeName, type ClaimKey } from './claim-key';
import { MAX_VALUE_BYTES } from './limits';

// Canonical value rules, one set for the cells and the Topology Service. A value has exactly one
// spelling, or two cells could claim "42" and "042" for the same project id: integer types hold
// database ids and accept only the canonical decimal text of a positive int64 ("1" to
// "9223372036854775807"; no sign, no leading zeros, no spaces; "0" and negative ids are refused,
// as Rails ids start at 1), strings must be non-empty UTF-8 without NUL and at most 1,024 bytes.

const CANONICAL_ID = /^[1-9]\d{0,18}$/;
const INT64_MAX = 2n ** 63n - 1n;
const utf8 = new TextEncoder();

/** Canonical decimal text of a positive int64: `1` to `9223372036854775807`, digits only. */
export function isCanonicalId(value: string): boolean {
  return CANONICAL_ID.test(value) && BigInt(value) <= INT64_MAX;
}

/** Why `key` is not a canonical claim, or undefined when it is. */
export function claimValueProblem(key: ClaimKey): string | undefined {
  if (!isKnownBucketType(key.type)) return `bucket type ${bucketTypeName(key.type)} is UNSPECIFIED or unknown`;
  if (key.value.length === 0) return 'value must not be empty';
  if (isIntegerBucketType(key.type)) {
    if (isCanonicalId(key.value)) return undefined;
    return `${bucketTypeName(key.type)} values are ids: canonical decimal integers from 1 to ${INT64_MAX} (no sign, leading zeros or spaces)`;
  }
  if (key.value.includes('\u0000')) return 'value must not contain NUL characters';
  if (utf8.encode(key.value).length > MAX_VALUE_BYTES) return `value is longer than ${MAX_VALUE_BYTES} bytes`;
  return undefined;
}

export class InvalidClaimValueError extends Error {
  override readonly name = 'InvalidClaimValueError';
}

/**
 * The canonical text of a column value for a bucket type, or undefined when the value is blank
 * (null, undefined, empty string: nothing to claim). Throws InvalidClaimValueError otherwise.
 */
export function canonicalValue(type: number, raw: unknown): string | undefined {
  if (raw === null || raw === undefined || raw === '') return undefined;
  let value: string;
  if (typeof raw === 'bigint') value = raw.toString();
  else if (typeof raw === 'number') {
    if (!Number.isSafeInteger(raw) && isIntegerBucketType(type)) throw new InvalidClaimValueError(`${raw} is not a safe integer`);
    value = String(raw);
  } else if (typeof raw === 'string') value = raw;
  else throw new InvalidClaimValueError(`cannot claim a ${typeof raw} value`);
  const problem = claimValueProblem({ type, value });
  if (problem) throw new InvalidClaimValueError(`${describeKey({ type, value })}: ${problem}`);
  return value;
}
