import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ChecksumMismatchError, createFilesystemStorage, sha256Hex, type BlobStorage } from '@meridian/storage';
import {
  FileMissingOnPrimaryError,
  RemoteNotFoundError,
  TransferHttpError,
  TransferTimeoutError,
  createRetrieveRouter,
  downloadBlob,
  signTransferToken,
} from '../../src/transfer';
import { createSilentLogger } from '@meridian/logger';
import { SECRET, listFiles, listen, makeDirs, startPrimary, type Dirs, type Primary } from './helpers';

let dirs: Dirs;
let primary: Primary;
let secondary: BlobStorage;

beforeEach(async () => {
  dirs = makeDirs();
  primary = await startPrimary(dirs.primaryRoot);
  secondary = createFilesystemStorage(dirs.secondaryRoot);
});

afterEach(async () => {
  await primary.close();
  dirs.cleanup();
});

function retrieveUrl(replicable: string, id: string | bigint): string {
  return `${primary.url}/api/v1/geo/retrieve/${replicable}/${id}`;
}

async function bearer(replicable: string, id: bigint, secret = SECRET, now?: number): Promise<Record<string, string>> {
  return { authorization: `Bearer ${await signTransferToken({ secret, replicable, id, ...(now === undefined ? {} : { now }) })}` };
}

async function seed(id: bigint, bytes: Buffer, checksum: string | null = sha256Hex(bytes)): Promise<string> {
  const blobPath = `packages/${id}/file.bin`;
  await primary.storage.write(blobPath, bytes);
  primary.rows.set(`package_file:${id}`, { blobPath, checksum });
  return blobPath;
}

const download = (id: bigint, extra: Partial<Parameters<typeof downloadBlob>[0]> = {}) =>
  downloadBlob({ primaryUrl: primary.url, secret: SECRET, replicable: 'package_file', id, storage: secondary, destinationPath: `pf/${id}.bin`, ...extra });

describe('200: streaming a blob', () => {
  it('copies a few MiB with identical bytes and checksum', async () => {
    const bytes = randomBytes(5 * 1024 * 1024 + 123);
    await seed(1n, bytes);
    let progress = 0;

    const result = await download(1n, { onProgress: (n) => (progress = n) });

    expect(result).toEqual({ size: bytes.length, sha256: sha256Hex(bytes), primaryChecksum: sha256Hex(bytes) });
    expect(fs.readFileSync(path.join(dirs.secondaryRoot, 'pf/1.bin')).equals(bytes)).toBe(true);
    expect(progress).toBe(bytes.length);
    expect(listFiles(dirs.secondaryRoot)).toEqual(['pf/1.bin']);
  });

  it('sends length, type and checksum headers', async () => {
    const bytes = randomBytes(1000);
    await seed(2n, bytes, sha256Hex(bytes).toUpperCase());
    const response = await fetch(retrieveUrl('package_file', 2n), { headers: await bearer('package_file', 2n) });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-length')).toBe('1000');
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    expect(response.headers.get('x-meridian-checksum-sha256')).toBe(sha256Hex(bytes));
    expect(Buffer.from(await response.arrayBuffer()).equals(bytes)).toBe(true);
  });

  it('works without a primary checksum, and with an expected one from the caller', async () => {
    const bytes = randomBytes(70_000);
    await seed(3n, bytes, null);
    const response = await fetch(retrieveUrl('package_file', 3n), { headers: await bearer('package_file', 3n) });
    expect(response.headers.has('x-meridian-checksum-sha256')).toBe(false);
    await response.arrayBuffer();

    expect(await download(3n)).toEqual({ size: bytes.length, sha256: sha256Hex(bytes) });
    expect(await download(3n, { destinationPath: 'again/3.bin', expectedSha256: sha256Hex(bytes) })).toMatchObject({ size: bytes.length });
  });

  it('serves an empty blob', async () => {
    await seed(4n, Buffer.alloc(0));
    expect(await download(4n)).toMatchObject({ size: 0, sha256: sha256Hex('') });
    expect(fs.readFileSync(path.join(dirs.secondaryRoot, 'pf/4.bin'))).toHaveLength(0);
  });

  it('logs each request without the token', async () => {
    await seed(5n, randomBytes(10));
    const headers = await bearer('package_file', 5n);
    await (await fetch(retrieveUrl('package_file', 5n), { headers })).arrayBuffer();
    await (await fetch(retrieveUrl('package_file', 999n), { headers: await bearer('package_file', 999n) })).arrayBuffer();
    await (await fetch(retrieveUrl('package_file', 5n), { headers: { authorization: 'Bearer nope' } })).arrayBuffer();

    expect(primary.logs).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ level: 20, replicable: 'package_file', id: '5', status: 200, bytes: 10, ms: expect.any(Number) }),
        expect.objectContaining({ level: 40, replicable: 'package_file', id: '999', status: 404, code: 'not_found' }),
        expect.objectContaining({ level: 40, id: '5', status: 401, code: 'unauthorized' }),
      ]),
    );
    const token = headers.authorization!.slice('Bearer '.length);
    expect(primary.rawLogs.join('')).not.toContain(token);
    expect(primary.rawLogs.join('')).not.toContain('nope');
  });
});

