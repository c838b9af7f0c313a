import { BucketType, defineClaimable, SubjectType, type Claimable } from '../src';
import type { Migration } from '@meridian/db';

// A small schema of its own, so these tests do not depend on the reference cell models.
export const schema: Migration[] = [
  {
    name: 'claims-test/0001_users_emails',
    sql: `
      create table users (id bigserial primary key, username text not null unique, routing_path text);
      create table emails (id bigserial primary key, user_id bigint not null references users (id) on delete cascade, email text not null unique);
      create table deferred_checks (user_id bigint references users (id) deferrable initially deferred);`,
  },
];

export const users: Claimable = defineClaimable({
  table: 'users',
  attributes: {
    id: { bucket: BucketType.USER_IDS },
    username: { bucket: BucketType.USERNAMES },
    routing_path: { bucket: BucketType.ROUTES, if: (row) => !String(row.routing_path).includes('/'), flag: 'cells_claims_test_routes' },
  },
  subject: { type: SubjectType.USER, key: 'id' },
  associations: [{ model: () => emails, foreignKey: 'user_id' }],
});

export const emails: Claimable = defineClaimable({
  table: 'emails',
  attributes: { email: { bucket: BucketType.EMAILS } },
  subject: { type: SubjectType.USER, key: 'user_id' },
});

export const models = [users, emails];

