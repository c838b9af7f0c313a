/** The primary's transfer endpoint; the secondary builds the same URL. */
export const RETRIEVE_ROUTE = '/api/v1/geo/retrieve/:replicable/:id';

/** Response header carrying the primary's SHA-256 of the blob, when it has one. */
export const CHECKSUM_HEADER = 'x-meridian-checksum-sha256';

/** Error body codes; downloadBlob maps them back to error classes. */
export const TransferErrorCode = {
  badRequest: 'bad_request',
  unauthorized: 'unauthorized',
  notFound: 'not_found',
  fileMissingOnPrimary: 'file_missing_on_primary',
  unsafePath: 'unsafe_path',
  internal: 'internal',
} as const;

const MAX_BIGINT_ID = 2n ** 63n - 1n;

/** A positive decimal id that fits PostgreSQL's bigint, or undefined. */
export function parseReplicableId(raw: string): bigint | undefined {
  if (!/^[1-9][0-9]{0,18}$/.test(raw)) return undefined;
  const id = BigInt(raw);
  return id <= MAX_BIGINT_ID ? id : undefined;
}

export function retrievePath(replicable: string, id: bigint): string {
  return `/api/v1/geo/retrieve/${encodeURIComponent(replicable)}/${id}`;
}
