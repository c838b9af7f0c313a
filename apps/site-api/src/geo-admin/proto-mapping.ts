import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { AdminRegistryRow, BulkAction as DomainBulkAction, BulkOperation as DomainBulkOperation, RegistryAction as DomainRegistryAction, RegistryFilter as DomainFilter, RegistrySort as DomainSort, SortDirection as DomainDirection } from '@meridian/geo';
import { AdminInputError, RegistryState as DomainRegistryState, VerificationState as DomainVerificationState } from '@meridian/geo';
import {
  BulkAction,
  BulkOperationSchema,
  BulkOperationState,
  RegistryAction,
  RegistryFilterSchema,
  RegistrySchema,
  RegistrySort,
  ReplicationState,
  SortDirection,
  VerificationState,
  type BulkOperation,
  type Registry,
  type RegistryFilter,
} from '@meridian/proto';

// proto ↔ domain. Proto enums are the database values + 1 (zero = not set); unknown enum numbers
// (a newer client) are INVALID_ARGUMENT, never silently "no filter".

type StateName = keyof typeof DomainRegistryState;
type VerificationName = keyof typeof DomainVerificationState;

const replicationNames: Record<number, StateName> = {
  [ReplicationState.PENDING]: 'pending',
  [ReplicationState.STARTED]: 'started',
  [ReplicationState.SYNCED]: 'synced',
  [ReplicationState.FAILED]: 'failed',
};
const verificationNames: Record<number, VerificationName> = {
  [VerificationState.PENDING]: 'pending',
  [VerificationState.STARTED]: 'started',
  [VerificationState.SUCCEEDED]: 'succeeded',
  [VerificationState.FAILED]: 'failed',
  [VerificationState.DISABLED]: 'disabled',
};

function known<T>(table: Record<number, T>, value: number, field: string): T | undefined {
  if (value === 0) return undefined;
  const name = table[value];
  if (name === undefined) throw new AdminInputError(`${field}: unknown value ${value}`);
  return name;
}

export function filterFromProto(filter: RegistryFilter | undefined): DomainFilter {
  if (!filter) return {};
  return {
    ids: filter.ids,
    replicationState: known(replicationNames, filter.replicationState, 'filter.replication_state'),
    verificationState: known(verificationNames, filter.verificationState, 'filter.verification_state'),
    keyword: filter.keyword || undefined,
  };
}

export function filterToProto(filter: DomainFilter): RegistryFilter {
  const reverse = <T>(table: Record<number, T>, name: T | undefined) => Number(Object.entries(table).find(([, v]) => v === name)?.[0] ?? 0);
  return create(RegistryFilterSchema, {
    ids: [...(filter.ids ?? [])],
    replicationState: reverse(replicationNames, filter.replicationState),
    verificationState: reverse(verificationNames, filter.verificationState),
    keyword: filter.keyword ?? '',
  });
}

export function sortFromProto(sort: RegistrySort): DomainSort {
  const names: Record<number, DomainSort> = { [RegistrySort.UNSPECIFIED]: 'id', [RegistrySort.ID]: 'id', [RegistrySort.VERIFIED_AT]: 'verified_at', [RegistrySort.LAST_SYNCED_AT]: 'last_synced_at' };
  const name = names[sort];
  if (!name) throw new AdminInputError(`sort: unknown value ${sort}`);
  return name;
}

export function directionFromProto(direction: SortDirection): DomainDirection {
  if (direction === SortDirection.UNSPECIFIED || direction === SortDirection.ASC) return 'asc';
  if (direction === SortDirection.DESC) return 'desc';
  throw new AdminInputError(`direction: unknown value ${direction}`);
}

export function registryActionFromProto(action: RegistryAction): DomainRegistryAction {
  if (action === RegistryAction.RESYNC) return 'resync';
  if (action === RegistryAction.REVERIFY) return 'reverify';
  throw new AdminInputError(action === RegistryAction.UNSPECIFIED ? 'action: required (RESYNC or REVERIFY)' : `action: unknown value ${action}`);
}

export function bulkActionFromProto(action: BulkAction): DomainBulkAction {
  if (action === BulkAction.RESYNC_ALL) return 'resync_all';
  if (action === BulkAction.REVERIFY_ALL) return 'reverify_all';
  throw new AdminInputError(action === BulkAction.UNSPECIFIED ? 'action: required (RESYNC_ALL or REVERIFY_ALL)' : `action: unknown value ${action}`);
}

const ts = (date: Date | null) => (date ? timestampFromDate(date) : undefined);

export function registryToProto(row: AdminRegistryRow): Registry {
  return create(RegistrySchema, {
    id: row.id,
    modelId: row.modelId,
    replicationState: row.state + 1,
    verificationState: row.verificationState + 1,
    retryCount: row.retryCount,
    retryAt: ts(row.retryAt),
    lastSyncedAt: ts(row.lastSyncedAt),
    lastSyncFailure: row.lastSyncFailure ?? undefined,
    missingOnPrimary: row.missingOnPrimary,
    verificationRetryCount: row.verificationRetryCount,
    verificationRetryAt: ts(row.verificationRetryAt),
    verifiedAt: ts(row.verifiedAt),
    verificationFailure: row.verificationFailure ?? undefined,
    checksumMismatch: row.checksumMismatch,
    blobPath: row.blobPath ?? undefined,
    createdAt: timestampFromDate(row.createdAt),
  });
}

export function bulkOperationToProto(op: DomainBulkOperation): BulkOperation {
  const states = { running: BulkOperationState.RUNNING, succeeded: BulkOperationState.SUCCEEDED, failed: BulkOperationState.FAILED } as const;
  return create(BulkOperationSchema, {
    id: op.id,
    replicable: op.replicable,
    action: op.action === 'resync_all' ? BulkAction.RESYNC_ALL : BulkAction.REVERIFY_ALL,
    filter: filterToProto(op.filter),
    state: states[op.state],
    cursor: op.cursor,
    maxId: op.maxId,
    examined: op.examined,
    updated: op.updated,
    progressPercent: op.progressPercent,
    createdAt: timestampFromDate(op.createdAt),
    updatedAt: timestampFromDate(op.updatedAt),
    finishedAt: ts(op.finishedAt),
    failure: op.failure ?? undefined,
  });
}
