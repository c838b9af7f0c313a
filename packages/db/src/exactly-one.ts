/** A query that must return exactly one row returned none or several. */
export class RowCountError extends Error {
  override readonly name = 'RowCountError';
  constructor(
    readonly count: number,
    what: string,
  ) {
    super(`expected exactly one ${what}, got ${count}`);
  }
}

/** The only row of `rows`; throws RowCountError (naming `what`) for zero or several rows. */
export function exactlyOne<T>(rows: readonly T[], what = 'row'): T {
  if (rows.length !== 1) throw new RowCountError(rows.length, what);
  return rows[0] as T;
}

/** The row when there is one, undefined for none; throws RowCountError for several. */
export function atMostOne<T>(rows: readonly T[], what = 'row'): T | undefined {
  if (rows.length > 1) throw new RowCountError(rows.length, what);
  return rows[0];
}
