import type { Sql } from '@meridian/db';
import type { Record as ServiceRecord } from '@meridian/proto';
import { AlreadyClaimedError, type TopologyClient } from '@meridian/topology-client';
import { chunkRecords } from '../bulk-claims';
import { bucketTypeName, keyString } from '../claim-key';
import type { ClaimMetadata, Claimable, Row } from '../claimable';
import type { Claims } from '../claims-context';
import { decodeIntegerPrimaryKey, encodePrimaryKey } from '../primary-key';
import { diffBatch, sourceKey, type LocalRow, type UnscopedRow } from './batch-diff';
import { createOwnerLookup, type OwnerLookup } from './owning-cell';
import { addCounts, emptyCounts, type DriftKind, type VerificationCounts } from './verification-counts';

// Reconciles one claimable model's table with the Topology Service, from its declaration alone:
// 1,000-row primary-key batches of the scope; per batch ListRecords over the same source-id range
// (following truncated pages); destroys first, then creates, in chunks of ≤ 1,000 records / ≈ 10 MB,
// each BeginUpdate + CommitUpdate. A lost CommitUpdate leaves a service-only lease that lease
// recovery rolls back; the batch then fails and its cursor is not advanced.

export const VERIFICATION_BATCH_SIZE = 1000;
/** batches read and listed ahead of the one being compared (1 = only this one) */
export const VERIFICATION_LOOKAHEAD = 4;
export const RECENTLY_CHANGED_MS = 60 * 60_000;

export class VerificationPaginationError extends Error {
  override readonly name = 'VerificationPaginationError';
}

export interface VerificationConflict {
  model: string;
  recordId: string;
  bucketType: string;
  value: string;
  /** the cell that owns the value; undefined when an open lease holds it or the lookup failed */
  owningCell: number | undefined;
}

export interface BatchProgress {
  /** primary key of the batch's last row (text) */
  lastId: string | undefined;
  batch: VerificationCounts;
  total: VerificationCounts;
  done: boolean;
}

export interface VerifyOptions {
  /** resume after this primary key (a saved cursor) */
  startAfter?: string | undefined;
  /** compute and report, write nothing */
  dryRun?: boolean;
  now?: () => Date;
  recentMs?: number;
  batchSize?: number;
  /** asked after every batch: true ends the run (the time budget) */
  shouldStop?: () => boolean;
  /** after every applied batch (the job saves its cursor here) */
  onBatch?: (progress: BatchProgress) => Promise<void>;
  onDrift?: (model: string, kind: DriftKind) => void;
  /** conflicts already reported in this run (a resumed run passes its own) */
  reportedConflicts?: Set<string>;
  ownerLookup?: OwnerLookup;
}

export interface VerifyResult {
  model: string;
  done: boolean;
  lastId: string | undefined;
  counts: VerificationCounts;
  conflicts: VerificationConflict[];
  /** why nothing was verified (claims off, every attribute off) */
  skipped?: string;
}

const INTEGER_TYPES = new Set(['bigint', 'integer', 'smallint']);

async function keyParser(sql: Sql, model: Claimable): Promise<(text: string) => bigint | string> {
  const [column] = await sql<{ data_type: string }[]>`
    select data_type from information_schema.columns
    where table_schema = current_schema() and table_name = ${model.table} and column_name = ${model.primaryKey}`;
  if (!column) throw new Error(`${model.table}.${model.primaryKey} does not exist`);
  return INTEGER_TYPES.has(column.data_type) ? (text) => BigInt(text) : (text) => text;
}

function decodeKey(bytes: Uint8Array, integer: boolean): bigint | string {
  return integer && bytes.length === 8 ? decodeIntegerPrimaryKey(bytes) : Buffer.from(bytes).toString('utf8');
}