describe('401: transfer tokens', () => {
  beforeEach(() => seed(10n, randomBytes(100)));

  const forgeNone = (): string => {
    const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const claims = Buffer.from(JSON.stringify({ replicable: 'package_file', id: '10', iat: now, exp: now + 60, jti: 'x' })).toString('base64url');
    return `${header}.${claims}.`;
  };

  const cases: [string, () => Record<string, string> | Promise<Record<string, string>>, string][] = [
    ['no header', () => ({}), 'missing'],
    ['another scheme', async () => ({ authorization: `GL-Geo ${await signTransferToken({ secret: SECRET, replicable: 'package_file', id: 10n })}` }), 'missing'],
    ['garbage', () => ({ authorization: 'Bearer garbage' }), 'malformed'],
    ['an expired token', () => bearer('package_file', 10n, SECRET, Date.now() - 10 * 60_000), 'expired'],
    ['another secret', () => bearer('package_file', 10n, 'some-other-secret-that-is-long-enough-xx'), 'bad_signature'],
    ['a token for another id', () => bearer('package_file', 11n), 'wrong_subject'],
    ['a token for another replicable', () => bearer('helm_metadata_cache', 10n), 'wrong_subject'],
    ['alg none', () => ({ authorization: `Bearer ${forgeNone()}` }), 'alg'],
  ];

  it.each(cases)('refuses %s without looking anything up', async (_name, headers, reason) => {
    const response = await fetch(retrieveUrl('package_file', 10n), { headers: await headers() });
    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ code: 'unauthorized', reason });
    expect(primary.lookups).toBe(0);
  });

  it('surfaces as a TransferHttpError on the secondary', async () => {
    const error = await download(10n, { secret: 'some-other-secret-that-is-long-enough-xx' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransferHttpError);
    expect(error).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(listFiles(dirs.secondaryRoot)).toEqual([]);
  });
});

describe('400: bad requests', () => {
  it.each(['abc', '0', '-5', '1.5', '1e3', '007', '99999999999999999999', '9223372036854775808'])('refuses id %j before auth', async (id) => {
    const response = await fetch(retrieveUrl('package_file', id));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'bad_request', message: expect.any(String) });
  });

  it('accepts the largest bigint id', async () => {
    const response = await fetch(retrieveUrl('package_file', 9223372036854775807n), { headers: await bearer('package_file', 9223372036854775807n) });
    expect(response.status).toBe(404);
    await response.arrayBuffer();
  });

  it('refuses an unknown replicable', async () => {
    const response = await fetch(retrieveUrl('no_such_thing', 1n), { headers: await bearer('no_such_thing', 1n) });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'bad_request' });
    expect(primary.lookups).toBe(0);
  });
});

describe('404: missing rows and files', () => {
  it('maps a missing row to RemoteNotFoundError', async () => {
    const response = await fetch(retrieveUrl('package_file', 20n), { headers: await bearer('package_file', 20n) });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'not_found' });

    await expect(download(20n)).rejects.toBeInstanceOf(RemoteNotFoundError);
    expect(listFiles(dirs.secondaryRoot)).toEqual([]);
  });

  it('maps a row without its file to FileMissingOnPrimaryError', async () => {
    primary.rows.set('package_file:21', { blobPath: 'packages/21/gone.bin', checksum: null });
    const response = await fetch(retrieveUrl('package_file', 21n), { headers: await bearer('package_file', 21n) });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ code: 'file_missing_on_primary' });

    const error = await download(21n).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileMissingOnPrimaryError);
    expect(error).toMatchObject({ replicable: 'package_file', id: 21n });
    expect(listFiles(dirs.secondaryRoot)).toEqual([]);
  });
});

describe('500: unsafe blob paths', () => {
  it.each(['../../etc/passwd', '../outside/secret.txt', '/etc/passwd', 'link/secret.txt'])('refuses %j and reads nothing', async (blobPath) => {
    const secret = 'this must never leave the primary';
    fs.writeFileSync(path.join(dirs.outside, 'secret.txt'), secret);
    fs.symlinkSync(dirs.outside, path.join(dirs.primaryRoot, 'link'));
    primary.rows.set('package_file:30', { blobPath, checksum: null });

    const response = await fetch(retrieveUrl('package_file', 30n), { headers: await bearer('package_file', 30n) });
    expect(response.status).toBe(500);
    const body = await response.text();
    expect(JSON.parse(body)).toMatchObject({ code: 'unsafe_path' });
    expect(body).not.toContain(secret);
    expect(body).not.toContain('root:');
    expect(primary.logs).toEqual(expect.arrayContaining([expect.objectContaining({ level: 50, code: 'unsafe_path', blobPath })]));

    await expect(download(30n)).rejects.toMatchObject({ name: 'TransferHttpError', status: 500, code: 'unsafe_path' });
    expect(listFiles(dirs.secondaryRoot)).toEqual([]);
  });
});

