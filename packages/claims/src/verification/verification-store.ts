import type { Sql } from '@meridian/db';
import { emptyCounts, type VerificationCounts } from './verification-counts';

// Verification state in the cell's main database: the cursor of the pass in progress (saved after
// every batch), the recorded passes, and a per-model lock row whose expiry frees it when the
// process holding it dies. Times come from the caller's clock, so tests use a fake one.

export interface VerificationCursor {
  model: string;
  /** primary key of the last verified row of this pass (text); undefined = from the start */
  lastId: string | undefined;
  passStartedAt: Date;
  rows: number;
  counts: VerificationCounts;
}

export interface VerificationPass {
  id: number;
  model: string;
  trigger: string;
  startedAt: Date;
  finishedAt: Date;
  rows: number;
  counts: VerificationCounts;
}

export async function loadCursor(sql: Sql, model: string): Promise<VerificationCursor | undefined> {
  const [row] = await sql<{ last_id: string | null; pass_started_at: Date; rows: bigint; counts: VerificationCounts }[]>`
    select last_id, pass_started_at, rows, counts from cells_claims_verification_cursors where model = ${model}`;
  if (!row) return undefined;
  return { model, lastId: row.last_id ?? undefined, passStartedAt: row.pass_started_at, rows: Number(row.rows), counts: { ...emptyCounts(), ...row.counts } };
}

export async function saveCursor(sql: Sql, cursor: VerificationCursor): Promise<void> {
  await sql`
    insert into cells_claims_verification_cursors (model, last_id, pass_started_at, rows, counts, updated_at)
    values (${cursor.model}, ${cursor.lastId ?? null}, ${cursor.passStartedAt}, ${cursor.rows}, ${sql.json(cursor.counts as never)}, now())
    on conflict (model) do update set last_id = excluded.last_id, pass_started_at = excluded.pass_started_at,
      rows = excluded.rows, counts = excluded.counts, updated_at = now()`;
}

/** Ends a pass: records it and resets the cursor, in one transaction. */
export async function finishPass(sql: Sql, cursor: VerificationCursor, trigger: string, finishedAt: Date): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`
      insert into cells_claims_verification_passes (model, trigger, started_at, finished_at, rows, counts)
      values (${cursor.model}, ${trigger}, ${cursor.passStartedAt}, ${finishedAt}, ${cursor.rows}, ${tx.json(cursor.counts as never)})`;
    await tx`delete from cells_claims_verification_cursors where model = ${cursor.model}`;
  });
}

export async function listPasses(sql: Sql, options: { model?: string; limit?: number } = {}): Promise<VerificationPass[]> {
  const rows = await sql<{ id: bigint; model: string; trigger: string; started_at: Date; finished_at: Date; rows: bigint; counts: VerificationCounts }[]>`
    select id, model, trigger, started_at, finished_at, rows, counts from cells_claims_verification_passes
    where ${options.model === undefined ? sql`true` : sql`model = ${options.model}`}
    order by finished_at desc, id desc limit ${options.limit ?? 100}`;
  return rows.map((r) => ({
    id: Number(r.id),
    model: r.model,
    trigger: r.trigger,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    rows: Number(r.rows),
    counts: { ...emptyCounts(), ...r.counts },
  }));
}

/** Takes the model's lock unless a live holder has it. One statement: the database decides races. */
export async function acquireLock(sql: Sql, model: string, owner: string, now: Date, ttlMs: number): Promise<boolean> {
  const expires = new Date(now.getTime() + ttlMs);
  const rows = await sql`
    insert into cells_claims_verification_locks as l (model, owner, expires_at) values (${model}, ${owner}, ${expires})
    on conflict (model) do update set owner = excluded.owner, expires_at = excluded.expires_at
    where l.expires_at <= ${now} or l.owner = excluded.owner
    returning owner`;
  return rows.length === 1;
}

/** Extends the lock; false when another process took it after it expired. */
export async function extendLock(sql: Sql, model: string, owner: string, now: Date, ttlMs: number): Promise<boolean> {
  const rows = await sql`
    update cells_claims_verification_locks set expires_at = ${new Date(now.getTime() + ttlMs)}
    where model = ${model} and owner = ${owner} returning owner`;
  return rows.length === 1;
}

export async function releaseLock(sql: Sql, model: string, owner: string): Promise<void> {
  await sql`delete from cells_claims_verification_locks where model = ${model} and owner = ${owner}`;
}

export async function lockHolder(sql: Sql, model: string, now: Date): Promise<string | undefined> {
  const [row] = await sql<{ owner: string }[]>`select owner from cells_claims_verification_locks where model = ${model} and expires_at > ${now}`;
  return row?.owner;
}