export async function verifyModel(claims: Claims, model: Claimable, options: VerifyOptions = {}): Promise<VerifyResult> {
  const { sql, logger } = claims;
  const client = claims.client;
  const total = emptyCounts();
  const conflicts: VerificationConflict[] = [];
  const result = (done: boolean, lastId: string | undefined, skipped?: string): VerifyResult => ({ model: model.name, done, lastId, counts: total, conflicts, ...(skipped ? { skipped } : {}) });
  const state = await claims.state();
  if (!client || !state) return result(true, options.startAfter, 'claims are off');
  const enabledColumns = Object.entries(model.attributes).filter(([, a]) => state.attributeEnabled(a));
  if (enabledColumns.length === 0) {
    logger.warn({ model: model.name }, 'claims verification skipped: every attribute of the model is behind an off flag');
    return result(true, options.startAfter, 'every attribute is off');
  }
  const enabled = new Set(enabledColumns.map(([c]) => c));
  const bucketTypes = enabledColumns.map(([, a]) => a.bucket);
  const now = options.now ?? (() => new Date());
  const recentMs = options.recentMs ?? RECENTLY_CHANGED_MS;
  const batchSize = options.batchSize ?? VERIFICATION_BATCH_SIZE;
  const parse = await keyParser(sql, model);
  const integerKey = typeof parse('0') === 'bigint';
  const reported = options.reportedConflicts ?? new Set<string>();
  const owner = options.ownerLookup ?? createOwnerLookup(client);
  const table = sql(model.table);
  const pk = sql(model.primaryKey);
  const scope = model.scope ? sql.unsafe(`(${model.scope})`) : sql`true`;
  const log = logger.child({ model: model.name, dryRun: Boolean(options.dryRun) });

  type Batch = { rows: Array<Row & { __verification_recent: boolean }>; recentSince: Date };
  const recentAfter = (since: Date) => (model.changedAt ? sql`${sql(model.changedAt)} >= ${since}` : sql`false`);
  const fetchBatch = async (after: string | undefined): Promise<Batch> => {
    const recentSince = new Date(now().getTime() - recentMs);
    const rows = await sql<Array<Row & { __verification_recent: boolean }>>`
      select *, ${recentAfter(recentSince)} as __verification_recent from ${table}
      where ${scope} and ${after === undefined ? sql`true` : sql`${pk} > ${parse(after) as string}`}
      order by ${pk} limit ${batchSize}`;
    return { rows, recentSince };
  };

  // Up to VERIFICATION_LOOKAHEAD batches ahead: each one's rows (read as soon as the batch before
  // it has its rows, since its range starts at that batch's last key), then at once its
  // ListRecords, while this batch is compared and its repairs written (ranges are disjoint, so
  // this batch's writes never change those listings). Several listings in flight keep the
  // Topology Service and the two ends' decoding busy instead of taking turns.
  type Loaded = { batch: Batch; remote: Promise<ServiceRecord[]> };
  const load = async (after: string | undefined): Promise<Loaded> => {
    const batch = await fetchBatch(after);
    const done = batch.rows.length < batchSize;
    const lastRow = batch.rows.at(-1);
    const gt = after === undefined ? new Uint8Array(0) : encodePrimaryKey(parse(after));
    // the last batch reaches to the end of the key space, so claims past the last row are seen
    const lte = done || !lastRow ? new Uint8Array(0) : encodePrimaryKey(lastRow[model.primaryKey] as bigint | string);
    const remote = listRecordRange(client, model, bucketTypes, gt, lte);
    remote.catch(() => undefined); // awaited below; a run that stops early never does
    return { batch, remote };
  };

  const repair = async (diff: ReturnType<typeof diffBatch>) => {
    for (const chunk of chunkRecords(diff.destroys)) {
      const lease = await client.beginUpdate({ destroys: chunk }, { mode: 'background' });
      await client.commitUpdate(lease, { mode: 'background' });
    }
    const failed = await createAll(client, diff.creates, async (claim) => {
      const key = keyString(claim.bucket);
      const recordId = String(decodeKey(claim.source!.railsPrimaryKeyId!, integerKey));
      if (reported.has(key)) return;
      reported.add(key);
      const conflict = { model: model.name, recordId, bucketType: bucketTypeName(claim.bucket.type), value: claim.bucket.value, owningCell: await owner(claim.bucket) };
      conflicts.push(conflict);
      log.warn(conflict, 'claims verification conflict: another claim holds the value (needs an operator)');
    });
    diff.counts.created -= failed;
    diff.counts.conflicts += failed;
  };
  let repairing: Promise<void> = Promise.resolve();
  let cursor = options.startAfter;
  // the key the batch after `loaded` starts after
  const lastIdOf = (loaded: Loaded, before: string | undefined) => {
    const lastRow = loaded.batch.rows.at(-1);
    return lastRow ? String(lastRow[model.primaryKey]) : before;
  };
  const ahead: Array<Promise<Loaded | undefined>> = [];
  let tail: Promise<{ loaded: Loaded; after: string | undefined } | undefined> = load(cursor).then((loaded) => ({ loaded, after: cursor }));
  const enqueue = () => {
    const previous = tail;
    const next = previous.then(async (p) => {
      if (!p || p.loaded.batch.rows.length < batchSize) return undefined;
      const after = lastIdOf(p.loaded, p.after);
      return { loaded: await load(after), after };
    });
    tail = next;
    const loaded = next.then((n) => n?.loaded);
    loaded.catch(() => undefined); // a run that stops early never awaits it
    ahead.push(loaded);
  };
  const first = tail.then((n) => n?.loaded);
  first.catch(() => undefined);
  ahead.push(first);
  for (;;) {
    while (ahead.length < VERIFICATION_LOOKAHEAD) enqueue();
    const loaded = (await ahead.shift()!)!;
    const { rows, recentSince } = loaded.batch;
    const done = rows.length < batchSize;
    const lastId = lastIdOf(loaded, cursor);
    const remote = await loaded.remote;

    const local = new Map<string, LocalRow>();
    for (const row of rows) {
      const { __verification_recent: recent, ...values } = row;
      local.set(sourceKey(encodePrimaryKey(values[model.primaryKey] as bigint | string)), { row: values, recent });
    }
    const unscoped = new Map<string, UnscopedRow>();
    const strangers = [...new Set(remote.map((r) => sourceKey(r.metadata!.source!.railsPrimaryKeyId)))].filter((k) => !local.has(k));
    if (model.scope && strangers.length > 0) {
      // keyed lookups (the column's own type, so its index serves them)
      const ids = strangers.map((k) => String(decodeKey(Buffer.from(k, 'hex'), integerKey)));
      const found = await sql<Array<{ id: unknown; recent: boolean }>>`
        select ${pk} as id, ${recentAfter(recentSince)} as recent from ${table}
        where ${integerKey ? sql`${pk} = any(${ids}::int8[])` : sql`${pk} = any(${ids}::text[])`}`;
      for (const f of found) unscoped.set(sourceKey(encodePrimaryKey(f.id as bigint | string)), { id: String(f.id), recent: f.recent });
    }

    const diff = diffBatch({ model, local, unscoped, remote, enabled: (c) => enabled.has(c), recentSince: recentSince.getTime() });
    for (const drift of diff.drifts) {
      log.info({ recordId: drift.recordId, bucketType: bucketTypeName(drift.bucketType), kind: drift.kind }, 'claims verification drift');
      options.onDrift?.(model.name, drift.kind);
    }
    // This batch's repairs run while the next batch is compared: one batch's repairs at a time
    // (the previous one's are awaited here, and a failure of theirs ends the run before this
    // batch writes anything). A batch's progress, and so the saved cursor, is reported only once
    // its repairs are done, so a resumed run never skips a batch whose repairs did not finish.
    await repairing;
    repairing = (async () => {
      if (!options.dryRun) await repair(diff);
      addCounts(total, diff.counts);
      if (diff.counts.rows > 0 || diff.drifts.length > 0) {
        log.debug({ lastId, created: diff.counts.created, destroyed: diff.counts.destroyed, skippedRecent: diff.counts.skippedRecent }, 'claims verification batch');
      }
      await options.onBatch?.({ lastId, batch: diff.counts, total, done });
    })();
    repairing.catch(() => undefined); // awaited by the next batch or below
    cursor = lastId;
    if (done) {
      await repairing;
      return result(true, undefined);
    }
    if (options.shouldStop?.()) {
      await repairing;
      return result(false, lastId);
    }
  }
}

