import type { Claims } from './claims-context';
import { LEASE_STALE_MS, RECOVERY_WINDOW_MS } from './limits';

// Lost-transaction recovery (upstream matrix, local × service):
//
//   local \ service | active  | stale    | missing
//   active          | no-op   | no-op    | no-op
//   stale           | commit  | commit   | delete local
//   missing         | no-op   | rollback | —
//
// A local row exists exactly when the cell's transaction committed, so a stale local lease is
// committed (CommitUpdate is idempotent) and its row removed; a stale lease only the service has
// belongs to a transaction that never committed, and is rolled back. Every minute the service's
// leases of the last 2 hours are compared (ListLeases created_after, so its deleted-lease
// backlog is skipped); at minute 0 a full scan compares everything.

export interface RecoveryResult {
  fullScan: boolean;
  committed: number;
  rolledBack: number;
  deletedLocal: number;
  failed: number;
}

const PAGE = 100;
/** local leases this close to the window's start are left to the full scan (clock skew) */
const WINDOW_MARGIN_MS = LEASE_STALE_MS;

export async function recoverLostTransactions(
  claims: Claims,
  options: { now?: Date; fullScan?: boolean } = {},
): Promise<RecoveryResult> {
  const now = options.now ?? new Date();
  const fullScan = options.fullScan ?? now.getUTCMinutes() === 0;
  const result: RecoveryResult = { fullScan, committed: 0, rolledBack: 0, deletedLocal: 0, failed: 0 };
  const client = claims.client;
  if (!client) return result;
  const staleBefore = now.getTime() - LEASE_STALE_MS;
  const windowStart = fullScan ? undefined : new Date(now.getTime() - RECOVERY_WINDOW_MS);

  const remote = new Map<string, number>();
  let next: Awaited<ReturnType<typeof client.listLeases>>['next'];
  for (;;) {
    const page = await client.listLeases({
      limit: PAGE,
      next,
      createdAfter: windowStart ? { seconds: BigInt(Math.floor(windowStart.getTime() / 1000)), nanos: 0 } : undefined,
    });
    for (const lease of page.leases) {
      const createdAt = lease.createdAt ? Number(lease.createdAt.seconds) * 1000 + Math.floor(lease.createdAt.nanos / 1e6) : 0;
      if (lease.uuid) remote.set(lease.uuid.value.toLowerCase(), createdAt);
    }
    next = page.next;
    if (!next || page.leases.length === 0) break;
  }

  const local = await claims.sql<{ uuid: string; created_at: Date }[]>`select uuid::text as uuid, created_at from cells_outstanding_leases`;
  const localIds = new Set(local.map((l) => l.uuid));
  const log = claims.logger;

  for (const lease of local) {
    if (lease.created_at.getTime() >= staleBefore) continue; // active: its transaction may still be finishing
    try {
      if (remote.has(lease.uuid)) {
        await client.commitUpdate(lease.uuid, { mode: 'background' });
        await claims.sql`delete from cells_outstanding_leases where uuid = ${lease.uuid}::uuid`;
        result.committed++;
        log.info({ lease: lease.uuid }, 'recovery committed a stale lease');
      } else if (!windowStart || lease.created_at.getTime() > windowStart.getTime() + WINDOW_MARGIN_MS) {
        // the service no longer has it (committed earlier, or finished by an operator)
        await claims.sql`delete from cells_outstanding_leases where uuid = ${lease.uuid}::uuid`;
        result.deletedLocal++;
        log.info({ lease: lease.uuid }, 'recovery removed a local lease the service no longer has');
      }
    } catch (error) {
      result.failed++;
      log.warn({ err: error, lease: lease.uuid }, 'recovery could not finish a local lease');
    }
  }

  for (const [uuid, createdAt] of remote) {
    if (localIds.has(uuid) || createdAt >= staleBefore) continue;
    try {
      await client.rollbackUpdate(uuid, { mode: 'background' });
      result.rolledBack++;
      log.info({ lease: uuid }, 'recovery rolled back a lease of a transaction that never committed');
    } catch (error) {
      result.failed++;
      log.warn({ err: error, lease: uuid }, 'recovery could not roll back a lease');
    }
  }
  return result;
}
