import { create, type MessageInitShape } from '@bufbuild/protobuf';
import { ConnectError, Code } from '@connectrpc/connect';
import { BucketType, SourceType, SubjectType } from '@meridian/claims/rules';
import { MetadataSchema, type Metadata } from '@meridian/proto';
import { pk } from './harness';

// Small builders for claim metadata and error assertions.

// plain numbers (Bucket.Type N is ClaimType N, and tests use both)
export const USERNAMES: number = BucketType.USERNAMES;
export const EMAILS: number = BucketType.EMAILS;
export const USER_IDS: number = BucketType.USER_IDS;
export const SUBJECT_USER: number = SubjectType.USER;
export const SOURCE_USERS: number = SourceType.RAILS_TABLE_USERS;
export const SOURCE_EMAILS: number = SourceType.RAILS_TABLE_EMAILS;

export function claim(type: number, value: string, sourceId: number | bigint = 1, sourceType = SOURCE_USERS): Metadata {
  return meta(type, value, {}, sourceId, sourceType);
}

/** A claim with some fields replaced (plain init objects, so nested messages are built too). */
export function meta(
  type: number,
  value: string,
  changes: MessageInitShape<typeof MetadataSchema>,
  sourceId: number | bigint = 1,
  sourceType = SOURCE_USERS,
): Metadata {
  const init: MessageInitShape<typeof MetadataSchema> = {
    bucket: { type, value },
    subject: { type: SUBJECT_USER, id: BigInt(sourceId) },
    source: { type: sourceType, railsPrimaryKeyId: pk(sourceId) },
  };
  return create(MetadataSchema, Object.assign(init, changes));
}

/** The ConnectError a promise rejects with (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error('expected the call to fail, it succeeded');
}

export async function expectCode(promise: Promise<unknown>, code: Code): Promise<ConnectError> {
  const error = await rejection(promise);
  expect(Code[error.code]).toBe(Code[code]);
  return error;
}
