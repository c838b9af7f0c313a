import { createHmac } from 'node:crypto';
import { TransferAuthError, WeakTransferSecretError, signTransferToken, verifyTransferToken, type TransferAuthReason } from '../../src/transfer';

const secret = 'a-test-secret-that-is-long-enough-0123456789';
const subject = { replicable: 'package_file', id: 42n };
const t0 = Date.UTC(2025, 0, 1, 12, 0, 0);

function decode(part: string | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

function forge(header: object, claims: object, key = secret, signature?: string): string {
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${input}.${signature ?? createHmac('sha256', key).update(input).digest('base64url')}`;
}

async function reasonOf(run: () => Promise<unknown>): Promise<TransferAuthReason | undefined> {
  try {
    await run();
  } catch (error) {
    if (error instanceof TransferAuthError) return error.reason;
    throw error;
  }
  return undefined;
}

describe('signTransferToken', () => {
  it('signs a compact HS256 JWT bound to one replicable and id', async () => {
    const token = await signTransferToken({ secret, ...subject, now: t0 });
    const [header, claims, signature] = token.split('.');
    expect(decode(header)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(decode(claims)).toEqual({ replicable: 'package_file', id: '42', iat: t0 / 1000, exp: t0 / 1000 + 60, jti: expect.any(String) });
    expect(signature).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await verifyTransferToken(token, { secret, ...subject, now: t0 })).toMatchObject({ id: '42', replicable: 'package_file' });
  });

  it('gives every token its own jti', async () => {
    const a = decode((await signTransferToken({ secret, ...subject, now: t0 })).split('.')[1]);
    const b = decode((await signTransferToken({ secret, ...subject, now: t0 })).split('.')[1]);
    expect(a.jti).not.toBe(b.jti);
  });

  it('keeps ids past 2^53 exact', async () => {
    const id = 9_007_199_254_740_993n;
    const token = await signTransferToken({ secret, replicable: 'package_file', id });
    expect((await verifyTransferToken(token, { secret, replicable: 'package_file', id })).id).toBe('9007199254740993');
    expect(await reasonOf(() => verifyTransferToken(token, { secret, replicable: 'package_file', id: id - 1n }))).toBe('wrong_subject');
  });

  it('accepts number and string ids as the same subject', async () => {
    const token = await signTransferToken({ secret, replicable: 'x', id: 7 });
    expect((await verifyTransferToken(token, { secret, replicable: 'x', id: '7' })).id).toBe('7');
    expect((await verifyTransferToken(token, { secret, replicable: 'x', id: 7n })).id).toBe('7');
  });

  it('refuses short secrets at sign and verify time', async () => {
    await expect(signTransferToken({ secret: 'short', ...subject })).rejects.toThrow(WeakTransferSecretError);
    const token = await signTransferToken({ secret, ...subject });
    await expect(verifyTransferToken(token, { secret: 'x'.repeat(31), ...subject })).rejects.toThrow(/at least 32 characters/);
  });

  it('refuses non-positive or fractional ids', async () => {
    await expect(signTransferToken({ secret, replicable: 'x', id: 0n })).rejects.toThrow(TypeError);
    await expect(signTransferToken({ secret, replicable: 'x', id: 1.5 })).rejects.toThrow(TypeError);
    await expect(signTransferToken({ secret, replicable: 'x', id: '01' })).rejects.toThrow(TypeError);
  });
});

describe('verifyTransferToken expiry (injected clock)', () => {
  let token: string;
  beforeAll(async () => {
    token = await signTransferToken({ secret, ...subject, now: t0 });
  });

  it('accepts the token through its lifetime plus the clock skew', async () => {
    expect(await reasonOf(() => verifyTransferToken(token, { secret, ...subject, now: t0 + 60_000 }))).toBeUndefined();
    expect(await reasonOf(() => verifyTransferToken(token, { secret, ...subject, now: t0 + 64_000 }))).toBeUndefined();
  });

  it('refuses it once expired', async () => {
    expect(await reasonOf(() => verifyTransferToken(token, { secret, ...subject, now: t0 + 65_001 }))).toBe('expired');
    expect(await reasonOf(() => verifyTransferToken(token, { secret, ...subject, now: t0 + 61_000, clockSkewSeconds: 0 }))).toBe('expired');
  });

  it('honors a custom ttl', async () => {
    const short = await signTransferToken({ secret, ...subject, now: t0, ttlSeconds: 10 });
    expect(await reasonOf(() => verifyTransferToken(short, { secret, ...subject, now: t0 + 14_000 }))).toBeUndefined();
    expect(await reasonOf(() => verifyTransferToken(short, { secret, ...subject, now: t0 + 16_000 }))).toBe('expired');
  });

  it('refuses a token issued in the future beyond the skew', async () => {
    expect(await reasonOf(() => verifyTransferToken(token, { secret, ...subject, now: t0 - 4_000 }))).toBeUndefined();
    expect(await reasonOf(() => verifyTransferToken(token, { secret, ...subject, now: t0 - 6_000 }))).toBe('expired');
  });
});

describe('verifyTransferToken lifetime cap', () => {
  const iat = t0 / 1000;
  const signed = (claims: object) => forge({ alg: 'HS256', typ: 'JWT' }, { replicable: 'package_file', id: '42', jti: 'j', ...claims });

  it('refuses a correctly signed token that expires far in the future', async () => {
    const token = signed({ iat, exp: iat + 365 * 86_400 });
    expect(await reasonOf(() => verifyTransferToken(token, { secret, ...subject, now: t0 }))).toBe('lifetime');
  });

  it('accepts a lifetime of 60 s plus the skew, refuses one second more', async () => {
    expect(await reasonOf(() => verifyTransferToken(signed({ iat, exp: iat + 65 }), { secret, ...subject, now: t0 }))).toBeUndefined();
    expect(await reasonOf(() => verifyTransferToken(signed({ iat, exp: iat + 66 }), { secret, ...subject, now: t0 }))).toBe('lifetime');
  });

  it('refuses a token without iat or exp', async () => {
    expect(await reasonOf(() => verifyTransferToken(signed({ exp: iat + 60 }), { secret, ...subject, now: t0 }))).toBe('malformed');
    expect(await reasonOf(() => verifyTransferToken(signed({ iat }), { secret, ...subject, now: t0 }))).toBe('malformed');
  });

  it('refuses a token issued in the future beyond the skew even with a short lifetime', async () => {
    const token = signed({ iat: iat + 30, exp: iat + 60 });
    expect(await reasonOf(() => verifyTransferToken(token, { secret, ...subject, now: t0 }))).toBe('expired');
  });

  it('will not sign a token that lives longer than the cap', async () => {
    await expect(signTransferToken({ secret, ...subject, ttlSeconds: 61 })).rejects.toThrow(RangeError);
  });
});

describe('verifyTransferToken refusals', () => {
  const now = t0;
  const claims = { replicable: 'package_file', id: '42', iat: t0 / 1000, exp: t0 / 1000 + 60, jti: 'j' };
  const cases: [string, string | undefined, TransferAuthReason][] = [
    ['no token', undefined, 'missing'],
    ['an empty token', '', 'missing'],
    ['garbage', 'not-a-jwt', 'malformed'],
    ['four parts', 'a.b.c.d', 'malformed'],
    ['a header that is not JSON', 'bm90IGpzb24.e30.sig', 'malformed'],
    ['non-base64url characters', 'ey!!.e30.sig', 'malformed'],
    ['alg none', forge({ alg: 'none', typ: 'JWT' }, claims, secret, ''), 'alg'],
    ['alg HS512', forge({ alg: 'HS512', typ: 'JWT' }, claims), 'alg'],
    ['no alg', forge({ typ: 'JWT' }, claims), 'malformed'],
    ['another secret', forge({ alg: 'HS256', typ: 'JWT' }, claims, 'another-secret-that-is-long-enough-000000'), 'bad_signature'],
    ['an empty signature', forge({ alg: 'HS256', typ: 'JWT' }, claims, secret, ''), 'bad_signature'],
    ['incomplete claims', forge({ alg: 'HS256', typ: 'JWT' }, { replicable: 'package_file', id: '42' }), 'malformed'],
    ['a numeric id claim', forge({ alg: 'HS256', typ: 'JWT' }, { ...claims, id: 42 }), 'malformed'],
    ['another id', forge({ alg: 'HS256', typ: 'JWT' }, { ...claims, id: '43' }), 'wrong_subject'],
    ['another replicable', forge({ alg: 'HS256', typ: 'JWT' }, { ...claims, replicable: 'helm_metadata_cache' }), 'wrong_subject'],
  ];

  it.each(cases)('refuses %s', async (_name, token, reason) => {
    expect(await reasonOf(() => verifyTransferToken(token, { secret, ...subject, now }))).toBe(reason);
  });

  it('refuses a tampered payload with the original signature', async () => {
    const token = await signTransferToken({ secret, ...subject, now });
    const [header, , signature] = token.split('.');
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, id: '1' })).toString('base64url')}.${signature}`;
    expect(await reasonOf(() => verifyTransferToken(tampered, { secret, replicable: 'package_file', id: 1n, now }))).toBe('bad_signature');
  });

  it('refuses a signature re-encoded with different padding bits', async () => {
    const token = await signTransferToken({ secret, ...subject, now });
    const last = token.at(-1)!;
    // the last base64url character of a 32-byte MAC carries 2 unused bits
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    const variant = token.slice(0, -1) + sibling;
    expect(Buffer.from(variant.split('.')[2]!, 'base64url')).toEqual(Buffer.from(token.split('.')[2]!, 'base64url'));
    expect(await reasonOf(() => verifyTransferToken(variant, { secret, ...subject, now }))).toBe('bad_signature');
  });
});
