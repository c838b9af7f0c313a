// Source.rails_primary_key_id bytes: integer keys as 8-byte big-endian (so byte order is numeric
// order and ListRecords can page by byte range), UUIDs as their 16 bytes, other strings as UTF-8.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class PrimaryKeyError extends Error {
  override readonly name = 'PrimaryKeyError';
}

export function encodePrimaryKey(key: bigint | number | string): Uint8Array {
  if (typeof key === 'number') {
    if (!Number.isSafeInteger(key)) throw new PrimaryKeyError(`primary key ${key} is not a safe integer`);
    return encodePrimaryKey(BigInt(key));
  }
  if (typeof key === 'bigint') {
    if (key < 0n || key >= 2n ** 64n) throw new PrimaryKeyError(`integer primary key ${key} does not fit 8 unsigned bytes`);
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setBigUint64(0, key);
    return bytes;
  }
  if (key.length === 0) throw new PrimaryKeyError('primary key is empty');
  if (UUID.test(key)) return Uint8Array.from(Buffer.from(key.replace(/-/g, ''), 'hex'));
  return new TextEncoder().encode(key);
}

/** The integer an 8-byte big-endian key encodes. */
export function decodeIntegerPrimaryKey(bytes: Uint8Array): bigint {
  if (bytes.length !== 8) throw new PrimaryKeyError(`an integer primary key has 8 bytes, got ${bytes.length}`);
  return new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0);
}
