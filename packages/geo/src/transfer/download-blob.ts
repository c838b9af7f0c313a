import type { BlobStorage } from '@meridian/storage';
import { normalizeSha256 } from '@meridian/storage';
import { FileMissingOnPrimaryError, RemoteNotFoundError, TransferHttpError, TransferTimeoutError } from './errors';
import { CHECKSUM_HEADER, TransferErrorCode, retrievePath } from './retrieve-path';
import { signTransferToken } from './transfer-token';

/** upstream's read timeout: a transfer that delivers nothing for a minute is dead */
export const DEFAULT_TRANSFER_INACTIVITY_TIMEOUT_MS = 60_000;
// Error bodies are small JSON; never read more than this of an unexpected one.
const ERROR_BODY_LIMIT = 16 * 1024;
const EXCERPT_LENGTH = 500;

export interface DownloadBlobOptions {
  /** base URL of the primary's site-api, e.g. `http://primary:3000` */
  primaryUrl: string;
  secret: string;
  replicable: string;
  id: bigint;
  storage: BlobStorage;
  /** path under the secondary's storage root */
  destinationPath: string;
  /** the primary's checksum from its verification state; wins over the response header */
  expectedSha256?: string | null;
  signal?: AbortSignal;
  onProgress?: (bytes: number) => void;
  /** abort when no response or no bytes arrive for this long (default 60 s) */
  timeoutMs?: number;
  /** abort when the whole transfer takes longer than this (default: no limit) */
  overallTimeoutMs?: number;
}

export interface DownloadBlobResult {
  size: number;
  sha256: string;
  /** the checksum the primary sent in its response header, when it sent one */
  primaryChecksum?: string;
}

async function readLimited(response: Response): Promise<string> {
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  try {
    while (size < ERROR_BODY_LIMIT) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    // Cancelling an unread rest frees the connection instead of leaving it half-read.
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function errorCode(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    const code = (parsed as { code?: unknown } | null)?.code;
    return typeof code === 'string' ? code : undefined;
  } catch {
    return undefined;
  }
}

async function errorFor(response: Response, options: DownloadBlobOptions, url: string): Promise<Error> {
  const body = await readLimited(response);
  const code = errorCode(body);
  if (response.status === 404 && code === TransferErrorCode.fileMissingOnPrimary) return new FileMissingOnPrimaryError(options.replicable, options.id);
  if (response.status === 404 && code === TransferErrorCode.notFound) return new RemoteNotFoundError(options.replicable, options.id);
  return new TransferHttpError(response.status, code, body.slice(0, EXCERPT_LENGTH), url);
}

/**
 * Pulls one blob from the primary into `destinationPath`: a fresh signed token per request, the
 * body streamed straight into an atomic write (never buffered whole), SHA-256 checked before the
 * rename. Throws FileMissingOnPrimaryError, RemoteNotFoundError, TransferHttpError,
 * TransferTimeoutError, or storage's ChecksumMismatchError / UnsafePathError.
 */
export async function downloadBlob(options: DownloadBlobOptions): Promise<DownloadBlobResult> {
  // Refuse a bad destination before spending a request on it.
  options.storage.resolve(options.destinationPath);
  options.signal?.throwIfAborted();
  const url = `${options.primaryUrl.replace(/\/+$/, '')}${retrievePath(options.replicable, options.id)}`;
  const token = signTransferToken({ secret: options.secret, replicable: options.replicable, id: options.id });

  const controller = new AbortController();
  const abortFromCaller = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', abortFromCaller, { once: true });
  const inactivityMs = options.timeoutMs ?? DEFAULT_TRANSFER_INACTIVITY_TIMEOUT_MS;
  const inactivity = setTimeout(() => controller.abort(new TransferTimeoutError('inactivity', inactivityMs)), inactivityMs);
  const overall =
    options.overallTimeoutMs === undefined
      ? undefined
      : setTimeout(() => controller.abort(new TransferTimeoutError('overall', options.overallTimeoutMs!)), options.overallTimeoutMs);

  let response: Response | undefined;
  try {
    // Global fetch pools keep-alive connections per origin; every path below consumes or cancels
    // the body, so the connection goes back to the pool.
    response = await fetch(url, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/octet-stream' },
      signal: controller.signal,
      // The primary serves bytes itself; a redirect would carry the token elsewhere.
      redirect: 'manual',
    });
    inactivity.refresh();
    if (response.status !== 200 || response.body === null) throw await errorFor(response, options, url);

    const header = response.headers.get(CHECKSUM_HEADER);
    const primaryChecksum = header ? normalizeSha256(header) : undefined;
    const expected = options.expectedSha256 ? normalizeSha256(options.expectedSha256) : primaryChecksum;
    const written = await options.storage.writeAtomic(options.destinationPath, response.body, {
      ...(expected === undefined ? {} : { expectedSha256: expected }),
      signal: controller.signal,
      onProgress: (bytes) => {
        inactivity.refresh();
        options.onProgress?.(bytes);
      },
    });
    return primaryChecksum === undefined ? written : { ...written, primaryChecksum };
  } catch (error) {
    // A body nobody started reading would pin its connection; writeAtomic cancels its own on failure.
    if (response?.body && !response.bodyUsed) await response.body.cancel().catch(() => undefined);
    // Surface our own timeout rather than the generic AbortError it caused.
    if (controller.signal.aborted && controller.signal.reason instanceof TransferTimeoutError) throw controller.signal.reason;
    throw error;
  } finally {
    clearTimeout(inactivity);
    if (overall !== undefined) clearTimeout(overall);
    options.signal?.removeEventListener('abort', abortFromCaller);
  }
}
