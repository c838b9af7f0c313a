import type { Logger } from '@meridian/logger';
import type { SecondaryGeoContext } from '../geo-context';
import { enqueueSyncs } from '../jobs/enqueue-syncs';
import { verificationEnabled } from '../replication-enabled';
import { derive, type ReplicatorDefinition } from '../replicator';
import { registryVerificationStore, type ClaimedRegistry } from './registry-verification-store';

export interface SecondaryVerificationRunOptions {
  /** the clock (tests move it); default the wall clock */
  now?: () => Date;
  logger?: Logger;
  signal?: AbortSignal;
  /** called once when a batch comes back full (the processor fills the type's other verification slots) */
  onBacklog?: () => Promise<unknown>;
}

export interface SecondaryVerificationRunResult {
  /** false when `geo_<type>_verification` is off: only `disabled` was done */
  enabled: boolean;
  /** synced rows marked disabled (flag off) */
  disabled: number;
  /** disabled rows made pending again (flag back on) */
  enabledAgain: number;
  timedOut: number;
  reverified: number;
  succeeded: number;
  /** real mismatches: recorded, failed, sent back to sync with backoff */
  mismatched: number;
  /** local file missing or unreadable: failed and sent back to sync with backoff */
  failed: number;
  /** mismatches while the primary's checksum is newer than our sync: resynced, no failure counted */
  transient: number;
  /** the primary has no checksum yet: left pending for later */
  waitingForPrimary: number;
  /** the last batch was full: more rows are probably waiting */
  more: boolean;
}

interface PrimaryChecksum {
  state: number;
  checksum: string | null;
  verifiedAt: Date | null;
}

const PRIMARY_SUCCEEDED = 2;

