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
  topologyMigrationSet,
} from '../src';
import { checksumOf } from '@meridian/db';
import { users } from './fixtures';

describe('claim keys, values and primary keys', () => {
  it('integer buckets accept only canonical positive int64 ids (the Topology Service rule)', () => {
    for (const ok of ['1', '42', '9223372036854775807']) {
      expect(claimValueProblem({ type: BucketType.PROJECT_IDS, value: ok })).toBeUndefined();
    }
    for (const bad of ['0', '-1', '-7', '-9223372036854775808', '042', '+1', ' 1', '1 ', '-0', '1e3', '0x10', '9223372036854775808', '']) {
      expect(claimValueProblem({ type: BucketType.PROJECT_IDS, value: bad })).toBeDefined();
    }
    expect(claimValueProblem({ type: BucketType.USER_IDS, value: '0' })).toMatch(/USER_IDS values are ids: canonical decimal integers from 1 to 9223372036854775807/);
    expect(canonicalValue(BucketType.USER_IDS, 12n)).toBe('12');
    expect(() => canonicalValue(BucketType.USER_IDS, '012')).toThrow(InvalidClaimValueError);
    expect(() => canonicalValue(BucketType.USER_IDS, 0)).toThrow(InvalidClaimValueError);
    expect(() => canonicalValue(BucketType.USER_IDS, -1n)).toThrow(InvalidClaimValueError);
  });

  it('the Topology Service schema kept its names and SQL bytes when it moved out of packages/db', () => {
    // databases migrated before the move recorded these checksums; a different one is a MigrationHistoryError
    expect(topologyMigrationSet().migrations.map((m) => [m.name, checksumOf(m)])).toEqual([
      ['0001_claims', 'b641f8801446570d6bdf302a9208463666b4fc98f867bdab4be3219f5c6fca07'],
    ]);
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
