import { describeKey, isIntegerBucketType, isKnownBucketType, bucketTypeName, type ClaimKey } from './claim-key';
import { MAX_VALUE_BYTES } from './limits';

// Canonical value rules. A value has exactly one spelling, or two cells could claim "42" and
// "042" for the same project id: integer types accept only canonical decimal int64 ("0", "42",
// "-7"; no sign on zero, no leading zeros, no spaces, no "+"), strings must be non-empty UTF-8
// without NUL and at most 1,024 bytes.

const CANONICAL_INT = /^(0|-?[1-9]\d{0,18})$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const utf8 = new TextEncoder();

/** Why `key` is not a canonical claim, or undefined when it is. */
export function claimValueProblem(key: ClaimKey): string | undefined {
  if (!isKnownBucketType(key.type)) return `bucket type ${bucketTypeName(key.type)} is UNSPECIFIED or unknown`;
  if (key.value.length === 0) return 'value must not be empty';
  if (isIntegerBucketType(key.type)) {
    if (!CANONICAL_INT.test(key.value)) return `${bucketTypeName(key.type)} values must be canonical decimal integers (got ${JSON.stringify(key.value)})`;
    const n = BigInt(key.value);
    if (n < INT64_MIN || n > INT64_MAX) return `${bucketTypeName(key.type)} value ${key.value} is outside int64`;
    return undefined;
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