describe('checksums on download', () => {
  it('leaves no file when the bytes do not match the primary checksum header', async () => {
    await seed(40n, randomBytes(300_000), sha256Hex('something else'));
    const error = await download(40n).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    expect(error).toMatchObject({ expected: sha256Hex('something else') });
    expect(listFiles(dirs.secondaryRoot)).toEqual([]);
  });

  it('prefers the caller’s expected checksum over the header', async () => {
    const bytes = randomBytes(1000);
    await seed(41n, bytes);
    await expect(download(41n, { expectedSha256: sha256Hex('stale') })).rejects.toBeInstanceOf(ChecksumMismatchError);
    expect(listFiles(dirs.secondaryRoot)).toEqual([]);
  });

  it('keeps an existing local copy when a replacement fails its checksum', async () => {
    await secondary.write('pf/42.bin', 'previous good copy');
    await seed(42n, randomBytes(1000), sha256Hex('wrong'));
    await expect(download(42n)).rejects.toBeInstanceOf(ChecksumMismatchError);
    expect(fs.readFileSync(path.join(dirs.secondaryRoot, 'pf/42.bin'), 'utf8')).toBe('previous good copy');
    expect(listFiles(dirs.secondaryRoot)).toEqual(['pf/42.bin']);
  });
});

describe('broken transfers', () => {
  it('times out when the primary stops sending, leaving no file', async () => {
    const stalled = await listen((_req, res) => {
      res.writeHead(200, { 'content-length': '1000000', 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(1000));
    });
    try {
      const error = await download(50n, { primaryUrl: stalled.url, timeoutMs: 300 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransferTimeoutError);
      expect(error).toMatchObject({ kind: 'inactivity' });
      expect(listFiles(dirs.secondaryRoot)).toEqual([]);
    } finally {
      await stalled.close();
    }
  });

  it('fails on a body cut short, leaving no file', async () => {
    const cut = await listen((_req, res) => {
      res.writeHead(200, { 'content-length': '100000' });
      res.write(Buffer.alloc(5000), () => res.destroy());
    });
    try {
      await expect(download(51n, { primaryUrl: cut.url })).rejects.toThrow();
      expect(listFiles(dirs.secondaryRoot)).toEqual([]);
    } finally {
      await cut.close();
    }
  });

  it('stops when the caller aborts, leaving no file', async () => {
    const controller = new AbortController();
    const slow = await listen((_req, res) => {
      res.writeHead(200, { 'content-length': '1000000' });
      res.write(Buffer.alloc(1000));
    });
    try {
      const settled = download(52n, { primaryUrl: slow.url, signal: controller.signal, onProgress: () => controller.abort() }).catch((e: unknown) => e);
      expect(await settled).toMatchObject({ name: 'AbortError' });
      expect(listFiles(dirs.secondaryRoot)).toEqual([]);
    } finally {
      await slow.close();
    }
  });

  it('reports other statuses as TransferHttpError with a body excerpt', async () => {
    const teapot = await listen((_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('maintenance '.repeat(1000));
    });
    try {
      const error = await download(53n, { primaryUrl: teapot.url }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TransferHttpError);
      expect(error).toMatchObject({ status: 503, code: undefined });
      expect((error as TransferHttpError).bodyExcerpt.length).toBeLessThanOrEqual(500);
      expect((error as TransferHttpError).bodyExcerpt).toMatch(/^maintenance/);
    } finally {
      await teapot.close();
    }
  });

  it('refuses an unsafe destination before any request', async () => {
    await seed(54n, randomBytes(10));
    await expect(download(54n, { destinationPath: '../escape.bin' })).rejects.toMatchObject({ name: 'UnsafePathError' });
    expect(primary.lookups).toBe(0);
    expect(listFiles(dirs.base).filter((f) => !f.startsWith('primary/'))).toEqual([]);
  });
});

describe('createRetrieveRouter', () => {
  it('refuses a short secret at construction', () => {
    expect(() =>
      createRetrieveRouter({ secret: 'short', storage: secondary, logger: createSilentLogger(), lookup: async () => undefined, knownReplicables: () => [] }),
    ).toThrow(/at least 32 characters/);
  });
});
