import postgres from 'postgres';

/** True when a PostgreSQL server at `url` answers `select 1` (connect timeout in seconds). */
export async function postgresAnswers(url: string, connectTimeoutS = 2): Promise<boolean> {
  const probe = postgres(url, { max: 1, connect_timeout: connectTimeoutS, onnotice: () => undefined });
  try {
    await probe`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await probe.end({ timeout: 0 });
  }
}
