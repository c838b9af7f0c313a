import { createHash } from 'node:crypto';

/** Lowercase hex SHA-256 of bytes or a UTF-8 string (the checksum format used everywhere). */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** Checksums arrive from databases and headers in either case; compare them lowercased. */
export function normalizeSha256(value: string): string {
  const normalized = value.trim().toLowerCase();
  if (!HEX_SHA256.test(normalized)) throw new TypeError(`not a hex SHA-256 digest: ${JSON.stringify(value)}`);
  return normalized;
}
