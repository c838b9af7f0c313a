import { configSchema, type Config, type ConfigKey } from './schema';

/** Thrown at start-up with one line per bad or missing variable, so an operator fixes all at once. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

export type LoadedConfig<K extends ConfigKey> = Config & { [P in K]-?: NonNullable<Config[P]> };

/**
 * Parses the environment once. `required` names the variables that this app cannot run without
 * even though other apps may (for example `ADMIN_TOKEN` for the site API only).
 */
export function loadConfig<K extends ConfigKey = never>(
  env: Record<string, string | undefined>,
  required: readonly K[] = [],
): LoadedConfig<K> {
  // Empty strings count as unset: `FOO= node app` should fall back to the default.
  const cleaned = Object.fromEntries(
    Object.keys(configSchema.shape).map((key) => [key, env[key] === '' ? undefined : env[key]]),
  );
  const result = configSchema.safeParse(cleaned);
  const problems: string[] = [];
  if (!result.success) {
    for (const issue of result.error.issues) {
      const key = String(issue.path[0] ?? '(root)');
      const shown = env[key] === undefined ? 'unset' : `got ${JSON.stringify(redact(key, env[key]))}`;
      problems.push(`${key}: ${issue.message} (${shown})`);
    }
  }
  for (const key of required) {
    if (cleaned[key] === undefined) problems.push(`${key}: required by this process but not set`);
  }
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data as LoadedConfig<K>;
}

const SECRET = /TOKEN|SECRET|PASSWORD|CREDENTIAL/;

function redact(key: string, value: string | undefined): string | undefined {
  return value !== undefined && SECRET.test(key) ? '[redacted]' : value;
}
