import type { Migration, TransactionSql } from '@meridian/db';
import { keyString } from '../claim-key';
import type { Claimable, ClaimMetadata, Row } from '../claimable';
import { withClaims, type ClaimsWriter } from '../claims-transaction';
import { leaseCounts, serviceClaims, startClaimsTestEnv, type ClaimsTestEnv } from './claims-test-env';

// Upstream's shared examples as a library: 'a claimable model', 'creating new claims', 'deleting
// existing claims', 'updating existing claims' and 'not creating claims' (flag off). A model runs
// them all with one call; everything is checked against the real Topology Service.

export interface ClaimableExpectations {
  subjectType: number;
  subjectKey: string;
  sourceType: number;
  attributes: string[];
}

export interface ClaimableCase<P = unknown> {
  model: Claimable;
  /** every claimable model the schema has (associations are claimed through them) */
  models: readonly Claimable[];
  /** the cell schema the model lives in */
  schema: readonly Migration[];
  expected: ClaimableExpectations;
  /** rows the record needs (committed, claimed) before the transaction under test */
  parents?: (w: ClaimsWriter, n: number) => Promise<P>;
  /** writes the record (and any associations that travel with it); returns its row */
  create: (w: ClaimsWriter, parents: P, n: number) => Promise<Row>;
  /** for 'updating existing claims': the new values (upstream transform_attributes); omit when never updated */
  transform?: (row: Row, n: number) => Row;
}

/** 'a claimable model': the declaration's subject, source type and claimed attributes. */
export function expectClaimableModel(model: Claimable, expected: ClaimableExpectations): void {
  expect({
    subjectType: model.subject.type,
    subjectKey: typeof model.subject.key === 'string' ? model.subject.key : '(function)',
    sourceType: model.sourceType,
    attributes: Object.keys(model.attributes).sort(),
  }).toEqual({ ...expected, attributes: [...expected.attributes].sort() });
}

const keys = (claims: ReadonlyArray<{ bucket?: { type: number; value: string } }>) => claims.map((c) => keyString(c.bucket!)).sort();

/** The claims of a row and, recursively, of the rows associated with it, as the database has them. */
async function claimsWithAssociations(tx: TransactionSql, model: Claimable, row: Row): Promise<ClaimMetadata[]> {
  const claims = model.claimsOf(row);
  for (const association of model.associations) {
    const child = association.model();
    const rows = await tx<Row[]>`select * from ${tx(child.table)} where ${tx(association.foreignKey)} = ${String(row[model.primaryKey])}`;
    for (const r of rows) claims.push(...(await claimsWithAssociations(tx, child, r)));
  }
  return claims;
}

interface BeginRequest {
  createRecords: Array<{ bucket?: { type: number; value: string } }>;
  destroyRecords: Array<{ bucket?: { type: number; value: string } }>;
}

/** Runs every shared example for one claimable model (a describe block with its own environment). */
export function describeClaimableModel<P>(label: string, c: ClaimableCase<P>): void {
  describe(`${label} (claimable model conformance)`, () => {
    let env: ClaimsTestEnv;
    let n = 0;
    beforeAll(async () => {
      env = await startClaimsTestEnv({ schema: c.schema });
      await env.setClaimsFlag(true);
    });
    afterAll(async () => {
      await env?.close();
    });

    const claims = () => env.claims({ models: c.models });
    const sql = () => env.cells[1]!.sql;
    const calls = (method: string) => env.calls.filter((call) => call.method === method);
    const begin = () => {
      const all = calls('BeginUpdate');
      expect(all).toHaveLength(1);
      return all[0]!.request as BeginRequest;
    };

    /** parents committed first, then the record in the transaction under test */
    async function createRecord(): Promise<{ row: Row; expected: string[] }> {
      const i = ++n;
      const parents = c.parents ? await withClaims(claims(), sql(), (w) => c.parents!(w, i)) : (undefined as P);
      env.calls.length = 0;
      return withClaims(claims(), sql(), async (w) => {
        const row = await c.create(w, parents, i);
        return { row, expected: keys(await claimsWithAssociations(w.tx, c.model, row)) };
      });
    }

    it('is a claimable model (subject type, subject key, source type, attributes)', () => {
      expectClaimableModel(c.model, c.expected);
    });

    it('creating new claims: one BeginUpdate with every claim, one CommitUpdate, no lease left', async () => {
      const { expected } = await createRecord();
      expect(expected.length).toBeGreaterThan(0);
      expect(keys(begin().createRecords)).toEqual(expected);
      expect(begin().destroyRecords).toEqual([]);
      expect(calls('CommitUpdate')).toHaveLength(1);
      expect(await leaseCounts(env)).toEqual({ service: 0, local: 0 });
      const held = new Map((await serviceClaims(env, 1)).map((h) => [`${h.type}\u0000${h.value}`, h.status]));
      for (const key of expected) expect([key, held.get(key)]).toEqual([key, 1]);
    });

    it('deleting existing claims: the record and its associations release every claim in one BeginUpdate', async () => {
      const { row } = await createRecord();
      // everything the creating transaction claimed must be released, associations included
      const expected = keys(begin().createRecords);
      env.calls.length = 0;
      await withClaims(claims(), sql(), (w) => w.delete(c.model, row[c.model.primaryKey]));
      expect(keys(begin().destroyRecords)).toEqual(expected);
      expect(begin().createRecords).toEqual([]);
      expect(calls('CommitUpdate')).toHaveLength(1);
      const held = new Set((await serviceClaims(env, 1)).map((h) => `${h.type}\u0000${h.value}`));
      for (const key of expected) expect(held.has(key)).toBe(false);
      expect(await leaseCounts(env)).toEqual({ service: 0, local: 0 });
    });

    if (c.transform) {
      const transform = c.transform;
      it('updating existing claims: old values destroyed and new ones created in one BeginUpdate', async () => {
        const { row } = await createRecord();
        env.calls.length = 0;
        const after = await withClaims(claims(), sql(), (w) => w.update(c.model, row[c.model.primaryKey], transform(row, n)));
        const before = new Set(keys(c.model.claimsOf(row)));
        const now = new Set(keys(c.model.claimsOf(after)));
        const destroyed = [...before].filter((k) => !now.has(k)).sort();
        const created = [...now].filter((k) => !before.has(k)).sort();
        expect(created.length + destroyed.length).toBeGreaterThan(0);
        expect({ creates: keys(begin().createRecords), destroys: keys(begin().destroyRecords) }).toEqual({ creates: created, destroys: destroyed });
        expect(calls('CommitUpdate')).toHaveLength(1);
        const held = new Set((await serviceClaims(env, 1)).map((h) => `${h.type}\u0000${h.value}`));
        for (const key of created) expect(held.has(key)).toBe(true);
        for (const key of destroyed) expect(held.has(key)).toBe(false);
      });
    }

    it('not creating claims: with cells_unique_claims off the record is written and no call is made', async () => {
      await env.setClaimsFlag(false);
      try {
        const { row } = await createRecord();
        expect(env.calls).toEqual([]);
        await withClaims(claims(), sql(), (w) => w.delete(c.model, row[c.model.primaryKey]));
        expect(env.calls).toEqual([]);
      } finally {
        await env.setClaimsFlag(true);
      }
    });
  });
}
