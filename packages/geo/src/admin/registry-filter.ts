import type { Db } from '@meridian/db';
import { RegistryState } from '../registry/registry-store';
import { VerificationState } from '../verification/verification-store';
import { AdminInputError } from './admin-errors';

// The filters of the registry admin API, shared by listing and bulk operations, so a bulk action
// touches exactly the rows a list with the same filter shows.

export type RegistryStateName = keyof typeof RegistryState;
export type VerificationStateName = keyof typeof VerificationState;

export interface RegistryFilter {
  /** registry ids */
  ids?: readonly bigint[] | undefined;
  replicationState?: RegistryStateName | undefined;
  verificationState?: VerificationStateName | undefined;
  /** case-insensitive substring of the blob path or of the model id as text */
  keyword?: string | undefined;
}

export const MAX_FILTER_IDS = 1_000;
export const MAX_KEYWORD_LENGTH = 255;

/** Checks a filter and returns it in canonical form (sorted unique ids, trimmed keyword, no empty fields). */
export function normalizeFilter(filter: RegistryFilter = {}): RegistryFilter {
  const out: RegistryFilter = {};
  if (filter.ids && filter.ids.length > 0) {
    if (filter.ids.length > MAX_FILTER_IDS) throw new AdminInputError(`filter.ids: at most ${MAX_FILTER_IDS} ids, got ${filter.ids.length}`);
    for (const id of filter.ids) {
      if (id <= 0n || id > 9_223_372_036_854_775_807n) throw new AdminInputError(`filter.ids: ${id} is not a positive registry id`);
    }
    out.ids = [...new Set(filter.ids)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
  if (filter.replicationState !== undefined) {
    if (!(filter.replicationState in RegistryState)) throw new AdminInputError(`filter.replication_state: unknown state ${String(filter.replicationState)}`);
    out.replicationState = filter.replicationState;
  }
  if (filter.verificationState !== undefined) {
    if (!(filter.verificationState in VerificationState)) throw new AdminInputError(`filter.verification_state: unknown state ${String(filter.verificationState)}`);
    out.verificationState = filter.verificationState;
  }
  const keyword = filter.keyword?.trim();
  if (keyword) {
    if (keyword.length > MAX_KEYWORD_LENGTH) throw new AdminInputError(`filter.keyword: at most ${MAX_KEYWORD_LENGTH} characters`);
    if (keyword.includes('\u0000')) throw new AdminInputError('filter.keyword: must not contain NUL');
    out.keyword = keyword;
  }
  return out;
}

/** LIKE pattern matching `text` literally anywhere. */
function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** `and …` conditions for a normalized filter over registry table alias-free columns. */
export function filterSql(db: Db, modelIdColumn: string, filter: RegistryFilter) {
  const parts = [];
  if (filter.ids) parts.push(db`and id = any(${filter.ids.map(String)}::bigint[])`);
  if (filter.replicationState !== undefined) parts.push(db`and state = ${RegistryState[filter.replicationState]}`);
  if (filter.verificationState !== undefined) parts.push(db`and verification_state = ${VerificationState[filter.verificationState]}`);
  if (filter.keyword !== undefined) {
    const pattern = containsPattern(filter.keyword);
    parts.push(db`and (blob_path ilike ${pattern} or ${db(modelIdColumn)}::text like ${pattern})`);
  }
  return parts.reduce((acc, part) => db`${acc} ${part}`, db``);
}