/** The primary's verification state of these models, read through the secondary's read-only view of its database. */
async function primaryChecksums(context: SecondaryGeoContext, definition: ReplicatorDefinition, ids: readonly bigint[]): Promise<Map<bigint, PrimaryChecksum>> {
  if (ids.length === 0) return new Map();
  const d = derive(definition);
  const rows = await context.mainSql.unsafe<{ id: bigint; verification_state: number; checksum: string | null; verified_at: Date | null }[]>(
    `select ${d.modelIdColumn} as id, verification_state, encode(verification_checksum, 'hex') as checksum, verified_at
     from ${d.statesTable} where ${d.modelIdColumn} = any($1::bigint[])`,
    [ids.map(String)] as never[],
  );
  return new Map(rows.map((r) => [BigInt(r.id), { state: r.verification_state, checksum: r.checksum, verifiedAt: r.verified_at }]));
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * A mismatch is transient when the primary's checksum is newer than the sync that wrote our file
 * (upstream MR!255727: the blob changed after we fetched it) — unless this very primary checksum
 * already matched our file once: then the primary's blob did not change, ours did (corruption).
 */
function isTransient(row: ClaimedRegistry, theirs: PrimaryChecksum): boolean {
  if (!theirs.verifiedAt || !row.lastSyncedAt || theirs.verifiedAt <= row.lastSyncedAt) return false;
  return row.previousChecksum !== theirs.checksum;
}

type Outcome = Omit<SecondaryVerificationRunResult, 'enabled' | 'disabled' | 'enabledAgain' | 'timedOut' | 'reverified' | 'more'>;

/**
 * Verifies one claimed batch: each local file is streamed through SHA-256 (storage.sha256, never
 * held in memory) and compared with the primary's checksum. Matches are recorded in one
 * statement; a mismatch is transient when the primary's `verified_at` is newer than the sync that
 * wrote our file (the blob changed after we fetched it), else a failure that resyncs with backoff.
 */
async function verifyBatch(context: SecondaryGeoContext, definition: ReplicatorDefinition, rows: readonly ClaimedRegistry[], now: () => Date, logger: Logger): Promise<Outcome> {
  const store = registryVerificationStore(definition);
  const tracking = context.trackingSql;
  const outcome: Outcome = { succeeded: 0, mismatched: 0, failed: 0, transient: 0, waitingForPrimary: 0 };
  const primary = await primaryChecksums(context, definition, rows.map((r) => r.modelId));
  const matched: Array<{ row: ClaimedRegistry; checksumHex: string }> = [];
  const waiting: ClaimedRegistry[] = [];
  const transient: ClaimedRegistry[] = [];
  for (const row of rows) {
    const theirs = primary.get(row.modelId);
    if (!theirs || theirs.state !== PRIMARY_SUCCEEDED || !theirs.checksum) {
      waiting.push(row);
      continue;
    }
    let ours: string;
    try {
      if (row.blobPath === null) throw new Error('the registry has no blob path');
      ours = await context.storage.sha256(row.blobPath);
    } catch (error) {
      const message = `Error during verification: ${describe(error)}`;
      if (await store.failed(tracking, row, { message, localChecksumHex: null, primaryChecksumHex: theirs.checksum, mismatch: false }, now())) outcome.failed += 1;
      logger.warn({ replicable: definition.name, modelId: row.modelId, err: error }, 'secondary verification failed; resyncing');
      continue;
    }
    if (ours === theirs.checksum) {
      matched.push({ row, checksumHex: ours });
    } else if (isTransient(row, theirs)) {
      transient.push(row);
    } else {
      const message = `Checksum does not match the primary checksum {checksum: ${ours}, primary_checksum: ${theirs.checksum}}`;
      const recorded = await store.failed(tracking, row, { message, localChecksumHex: ours, primaryChecksumHex: theirs.checksum, mismatch: true }, now());
      if (recorded) outcome.mismatched += 1;
      logger.warn(
        { replicable: definition.name, modelId: row.modelId, checksum: ours, primaryChecksum: theirs.checksum, verificationRetryCount: recorded?.verificationRetryCount, retryAt: recorded?.retryAt },
        'checksum mismatch on the secondary; resyncing',
      );
    }
  }
  outcome.succeeded = await store.succeededMany(tracking, matched, now());
  outcome.waitingForPrimary = await store.waitForPrimary(tracking, waiting, new Date(now().getTime() + context.settings.primaryChecksumWaitMs));
  const resync = await store.resyncQuietly(tracking, transient);
  outcome.transient = resync.length;
  if (resync.length > 0) {
    logger.info({ replicable: definition.name, registries: resync.length }, 'transient checksum mismatch (primary checksum newer than our sync); resyncing quietly');
    await enqueueSyncs(context, definition, resync);
  }
  return outcome;
}

/**
 * One run of a type's secondary verification: with the flag off, only mark waiting rows disabled;
 * else make disabled rows pending again, time out stuck `started` rows, send rows verified longer
 * than the reverification interval back to pending (their files are read from disk again), then
 * claim and verify batches until one comes back short or the run budget is spent. Any number of
 * runs may overlap (up to the type's verification capacity): claims skip each other's rows.
 */
export async function runSecondaryVerification(
  context: SecondaryGeoContext,
  definition: ReplicatorDefinition,
  runOptions: SecondaryVerificationRunOptions = {},
): Promise<SecondaryVerificationRunResult> {
  const options = { ...runOptions };
  const now = options.now ?? (() => new Date());
  const logger = options.logger ?? context.logger;
  const store = registryVerificationStore(definition);
  const tracking = context.trackingSql;
  const settings = context.settings;
  const result: SecondaryVerificationRunResult = {
    enabled: false,
    disabled: 0,
    enabledAgain: 0,
    timedOut: 0,
    reverified: 0,
    succeeded: 0,
    mismatched: 0,
    failed: 0,
    transient: 0,
    waitingForPrimary: 0,
    more: false,
  };
  if (!(await verificationEnabled(context, definition))) {
    result.disabled = await store.disable(tracking, settings.reverificationBatchSize);
    return result;
  }
  result.enabled = true;
  result.enabledAgain = await store.enable(tracking, settings.reverificationBatchSize);
  result.timedOut = await store.failTimedOut(tracking, settings.verificationTimeoutMs, now());
  if (result.timedOut > 0) logger.warn({ replicable: definition.name, rows: result.timedOut }, 'secondary verifications timed out and will be retried');
  result.reverified = await store.reverify(tracking, settings.reverificationIntervalMs, settings.reverificationBatchSize, now());
  const deadline = Date.now() + settings.runBudgetMs;
  for (;;) {
    const rows = await tracking.begin((tx) => store.claim(tx, settings.verificationBatchSize, now()));
    let outcome: Outcome;
    try {
      outcome = await verifyBatch(context, definition, rows, now, logger);
    } catch (error) {
      // never leave a claim `started` for the 8 h timeout: what was not recorded is pending again
      await store.release(tracking, rows).catch(() => undefined);
      throw error;
    }
    for (const key of Object.keys(outcome) as Array<keyof Outcome>) result[key] += outcome[key];
    result.more = rows.length === settings.verificationBatchSize;
    if (result.more && options.onBacklog) {
      const notify = options.onBacklog;
      delete options.onBacklog;
      await notify().catch((error: unknown) => logger.warn({ err: error }, 'could not request more verification jobs'));
    }
    if (!result.more || Date.now() > deadline || options.signal?.aborted) break;
  }
  return result;
}