/** Every record of the model's source type and bucket types with source id in (gt, lte]; an empty lte is unbounded. */
export async function listRecordRange(client: TopologyClient, model: Claimable, bucketTypes: number[], gt: Uint8Array, lte: Uint8Array): Promise<ServiceRecord[]> {
  const records: ServiceRecord[] = [];
  let from = gt;
  for (;;) {
    const page = await client.listRecords({ sourceType: model.sourceType, bucketTypes, sourceIdGt: from, sourceIdLte: lte }, { mode: 'background' });
    records.push(...page.records);
    if (!page.truncated) return records;
    const next = page.records.at(-1)?.metadata?.source?.railsPrimaryKeyId;
    if (!next || Buffer.compare(Buffer.from(next), Buffer.from(from)) <= 0) {
      throw new VerificationPaginationError(`ListRecords for ${model.name} did not advance past source id ${Buffer.from(from).toString('hex') || '(start)'}`);
    }
    from = next;
  }
}

/**
 * Creates in chunks; a chunk refused with ALREADY_EXISTS is sent again without the conflicting
 * values (each at most once: every retry is smaller), which go to `onConflict`. Returns how many
 * claims were not created.
 */
async function createAll(client: TopologyClient, creates: ClaimMetadata[], onConflict: (claim: ClaimMetadata) => Promise<void>): Promise<number> {
  let failed = 0;
  for (let chunk of chunkRecords(creates)) {
    while (chunk.length > 0) {
      try {
        const lease = await client.beginUpdate({ creates: chunk }, { mode: 'background' });
        await client.commitUpdate(lease, { mode: 'background' });
        break;
      } catch (error) {
        if (!(error instanceof AlreadyClaimedError) || error.conflicts.length === 0) throw error;
        const taken = new Set(error.conflicts.map((c) => keyString(c)));
        const rest = chunk.filter((c) => !taken.has(keyString(c.bucket)));
        if (rest.length === chunk.length) throw error;
        for (const claim of chunk) {
          if (!taken.has(keyString(claim.bucket))) continue;
          failed++;
          await onConflict(claim);
        }
        chunk = rest;
      }
    }
  }
  return failed;
}
