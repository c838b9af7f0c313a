import type http from 'node:http';
import type { BlobStorage, WriteResult } from '@meridian/storage';
import { normalizeSha256 } from '@meridian/storage';
import { BATCH_CONTENT_TYPE, MAX_FRAME_HEADER_BYTES, batchTokenId, retrieveBatchPath, type BatchFrameHeader } from './batch-framing';
import { DEFAULT_TRANSFER_INACTIVITY_TIMEOUT_MS, send } from './download-blob';
import { FileMissingOnPrimaryError, RemoteNotFoundError, TransferHttpError, TransferTimeoutError } from './errors';
import { signTransferToken } from './transfer-token';

export interface BatchTarget {
  id: bigint;
  destinationPath: string;
  /** the primary's checksum from the model row; wins over the frame's */
  expectedSha256?: string | null;
}

export interface DownloadBatchOptions {
  primaryUrl: string;
  secret: string;
  replicable: string;
  targets: readonly BatchTarget[];
  storage: BlobStorage;
  /**
   * false: no fdatasync before each rename; the caller flushes the batch with storage.syncFiles.
   * Blobs over 1 MiB start their flush right after the rename (write-behind) and are done flushing
   * when the call returns.
   */
  durable?: boolean;
  signal?: AbortSignal;
  onProgress?: () => void;
  timeoutMs?: number;
}

export type BatchItemResult = { ok: WriteResult } | { error: Error };

const WHOLE_BODY_LIMIT = 64 * 1024;
/** blobs larger than this start their flush right after their rename (write-behind) */
const WRITE_BEHIND_FROM = 1024 * 1024;

class TruncatedBatchError extends Error {
  override readonly name = 'TruncatedBatchError';
}

/** Reads frames off a response: exact byte counts across chunk boundaries. */
function frameReader(source: AsyncIterator<Buffer>, onChunk: () => void) {
  let buffer: Buffer = Buffer.alloc(0);
  const next = async (): Promise<Buffer> => {
    const { done, value } = await source.next();
    if (done) throw new TruncatedBatchError('the primary ended the batch early');
    onChunk();
    return value;
  };
  return {
    async exact(n: number): Promise<Buffer> {
      while (buffer.length < n) buffer = buffer.length === 0 ? await next() : Buffer.concat([buffer, await next()]);
      const out = buffer.subarray(0, n);
      buffer = buffer.subarray(n);
      return out;
    },
    /** the next `n` bytes as chunks; `drain()` skips whatever the consumer did not read */
    body(n: number) {
      let left = n;
      const chunks = async function* (): AsyncGenerator<Buffer> {
        while (left > 0) {
          if (buffer.length === 0) buffer = await next();
          const piece = buffer.subarray(0, Math.min(left, buffer.length));
          buffer = buffer.subarray(piece.length);
          left -= piece.length;
          yield piece;
        }
      };
      return {
        chunks,
        async drain() {
          for await (const _ of chunks()) void _;
        },
      };
    },
  };
}

/**
 * Pulls a batch of one type's blobs in one request (see batch-framing.ts), writing each with an
 * atomic write (size and SHA-256 checked before the rename). Per-blob outcomes come back in a
 * map: `{ ok }` or `{ error }` (FileMissingOnPrimaryError, RemoteNotFoundError, checksum/size
 * mismatches, UnsafePathError, …). A request-level failure (HTTP status, timeout, a cut-off
 * stream) fails every blob not yet written.
 */
