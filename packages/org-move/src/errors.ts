/** Asked for the default window, but a type has never completed a consistency lap. */
export class NoCompletedLapError extends Error {
  override readonly name = 'NoCompletedLapError';
  constructor(readonly types: readonly string[]) {
    super(`no completed consistency lap yet for ${types.join(', ')}: the default window is unknown, pass --since-hours <N>`);
  }
}

/** --organization cannot apply (an unscoped type, or an organization this site does not replicate). */
export class OrganizationScopeError extends Error {
  override readonly name = 'OrganizationScopeError';
}
