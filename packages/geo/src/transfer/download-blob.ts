import http from 'node:http';
import https from 'node:https';
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
  /** false: skip the per-file fdatasync; the caller makes a batch durable with storage.syncFiles */
  durable?: boolean;
  /** abort when the whole transfer takes longer than this (default: no limit) */
  overallTimeoutMs?: number;
}

export interface DownloadBlobResult {
  size: number;
  sha256: string;
  /** the checksum the primary sent in its response header, when it sent one */
  primaryChecksum?: string;
}

/**
 * One keep-alive pool per protocol for every transfer of this process: a GET reuses a warm
 * connection instead of paying a TCP handshake (and a TLS one) per blob. Idle sockets are unref'd
 * by the agent, so they never keep a process alive; LIFO keeps the hottest few in use.
 */
const AGENT_OPTIONS = { keepAlive: true, scheduling: 'lifo' } as const;
const httpAgent = new http.Agent(AGENT_OPTIONS);
const httpsAgent = new https.Agent(AGENT_OPTIONS);

/** Bodies up to this size are read into memory and written in one go (no stream pipeline). */
const WHOLE_BODY_LIMIT = 64 * 1024;

/** Node's AbortError shape, for an abort that surfaced as a connection error. */
function abortError(reason: unknown): Error {
  return Object.assign(new Error('The operation was aborted', { cause: reason }), { name: 'AbortError', code: 'ABORT_ERR' });
}

function isStaleSocketError(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}

/**
 * Sends the request and resolves with the response head. A pooled connection the server closed
 * while it sat idle fails before any response: that one attempt is repeated once on a fresh
 * connection (transfer requests only read, so repeating is safe); every other error is the
 * caller's. The abort signal cancels the request, and later the response.
 */
export function send(
  url: URL,
  init: { method: 'GET' | 'POST'; headers: http.OutgoingHttpHeaders; body?: string },
  signal: AbortSignal,
  retried = false,
): Promise<http.IncomingMessage> {
  const https_ = url.protocol === 'https:';
  const headers = init.body === undefined ? init.headers : { ...init.headers, 'content-length': Buffer.byteLength(init.body) };
  return new Promise<http.IncomingMessage>((resolve, reject) => {
    const request = (https_ ? https : http).request(url, { method: init.method, headers, agent: https_ ? httpsAgent : httpAgent });
    const onAbort = () => request.destroy(abortError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    let responded = false;
    request.once('response', (response) => {
      responded = true;
      // From here the response owns the connection; the abort listener below destroys it instead.
      signal.removeEventListener('abort', onAbort);
      const onAbortResponse = () => response.destroy(abortError(signal.reason));
      signal.addEventListener('abort', onAbortResponse, { once: true });
      response.once('close', () => signal.removeEventListener('abort', onAbortResponse));
      resolve(response);
    });
    // `on`, not `once`: node:http also emits a socket error on the request after the response
    // began (a reset mid-body). The response's reader reports that one; repeating the request
    // then would start a request nobody awaits, whose failure was an unhandled rejection that
    // killed the worker (`read ECONNRESET`) and whose success leaked a connection.
    request.on('error', (error) => {
      if (responded) return;
      signal.removeEventListener('abort', onAbort);
      if (!retried && request.reusedSocket && !signal.aborted && isStaleSocketError(error)) resolve(send(url, init, signal, true));
      else reject(error);
    });
    if (signal.aborted) onAbort();
    else request.end(init.body);
  });
}

async function readLimited(response: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  // Breaking out of the loop destroys the response: an unread rest never pins the connection.
  for await (const chunk of response) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= ERROR_BODY_LIMIT) break;
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** The whole (small) body; rejects when the connection ends before it is complete. */
async function readWhole(response: http.IncomingMessage, length: number, onChunk: () => void): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    onChunk();
  }
  // The parser stops at Content-Length; a short body errors the stream above. Belt and braces:
  if (size !== length) throw new Error(`the primary sent ${size} bytes instead of the announced ${length}`);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

