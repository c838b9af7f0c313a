// Domain errors of the registry admin API; the site API maps them to Connect codes
// (INVALID_ARGUMENT, NOT_FOUND, FAILED_PRECONDITION) and keeps their messages.

/** A bad argument: a filter, a page size, a page token, an action. */
export class AdminInputError extends Error {
  override readonly name = 'AdminInputError';
}

/** An unknown replicable type, registry or bulk operation. */
export class AdminNotFoundError extends Error {
  override readonly name = 'AdminNotFoundError';
}

/** The call cannot run on this site (a primary has no registries). */
export class AdminPreconditionError extends Error {
  override readonly name = 'AdminPreconditionError';
}
