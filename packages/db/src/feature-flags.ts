import type { Db } from './transaction';

/** A flag a package declares; unset flags take `defaultEnabled`. */
export interface FlagDefinition {
  name: string;
  description: string;
  defaultEnabled: boolean;
}

export interface FlagState extends FlagDefinition {
  enabled: boolean;
  /** true when a row overrides the default */
  overridden: boolean;
  updatedAt: Date | undefined;
}

const FLAG_NAME = /^[a-z0-9_]{1,200}$/;

export class UnknownFlagError extends Error {
  override readonly name = 'UnknownFlagError';
}

export async function isFlagEnabled(sql: Db, flag: FlagDefinition): Promise<boolean> {
  const [row] = await sql<{ enabled: boolean }[]>`select enabled from feature_flags where name = ${flag.name}`;
  return row?.enabled ?? flag.defaultEnabled;
}

export async function listFlags(sql: Db, declared: readonly FlagDefinition[]): Promise<FlagState[]> {
  const rows = await sql<{ name: string; enabled: boolean; updated_at: Date }[]>`select name, enabled, updated_at from feature_flags`;
  const byName = new Map(rows.map((r) => [r.name, r]));
  const states: FlagState[] = declared.map((flag) => {
    const row = byName.get(flag.name);
    return { ...flag, enabled: row?.enabled ?? flag.defaultEnabled, overridden: row !== undefined, updatedAt: row?.updated_at };
  });
  // Rows for flags no package declares any more stay visible so an operator can see and clean them.
  for (const row of rows) {
    if (!declared.some((flag) => flag.name === row.name)) {
      states.push({ name: row.name, description: '(not declared by any package)', defaultEnabled: false, enabled: row.enabled, overridden: true, updatedAt: row.updated_at });
    }
  }
  return states.sort((a, b) => a.name.localeCompare(b.name));
}

/** Sets a declared flag; refuses names no package declares (a typo would otherwise do nothing). */
export async function setFlag(sql: Db, declared: readonly FlagDefinition[], name: string, enabled: boolean): Promise<void> {
  if (!FLAG_NAME.test(name) || !declared.some((flag) => flag.name === name)) {
    throw new UnknownFlagError(`unknown flag "${name}"; \`meridian flags list\` shows the declared flags`);
  }
  await sql`
    insert into feature_flags (name, enabled, updated_at) values (${name}, ${enabled}, now())
    on conflict (name) do update set enabled = excluded.enabled, updated_at = excluded.updated_at`;
}
