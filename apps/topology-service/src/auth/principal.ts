import { createHash } from 'node:crypto';
import { createContextKey } from '@connectrpc/connect';

// Who is calling. Credentials are bearer tokens from configuration; only their SHA-256 digests
// are kept in memory, looked up by digest so a comparison never leaks how much of a token matched.

export type Principal =
  | { kind: 'cell'; cellId: bigint }
  | { kind: 'admin' }
  | { kind: 'router' };

export interface Credentials {
  /** cell id → credential */
  cells: ReadonlyMap<number, string>;
  admin: string;
  router: string;
}

export const principalKey = createContextKey<Principal | undefined>(undefined, { description: 'caller' });

const digest = (secret: string) => createHash('sha256').update(secret).digest('hex');

export interface CredentialResolver {
  /** the principal for an Authorization header value, or undefined when it is missing or unknown */
  resolve(authorization: string | null): Principal | undefined;
}

export function createCredentialResolver(credentials: Credentials): CredentialResolver {
  const byDigest = new Map<string, Principal>();
  for (const [cellId, secret] of credentials.cells) byDigest.set(digest(secret), { kind: 'cell', cellId: BigInt(cellId) });
  byDigest.set(digest(credentials.admin), { kind: 'admin' });
  byDigest.set(digest(credentials.router), { kind: 'router' });
  return {
    resolve(authorization) {
      const match = authorization ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
      return match ? byDigest.get(digest(match[1]!)) : undefined;
    },
  };
}

/** For logs and messages: never the credential, only what it stands for. */
export function describePrincipal(p: Principal | undefined): string {
  if (!p) return 'anonymous';
  return p.kind === 'cell' ? `cell ${p.cellId}` : p.kind;
}
