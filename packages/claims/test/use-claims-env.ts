import { startClaimsTestEnv, type ClaimsTestEnv } from '../src/conformance/claims-test-env';
import { schema } from './fixtures';

/** One environment per test file, claims switched on; read it inside tests through the getter. */
export function useClaimsEnv(options: { cells?: number[] } = {}): () => ClaimsTestEnv {
  let env: ClaimsTestEnv | undefined;
  beforeAll(async () => {
    env = await startClaimsTestEnv({ schema, ...options });
    await env.setClaimsFlag(true);
  });
  afterAll(async () => {
    await env?.close();
  });
  return () => env!;
}
