import { withClaims, type Claims, type Row } from '@meridian/claims';
import type { Db } from '@meridian/db';
import { emailClaimable, userClaimable } from './claimables';

/**
 * A sign-up: the user and its emails in one transaction, so their claims (user id, username,
 * every email) go to the Topology Service as one BeginUpdate. A taken value rolls it all back
 * with ClaimTakenError ("username has already been taken").
 */
export async function signUpUser(claims: Claims, db: Db, input: { username: string; name?: string; emails?: readonly string[] }): Promise<{ user: Row; emails: Row[] }> {
  return withClaims(claims, db, async (w) => {
    const user = await w.insert(userClaimable, { username: input.username, name: input.name ?? input.username });
    const emails: Row[] = [];
    for (const email of input.emails ?? []) emails.push(await w.insert(emailClaimable, { user_id: user.id, email }));
    return { user, emails };
  });
}
