import { createHash } from 'node:crypto';
import { AdminInputError } from './admin-errors';

// Page tokens are opaque to clients: base64url JSON holding the last row's sort key and id
// (keyset paging, so rows inserted meanwhile shift nothing) and a digest of the query, so a
// token handed to a different query (other type, filter or sort) is refused instead of
// silently returning the wrong page.

export interface PagePosition {
  /** the last row's sort column as PostgreSQL text (exact to the microsecond), null when NULL; absent for id order */
  key?: string | null;
  /** the last row's registry id */
  id: bigint;
}

interface TokenBody {
  v: 1;
  q: string;
  k?: string | null;
  i: string;
}

export function queryDigest(query: unknown): string {
  return createHash('sha256').update(JSON.stringify(query, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))).digest('base64url').slice(0, 22);
}

export function encodePageToken(digest: string, position: PagePosition): string {
  const body: TokenBody = { v: 1, q: digest, i: position.id.toString(), ...(position.key !== undefined ? { k: position.key } : {}) };
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

export function decodePageToken(token: string, digest: string): PagePosition {
  let body: Partial<TokenBody>;
  try {
    if (token.length > 1_024 || !/^[A-Za-z0-9_-]+$/.test(token)) throw new Error('shape');
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Partial<TokenBody>;
  } catch {
    throw new AdminInputError('page_token: not a token this service issued');
  }
  if (body === null || typeof body !== 'object' || body.v !== 1 || typeof body.i !== 'string' || !/^\d{1,19}$/.test(body.i)) {
    throw new AdminInputError('page_token: not a token this service issued');
  }
  if (body.q !== digest) throw new AdminInputError('page_token: issued for a different query (replicable, filter and sort must stay the same while paging)');
  if (body.k !== undefined && body.k !== null && (typeof body.k !== 'string' || body.k.length > 64)) {
    throw new AdminInputError('page_token: not a token this service issued');
  }
  return { id: BigInt(body.i), ...(body.k !== undefined ? { key: body.k } : {}) };
}
