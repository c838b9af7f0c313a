import {
  BucketType,
  canonicalValue,
  claimValueProblem,
  decodeIntegerPrimaryKey,
  defineClaimable,
  encodePrimaryKey,
  InvalidClaimValueError,
  SourceType,
  SubjectType,
  ClaimableDefinitionError,
} from '../src';
import { users } from './fixtures';

describe('claim keys, values and primary keys', () => {
  it('integer buckets accept only canonical decimal int64', () => {
    for (const ok of ['0', '42', '-7', '9223372036854775807', '-9223372036854775808']) {
      expect(claimValueProblem({ type: BucketType.PROJECT_IDS, value: ok })).toBeUndefined();
    }
    for (const bad of ['042', '+1', ' 1', '1 ', '-0', '1e3', '0x10', '9223372036854775808', '-9223372036854775809', '']) {
      expect(claimValueProblem({ type: BucketType.PROJECT_IDS, value: bad })).toBeDefined();
    }
    expect(canonicalValue(BucketType.USER_IDS, 12n)).toBe('12');
    expect(() => canonicalValue(BucketType.USER_IDS, '012')).toThrow(InvalidClaimValueError);
  });

  it('string buckets: non-empty, no NUL, at most 1,024 UTF-8 bytes; blank values claim nothing', () => {
    expect(claimValueProblem({ type: BucketType.USERNAMES, value: 'é'.repeat(512) })).toBeUndefined();
    expect(claimValueProblem({ type: BucketType.USERNAMES, value: 'é'.repeat(513) })).toMatch(/1024 bytes/);
    expect(claimValueProblem({ type: BucketType.USERNAMES, value: 'a\u0000b' })).toMatch(/NUL/);
    expect(claimValueProblem({ type: 0, value: 'x' })).toMatch(/UNSPECIFIED/);
    expect(canonicalValue(BucketType.USERNAMES, null)).toBeUndefined();
    expect(canonicalValue(BucketType.USERNAMES, '')).toBeUndefined();
  });

  it('integer primary keys travel as 8-byte big-endian bytes, so byte order is numeric order', () => {
    expect([...encodePrimaryKey(1)]).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect([...encodePrimaryKey(258n)]).toEqual([0, 0, 0, 0, 0, 0, 1, 2]);
    expect(decodeIntegerPrimaryKey(encodePrimaryKey(2n ** 63n))).toBe(2n ** 63n);
    expect(Buffer.compare(Buffer.from(encodePrimaryKey(255)), Buffer.from(encodePrimaryKey(256)))).toBe(-1);
    expect(encodePrimaryKey('0f8fad5b-d9cb-469f-a165-70867728950e')).toHaveLength(16);
    expect(() => encodePrimaryKey(-1n)).toThrow(/8 unsigned bytes/);
  });

  it('a declaration infers the source type from the table and derives each claim', () => {
    expect(users.sourceType).toBe(SourceType.RAILS_TABLE_USERS);
    const claims = users.claimsOf({ id: 7n, username: 'alice', routing_path: 'alice' });
    expect(claims.map((c) => [c.bucket.type, c.bucket.value])).toEqual([
      [BucketType.USER_IDS, '7'],
      [BucketType.USERNAMES, 'alice'],
      [BucketType.ROUTES, 'alice'],
    ]);
    expect(claims[0]!.subject).toEqual({ type: SubjectType.USER, id: 7n });
    expect([...(claims[0]!.source!.railsPrimaryKeyId as Uint8Array)]).toEqual([0, 0, 0, 0, 0, 0, 0, 7]);
    // the condition: nested paths are not routing keys
    expect(users.claimOf({ id: 7n, username: 'a', routing_path: 'a/b' }, 'routing_path')).toBeUndefined();
    expect(users.attributeFor(BucketType.USERNAMES)).toBe('username');
  });

  it('refuses declarations it cannot claim for', () => {
    expect(() => defineClaimable({ table: 'widgets', attributes: { id: { bucket: BucketType.USER_IDS } }, subject: { type: SubjectType.USER, key: 'id' } })).toThrow(
      /RAILS_TABLE_WIDGETS/,
    );
    expect(() =>
      defineClaimable({ table: 'users', attributes: { a: { bucket: BucketType.EMAILS }, b: { bucket: BucketType.EMAILS } }, subject: { type: SubjectType.USER, key: 'id' } }),
    ).toThrow(ClaimableDefinitionError);
  });
});
