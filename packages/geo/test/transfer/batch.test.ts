import { randomBytes, createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { waitFor } from '@meridian/testing';
import { createFilesystemStorage, type BlobStorage } from '@meridian/storage';
import {
  BATCH_CONTENT_TYPE,
  batchTokenId,
  downloadBatch,
  FileMissingOnPrimaryError,
  RemoteNotFoundError,
  retrieveBatchPath,
  signTransferToken,
  TransferHttpError,
} from '../../src/transfer';
import { listFiles, makeDirs, SECRET, startPrimary, type Dirs, type Primary } from './helpers';

const sha = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('batch transfer (POST /api/v1/geo/retrieve-batch/:replicable)', () => {
  let dirs: Dirs;
  let primary: Primary;
  let secondary: BlobStorage;
  const blobs = new Map<bigint, Buffer>();

  beforeAll(async () => {
    dirs = makeDirs();
    primary = await startPrimary(dirs.primaryRoot);
    secondary = createFilesystemStorage(dirs.secondaryRoot);
    // small (read whole) and large (streamed) blobs, so frames cross chunk boundaries both ways
    for (const [id, size] of [[1n, 10], [2n, 70 * 1024], [3n, 0], [4n, 3 * 1024 * 1024], [5n, 4096]] as const) {
      const bytes = randomBytes(size);
      blobs.set(id, bytes);
      await primary.storage.write(`blobs/${id}.bin`, bytes);
      primary.rows.set(`package_file:${id}`, { blobPath: `blobs/${id}.bin`, checksum: sha(bytes) });
    }
    primary.rows.set('package_file:6', { blobPath: 'blobs/never-written.bin' });
    primary.rows.set('package_file:8', { blobPath: '../../outside/secret.txt' });
    fs.writeFileSync(path.join(dirs.outside, 'secret.txt'), 'top secret');
  });
  afterAll(async () => {
    await primary.close();
    dirs.cleanup();
  });

  const targets = (ids: bigint[]) => ids.map((id) => ({ id, destinationPath: `copy/${id}.bin` }));

  it('brings every blob of the batch with identical bytes, in one request', async () => {
    const results = await downloadBatch({ primaryUrl: primary.url, secret: SECRET, replicable: 'package_file', targets: targets([1n, 2n, 3n, 4n, 5n]), storage: secondary });
    for (const [id, bytes] of blobs) {
      const result = results.get(id);
      expect(result && 'ok' in result ? result.ok.sha256 : result).toBe(sha(bytes));
      expect(sha(fs.readFileSync(path.join(dirs.secondaryRoot, `copy/${id}.bin`)))).toBe(sha(bytes));
    }
  });

  it('without per-file durability, flushes only large blobs behind the download, all done when the call returns', async () => {
    // the real storage, observed: which files get an early flush, and whether it finished in time
    const flushes: Array<{ paths: readonly string[]; settled: boolean }> = [];
    const observed: BlobStorage = {
      ...secondary,
      syncFiles: async (paths) => {
        const entry = { paths, settled: false };
        flushes.push(entry);
        try {
          await secondary.syncFiles(paths);
        } finally {
          entry.settled = true;
        }
      },
    };
    const results = await downloadBatch({
      primaryUrl: primary.url,
      secret: SECRET,
      replicable: 'package_file',
      targets: [1n, 2n, 4n, 5n].map((id) => ({ id, destinationPath: `behind/${id}.bin` })),
      storage: observed,
      durable: false,
    });
    expect(flushes.map((f) => f.paths)).toEqual([['behind/4.bin']]); // only the 3 MiB blob
    expect(flushes.every((f) => f.settled)).toBe(true);
    for (const id of [1n, 2n, 4n, 5n]) {
      expect(results.get(id)).toHaveProperty('ok');
      expect(sha(fs.readFileSync(path.join(dirs.secondaryRoot, `behind/${id}.bin`)))).toBe(sha(blobs.get(id)!));
    }
  });

  it('reports per-blob problems as their own errors without failing the neighbours', async () => {
    const results = await downloadBatch({ primaryUrl: primary.url, secret: SECRET, replicable: 'package_file', targets: targets([6n, 1n, 7n, 8n, 5n]), storage: secondary });
    const error = (id: bigint) => {
      const r = results.get(id);
      return r && 'error' in r ? r.error : undefined;
    };
    expect(error(6n)).toBeInstanceOf(FileMissingOnPrimaryError);
    expect(error(7n)).toBeInstanceOf(RemoteNotFoundError);
    expect(error(8n)).toBeInstanceOf(TransferHttpError);
    expect((error(8n) as TransferHttpError).code).toBe('unsafe_path');
    expect(results.get(1n)).toHaveProperty('ok');
    expect(results.get(5n)).toHaveProperty('ok');
    expect(listFiles(dirs.secondaryRoot).some((f) => f.includes('secret'))).toBe(false);
  });

  it('a checksum mismatch fails that blob only, leaves nothing at its path, and keeps the stream aligned', async () => {
    const results = await downloadBatch({
      primaryUrl: primary.url,
      secret: SECRET,
      replicable: 'package_file',
      targets: [{ id: 4n, destinationPath: 'bad/4.bin', expectedSha256: 'a'.repeat(64) }, { id: 2n, destinationPath: 'bad/2.bin' }],
      storage: secondary,
    });
    expect(results.get(4n)).toHaveProperty('error');
    expect(fs.existsSync(path.join(dirs.secondaryRoot, 'bad/4.bin'))).toBe(false);
    expect(results.get(2n)).toHaveProperty('ok');
    expect(sha(fs.readFileSync(path.join(dirs.secondaryRoot, 'bad/2.bin')))).toBe(sha(blobs.get(2n)!));
  });

  it('binds the token to the exact id list: 401 for another list, 400 for bad input', async () => {
    const post = async (ids: string[], tokenIds: bigint[]) =>
      fetch(`${primary.url}${retrieveBatchPath('package_file')}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${await signTransferToken({ secret: SECRET, replicable: 'package_file', id: batchTokenId(tokenIds) })}`,
        },
        body: JSON.stringify({ ids }),
      });
    const good = await post(['1', '5'], [1n, 5n]);
    expect(good.status).toBe(200);
    expect(good.headers.get('content-type')).toContain(BATCH_CONTENT_TYPE);
    await good.arrayBuffer();
    expect((await post(['1', '5', '2'], [1n, 5n])).status).toBe(401);
    expect((await post(['5', '1'], [1n, 5n])).status).toBe(401);
    expect((await post(['0'], [0n])).status).toBe(400);
    expect((await post([], [])).status).toBe(400);
    const anonymous = await fetch(`${primary.url}${retrieveBatchPath('package_file')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ids: ['1'] }),
    });
    expect(anonymous.status).toBe(401);
  });

  it('a wrong secret fails every blob of the batch with the HTTP status', async () => {
    const results = await downloadBatch({ primaryUrl: primary.url, secret: 'x'.repeat(40), replicable: 'package_file', targets: targets([1n, 2n]), storage: secondary });
    for (const id of [1n, 2n]) {
      const r = results.get(id);
      expect(r && 'error' in r && r.error instanceof TransferHttpError && r.error.status).toBe(401);
    }
  });

  describe('malformed requests are 4xx with a message and a warning, never 500', () => {
    const send = async (body: string, contentType = 'application/json') => {
      const before = primary.logs.length;
      const response = await fetch(`${primary.url}${retrieveBatchPath('package_file')}`, {
        method: 'POST',
        headers: { 'content-type': contentType, authorization: `Bearer ${await signTransferToken({ secret: SECRET, replicable: 'package_file', id: batchTokenId([1n]) })}` },
        body,
      });
      const json = (await response.json()) as { code?: string; message?: string };
      const logs = primary.logs.slice(before);
      return { status: response.status, json, logs };
    };
    const cases: Array<[string, string, number]> = [
      ['malformed JSON', '{"ids": [1,', 400],
      ['a body over the size limit', JSON.stringify({ ids: ['1'], pad: 'x'.repeat(70 * 1024) }), 413],
      ['an id that is an object with a toString', '{"ids": [{"toString": 1}]}', 400],
      ['an id that is a nested array', '{"ids": [[1]]}', 400],
      ['an id that is an object', '{"ids": [{"id": 1}]}', 400],
      ['a boolean id', '{"ids": [true]}', 400],
      ['a fractional id', '{"ids": [1.5]}', 400],
      ['repeated ids', '{"ids": ["1", "1"]}', 400],
      ['ids that are not an array', '{"ids": "1"}', 400],
      ['a JSON array body', '[1]', 400],
    ];
    it.each(cases)('%s', async (_name, body, status) => {
      const answer = await send(body);
      expect(answer.status).toBe(status);
      expect(answer.json.message).toEqual(expect.any(String));
      expect(answer.logs.some((l) => l.level === 40 && l.msg === 'geo request refused')).toBe(true);
      expect(answer.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
    });

    it('still serves a well-formed request with numeric ids', async () => {
      const response = await fetch(`${primary.url}${retrieveBatchPath('package_file')}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await signTransferToken({ secret: SECRET, replicable: 'package_file', id: batchTokenId([1n]) })}` },
        body: '{"ids": [1]}',
      });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    });
  });

  it('a client that goes away mid-batch ends the handler and closes its files (no wait for a drain that never comes)', async () => {
    const ids: bigint[] = [];
    for (let i = 100n; i < 300n; i++) {
      const bytes = randomBytes(60 * 1024); // small blobs: written whole, so the socket buffer fills
      await primary.storage.write(`many/${i}.bin`, bytes);
      primary.rows.set(`package_file:${i}`, { blobPath: `many/${i}.bin`, checksum: sha(bytes) });
      ids.push(i);
    }
    const token = await signTransferToken({ secret: SECRET, replicable: 'package_file', id: batchTokenId(ids) });
    const body = JSON.stringify({ ids: ids.map(String) });
    await new Promise<void>((resolve, reject) => {
      const request = http.request(`${primary.url}${retrieveBatchPath('package_file')}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` },
      });
      request.on('error', () => undefined);
      request.on('response', (response) => {
        response.pause(); // read nothing: the primary's writes back up
        response.on('error', () => undefined);
        setTimeout(() => {
          request.destroy();
          resolve();
        }, 200);
      });
      request.once('error', reject);
      request.end(body);
    });
    await waitFor(() => primary.logs.some((l) => l.msg === 'geo batch retrieve: client went away'), { timeoutMs: 10_000, message: 'the batch handler to notice the client left' });
  });
});
