import type { Sql, TransactionSql } from './create-sql';

/**
 * What writers take: a pool (each statement on its own, or `withTransaction` opens one) or an
 * open transaction (the statements join the caller's transaction).
 */
export type Db = Sql | TransactionSql;

export interface TransactionHooks {
  /** inside the transaction, after the work and before COMMIT; throwing rolls everything back */
  beforeCommit?: (tx: TransactionSql) => Promise<void> | void;
  /** after COMMIT succeeded; the write stands whatever this does */
  afterCommit?: () => Promise<void> | void;
  /** after ROLLBACK (the work, a before-commit hook or COMMIT itself failed), with that error */
  afterRollback?: (error: unknown) => Promise<void> | void;
}

/** The outermost transaction a piece of work runs in, for code that needs to plug into it. */
export interface TransactionScope {
  readonly tx: TransactionSql;
  /** hooks run by the outermost `withTransaction`, in the order they were added */
  addHooks(hooks: TransactionHooks): void;
  /** per-transaction state owned by `key` (created on first use), e.g. the claims a write collects */
  state<T>(key: object, init: () => T): T;
}

/** `withTransaction` was handed a transaction it did not open, so it cannot run hooks after COMMIT. */
export class TransactionSeamError extends Error {
  override readonly name = 'TransactionSeamError';
}

/** An after-commit hook failed. The transaction did commit. */
export class AfterCommitHookError extends Error {
  override readonly name = 'AfterCommitHookError';
  readonly committed = true;
}

interface OpenScope extends TransactionScope {
  hooks: TransactionHooks[];
}

const open = new WeakMap<TransactionSql, OpenScope>();

function isTransaction(db: Db): db is TransactionSql {
  return typeof (db as Partial<TransactionSql>).savepoint === 'function';
}

/** The scope of a transaction opened by `withTransaction`, or undefined for a pool. */
export function transactionScope(db: Db): TransactionScope | undefined {
  return isTransaction(db) ? open.get(db) : undefined;
}

/**
 * Runs `fn` in a transaction with before-commit, after-commit and after-rollback hooks
 * (postgres.js `sql.begin` underneath). Given a transaction that `withTransaction` opened, the
 * work joins it and the hooks run with the outermost one: one transaction, one set of hooks, so
 * a user and its emails written by different helpers still commit (and claim) together. Nested
 * savepoints are not offered; they would make "after commit" ambiguous.
 */
export async function withTransaction<T>(
  db: Db,
  fn: (tx: TransactionSql, scope: TransactionScope) => Promise<T>,
  hooks?: TransactionHooks,
): Promise<T> {
  if (isTransaction(db)) {
    const scope = open.get(db);
    if (!scope) {
      throw new TransactionSeamError(
        'withTransaction was given a transaction it did not open (sql.begin?); open it with withTransaction so its hooks can run',
      );
    }
    if (hooks) scope.addHooks(hooks);
    return fn(db, scope);
  }

  let scope: OpenScope | undefined;
  let result: T;
  try {
    result = (await db.begin(async (tx) => {
      const states = new Map<object, unknown>();
      const created: OpenScope = {
        tx,
        hooks: hooks ? [hooks] : [],
        addHooks(more) {
          created.hooks.push(more);
        },
        state<S>(key: object, init: () => S): S {
          if (!states.has(key)) states.set(key, init());
          return states.get(key) as S;
        },
      };
      scope = created;
      open.set(tx, created);
      try {
        const value = await fn(tx, created);
        // index loop: a before-commit hook may add hooks of its own
        for (let i = 0; i < created.hooks.length; i++) await created.hooks[i]!.beforeCommit?.(tx);
        return value;
      } finally {
        open.delete(tx);
      }
    })) as T;
  } catch (error) {
    const suppressed: unknown[] = [];
    for (const h of scope?.hooks ?? []) {
      try {
        await h.afterRollback?.(error);
      } catch (hookError) {
        suppressed.push(hookError);
      }
    }
    if (suppressed.length > 0 && error !== null && typeof error === 'object') {
      Object.assign(error, { suppressed });
    }
    throw error;
  }
  const failures: unknown[] = [];
  for (const h of scope?.hooks ?? []) {
    try {
      await h.afterCommit?.();
    } catch (hookError) {
      failures.push(hookError);
    }
  }
  if (failures.length > 0) {
    throw new AfterCommitHookError(`${failures.length} after-commit hook(s) failed; the transaction committed`, { cause: failures[0] });
  }
  return result;
}
