import { composeMigrations, exactlyOne, atMostOne, isRetryableSqlError, isUniqueViolation, RowCountError, TransactionSeamError, AfterCommitHookError, withTransaction, type Db } from '../src';
import { openTestDatabase } from './helpers';

const set = composeMigrations('main', [{ name: '0001_items', sql: 'create table items (id bigserial primary key, name text not null unique)' }]);

let db: Awaited<ReturnType<typeof openTestDatabase>>;
beforeAll(async () => {
  db = await openTestDatabase(set);
});
afterAll(async () => {
  await db.close();
});

describe('withTransaction', () => {
  const count = async (name: string) => exactlyOne(await db.sql<{ n: number }[]>`select count(*)::int as n from items where name = ${name}`).n;

  async function insertItem(sql: Db, name: string): Promise<bigint> {
    return exactlyOne(await sql<{ id: bigint }[]>`insert into items (name) values (${name}) returning id`).id;
  }

  it('runs before-commit inside the transaction and after-commit once it committed', async () => {
    const seen: string[] = [];
    const id = await withTransaction(
      db.sql,
      async (tx) => {
        seen.push('work');
        return insertItem(tx, 'a');
      },
      {
        beforeCommit: async (tx) => {
          seen.push('before');
          // still inside: our own insert is visible here, not yet to other connections
          expect(exactlyOne(await tx<{ n: number }[]>`select count(*)::int as n from items where name = 'a'`).n).toBe(1);
          expect(await count('a')).toBe(0);
        },
        afterCommit: async () => {
          seen.push('after');
          expect(await count('a')).toBe(1);
        },
        afterRollback: () => {
          seen.push('rollback');
        },
      },
    );
    expect(typeof id).toBe('bigint');
    expect(seen).toEqual(['work', 'before', 'after']);
  });

  it('a failing before-commit hook rolls the work back and runs after-rollback with its error', async () => {
    const seen: unknown[] = [];
    const failure = new Error('refused before commit');
    await expect(
      withTransaction(db.sql, (tx) => insertItem(tx, 'b'), {
        beforeCommit: () => {
          throw failure;
        },
        afterCommit: () => {
          seen.push('after');
        },
        afterRollback: (error) => {
          seen.push(error);
        },
      }),
    ).rejects.toBe(failure);
    expect(seen).toEqual([failure]);
    expect(await count('b')).toBe(0);
  });

  it('a failing COMMIT (deferred constraint) runs after-rollback, not after-commit', async () => {
    await db.sql`create table if not exists deferred_parent (id int primary key)`;
    await db.sql`create table if not exists deferred_child (parent_id int references deferred_parent (id) deferrable initially deferred)`;
    const seen: string[] = [];
    const error = await withTransaction(db.sql, async (tx) => {
      await tx`insert into deferred_child values (42)`;
    }, {
      afterCommit: () => void seen.push('after'),
      afterRollback: () => void seen.push('rollback'),
    }).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('23503');
    expect(seen).toEqual(['rollback']);
  });

  it('joins a transaction it opened: one COMMIT, every helper’s hooks run once, in order', async () => {
    const seen: string[] = [];
    await withTransaction(
      db.sql,
      async (tx) => {
        await withTransaction(tx, (inner) => insertItem(inner, 'c1'), { beforeCommit: () => void seen.push('inner before'), afterCommit: () => void seen.push('inner after') });
        // the inner "transaction" did not commit on its own
        expect(await count('c1')).toBe(0);
        await insertItem(tx, 'c2');
      },
      { beforeCommit: () => void seen.push('outer before'), afterCommit: () => void seen.push('outer after') },
    );
    expect(seen).toEqual(['outer before', 'inner before', 'outer after', 'inner after']);
    expect((await count('c1')) + (await count('c2'))).toBe(2);
  });

  it('a hook added while before-commit hooks run still runs; per-transaction state is shared', async () => {
    const key = {};
    const seen: string[] = [];
    await withTransaction(db.sql, async (_tx, scope) => {
      scope.state(key, () => seen).push('work');
      scope.addHooks({
        beforeCommit: () => {
          scope.state(key, () => ['not used']).push('first');
          scope.addHooks({ beforeCommit: () => void seen.push('added later') });
        },
      });
    });
    expect(seen).toEqual(['work', 'first', 'added later']);
  });

  it('refuses a transaction it did not open, because it could not run after-commit hooks', async () => {
    await expect(db.sql.begin((tx) => withTransaction(tx, async () => 1))).rejects.toBeInstanceOf(TransactionSeamError);
  });

  it('reports a failed after-commit hook without undoing the commit', async () => {
    const error = await withTransaction(db.sql, (tx) => insertItem(tx, 'd'), {
      afterCommit: () => {
        throw new Error('lost');
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AfterCommitHookError);
    expect(await count('d')).toBe(1);
  });
});

describe('row helpers and SQLSTATEs', () => {

  it('exactlyOne and atMostOne name what was missing or duplicated', async () => {
    expect(() => exactlyOne([], 'item')).toThrow(new RowCountError(0, 'item'));
    expect(() => exactlyOne([1, 2], 'item')).toThrow(/expected exactly one item, got 2/);
    expect(exactlyOne([7])).toBe(7);
    expect(atMostOne([])).toBeUndefined();
    expect(() => atMostOne([1, 2])).toThrow(RowCountError);
  });

  it('recognises a unique violation and a deadlock from the real server', async () => {
    await db.sql`insert into items (name) values ('dup')`;
    const dup = await db.sql`insert into items (name) values ('dup')`.catch((e: unknown) => e);
    expect(isUniqueViolation(dup)).toBe(true);
    expect(isRetryableSqlError(dup)).toBe(false);

    await db.sql`insert into items (name) values ('x'), ('y')`;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let ready = 0;
    const bothLocked = () => new Promise<void>((resolve) => {
      const tick = () => (ready >= 2 ? resolve() : setTimeout(tick, 10));
      tick();
    });
    const lockBoth = (first: string, second: string) =>
      db.sql.begin(async (tx) => {
        await tx`update items set name = name where name = ${first}`;
        ready++;
        await bothLocked();
        await gate;
        await tx`update items set name = name where name = ${second}`;
      });
    const a = lockBoth('x', 'y').catch((e: unknown) => e);
    const b = lockBoth('y', 'x').catch((e: unknown) => e);
    await bothLocked();
    release();
    const outcomes = await Promise.all([a, b]);
    expect(outcomes.filter((o) => isRetryableSqlError(o))).toHaveLength(1);
  });
});