function contentLength(response: http.IncomingMessage): number | undefined {
  const raw = response.headers['content-length'];
  return raw !== undefined && /^\d{1,15}$/.test(raw) ? Number(raw) : undefined;
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

async function errorFor(response: http.IncomingMessage, options: DownloadBlobOptions, url: string): Promise<Error> {
  const body = await readLimited(response);
  const code = errorCode(body);
  const status = response.statusCode ?? 0;
  if (status === 404 && code === TransferErrorCode.fileMissingOnPrimary) return new FileMissingOnPrimaryError(options.replicable, options.id);
  if (status === 404 && code === TransferErrorCode.notFound) return new RemoteNotFoundError(options.replicable, options.id);
  return new TransferHttpError(status, code, body.slice(0, EXCERPT_LENGTH), url);
}

/**
 * Pulls one blob from the primary into `destinationPath`: a fresh signed token per request over a
 * pooled keep-alive connection, the body streamed straight into an atomic write (only bodies of at
 * most 64 KiB are buffered, and written in one go), size and SHA-256 checked before the rename.
 * Throws FileMissingOnPrimaryError, RemoteNotFoundError, TransferHttpError, TransferTimeoutError,
 * or storage's ChecksumMismatchError / SizeMismatchError / UnsafePathError.
 */
export async function downloadBlob(options: DownloadBlobOptions): Promise<DownloadBlobResult> {
  // Refuse a bad destination before spending a request on it.
  options.storage.resolve(options.destinationPath);
  options.signal?.throwIfAborted();
  const url = `${options.primaryUrl.replace(/\/+$/, '')}${retrievePath(options.replicable, options.id)}`;
  const token = await signTransferToken({ secret: options.secret, replicable: options.replicable, id: options.id });

  const controller = new AbortController();
  const abortFromCaller = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', abortFromCaller, { once: true });
  const inactivityMs = options.timeoutMs ?? DEFAULT_TRANSFER_INACTIVITY_TIMEOUT_MS;
  const inactivity = setTimeout(() => controller.abort(new TransferTimeoutError('inactivity', inactivityMs)), inactivityMs);
  const overall =
    options.overallTimeoutMs === undefined
      ? undefined
      : setTimeout(() => controller.abort(new TransferTimeoutError('overall', options.overallTimeoutMs!)), options.overallTimeoutMs);

  let response: http.IncomingMessage | undefined;
  try {
    // node:http never follows redirects: a 3xx is a TransferHttpError and the token goes nowhere else.
    response = await send(new URL(url), { method: 'GET', headers: { authorization: `Bearer ${token}`, accept: 'application/octet-stream' } }, controller.signal);
    inactivity.refresh();
    if (response.statusCode !== 200) throw await errorFor(response, options, url);

    const header = response.headers[CHECKSUM_HEADER];
    const primaryChecksum = typeof header === 'string' && header !== '' ? normalizeSha256(header) : undefined;
    const expected = options.expectedSha256 ? normalizeSha256(options.expectedSha256) : primaryChecksum;
    const length = contentLength(response);
    // A small body is read whole and written in one go; anything else streams, never buffered whole.
    const source =
      length !== undefined && length <= WHOLE_BODY_LIMIT ? await readWhole(response, length, () => inactivity.refresh()) : response;
    const written = await options.storage.writeAtomic(options.destinationPath, source, {
      ...(expected === undefined ? {} : { expectedSha256: expected }),
      ...(length === undefined ? {} : { expectedSize: length }),
      ...(options.durable === false ? { durable: false } : {}),
      signal: controller.signal,
      onProgress: (bytes) => {
        inactivity.refresh();
        options.onProgress?.(bytes);
      },
    });
    return primaryChecksum === undefined ? written : { ...written, primaryChecksum };
  } catch (error) {
    // A body nobody read to the end would pin its connection; destroying it closes that one.
    if (response !== undefined && !response.complete) response.destroy();
    if (controller.signal.aborted) {
      const reason: unknown = controller.signal.reason;
      // Surface our own timeout rather than the connection error or AbortError it caused.
      if (reason instanceof TransferTimeoutError) throw reason;
      throw (error as Error | undefined)?.name === 'AbortError' ? error : abortError(reason);
    }
    throw error;
  } finally {
    clearTimeout(inactivity);
    if (overall !== undefined) clearTimeout(overall);
    options.signal?.removeEventListener('abort', abortFromCaller);
  }
}