export async function downloadBatch(options: DownloadBatchOptions): Promise<Map<bigint, BatchItemResult>> {
  const results = new Map<bigint, BatchItemResult>();
  const byId = new Map(options.targets.map((t) => [t.id.toString(), t]));
  const ids = options.targets.map((t) => t.id);
  const url = new URL(`${options.primaryUrl.replace(/\/+$/, '')}${retrieveBatchPath(options.replicable)}`);
  const token = await signTransferToken({ secret: options.secret, replicable: options.replicable, id: batchTokenId(ids) });
  const controller = new AbortController();
  const abortFromCaller = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', abortFromCaller, { once: true });
  const inactivityMs = options.timeoutMs ?? DEFAULT_TRANSFER_INACTIVITY_TIMEOUT_MS;
  const inactivity = setTimeout(() => controller.abort(new TransferTimeoutError('inactivity', inactivityMs)), inactivityMs);
  const flushing: Promise<void>[] = [];
  let response: http.IncomingMessage | undefined;
  try {
    response = await send(
      url,
      { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ ids: ids.map(String) }) },
      controller.signal,
    );
    inactivity.refresh();
    if (response.statusCode !== 200 || !String(response.headers['content-type']).startsWith(BATCH_CONTENT_TYPE)) {
      let text = '';
      for await (const chunk of response) if ((text += String(chunk)).length > 2_000) break;
      const code = /"code":"([a-z_]+)"/.exec(text)?.[1];
      throw new TransferHttpError(response.statusCode ?? 0, code, text.slice(0, 500), url.toString());
    }
    const reader = frameReader(response[Symbol.asyncIterator]() as AsyncIterator<Buffer>, () => {
      inactivity.refresh();
      options.onProgress?.();
    });
    for (let i = 0; i < ids.length; i++) {
      const length = (await reader.exact(4)).readUInt32BE(0);
      if (length > MAX_FRAME_HEADER_BYTES) throw new TruncatedBatchError(`frame header of ${length} bytes`);
      const header = JSON.parse((await reader.exact(length)).toString('utf8')) as BatchFrameHeader;
      const target = byId.get(header.id);
      if (!target || results.has(target.id)) throw new TruncatedBatchError(`unexpected frame for id ${header.id}`);
      if (header.status !== 'ok') {
        const error =
          header.status === 'file_missing_on_primary'
            ? new FileMissingOnPrimaryError(options.replicable, target.id)
            : header.status === 'not_found'
              ? new RemoteNotFoundError(options.replicable, target.id)
              : new TransferHttpError(500, header.status === 'unsafe_path' ? 'unsafe_path' : 'internal', `the primary could not serve this blob (${header.status})`, url.toString());
        results.set(target.id, { error });
        continue;
      }
      const size = header.size ?? 0;
      // small blobs: the bytes in one buffer and storage's direct write (no stream pipeline)
      const whole = size <= WHOLE_BODY_LIMIT ? await reader.exact(size) : undefined;
      const body = reader.body(whole ? 0 : size);
      const expected = target.expectedSha256 ? normalizeSha256(target.expectedSha256) : header.sha256;
      try {
        const ok = await options.storage.writeAtomic(target.destinationPath, whole ?? body.chunks(), {
          expectedSize: size,
          ...(expected ? { expectedSha256: expected } : {}),
          ...(options.durable === false ? { durable: false } : {}),
          signal: controller.signal,
        });
        results.set(target.id, { ok });
        // Write-behind: a large blob's flush starts now and runs while the next one downloads,
        // instead of stalling this stream (flush before the next blob) or piling up at the end
        // (small blobs, by contrast, are folded into the caller's one syncFiles). The caller's
        // syncFiles still confirms every file; a failure here surfaces there.
        if (options.durable === false && size > WRITE_BEHIND_FROM) {
          flushing.push(options.storage.syncFiles([target.destinationPath]).catch(() => undefined));
        }
      } catch (error) {
        if (controller.signal.aborted || error instanceof TruncatedBatchError) throw error;
        results.set(target.id, { error: error as Error });
        await body.drain(); // keep the frames aligned for the next blob
      }
    }
    return results;
  } catch (error) {
    if (response !== undefined && !response.complete) response.destroy();
    const reason: unknown = controller.signal.reason;
    const failure = controller.signal.aborted && reason instanceof Error ? reason : (error as Error);
    for (const id of ids) if (!results.has(id)) results.set(id, { error: failure });
    return results;
  } finally {
    clearTimeout(inactivity);
    options.signal?.removeEventListener('abort', abortFromCaller);
    await Promise.all(flushing); // no flush outlives the call
  }
}
