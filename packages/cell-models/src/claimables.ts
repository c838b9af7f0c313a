import { BucketType, defineClaimable, SubjectType, type Claimable } from '@meridian/claims';

// The reference claimable models (the ones upstream claims), each a declaration over its table
// in the cell's main database. Source types are inferred from the table names.

export const userClaimable: Claimable = defineClaimable({
  table: 'users',
  attributes: { id: { bucket: BucketType.USER_IDS }, username: { bucket: BucketType.USERNAMES } },
  subject: { type: SubjectType.USER, key: 'id' },
  changedAt: 'updated_at',
  associations: [
    { model: () => emailClaimable, foreignKey: 'user_id' },
    { model: () => keyClaimable, foreignKey: 'user_id' },
    { model: () => gpgKeyClaimable, foreignKey: 'user_id' },
  ],
});

export const emailClaimable: Claimable = defineClaimable({
  table: 'emails',
  changedAt: 'updated_at',
  attributes: { email: { bucket: BucketType.EMAILS } },
  subject: { type: SubjectType.USER, key: 'user_id' },
});

export const keyClaimable: Claimable = defineClaimable({
  table: 'keys',
  changedAt: 'updated_at',
  attributes: { fingerprint: { bucket: BucketType.SSH_KEY_FINGERPRINTS } },
  subject: { type: SubjectType.USER, key: 'user_id' },
});

export const gpgKeyClaimable: Claimable = defineClaimable({
  table: 'gpg_keys',
  changedAt: 'updated_at',
  attributes: { fingerprint: { bucket: BucketType.GPG_KEY_FINGERPRINTS } },
  subject: { type: SubjectType.USER, key: 'user_id' },
});

export const organizationClaimable: Claimable = defineClaimable({
  table: 'organizations',
  changedAt: 'updated_at',
  verificationName: 'organizations_organization',
  attributes: { id: { bucket: BucketType.ORGANIZATION_IDS }, path: { bucket: BucketType.ORGANIZATION_PATH } },
  subject: { type: SubjectType.ORGANIZATION, key: 'id' },
  associations: [
    { model: () => namespaceClaimable, foreignKey: 'organization_id' },
    { model: () => projectClaimable, foreignKey: 'organization_id' },
  ],
});

export const namespaceClaimable: Claimable = defineClaimable({
  table: 'namespaces',
  changedAt: 'updated_at',
  attributes: { id: { bucket: BucketType.NAMESPACE_IDS } },
  subject: { type: SubjectType.NAMESPACE, key: 'id' },
  associations: [
    { model: () => routeClaimable, foreignKey: 'namespace_id' },
    { model: () => redirectRouteClaimable, foreignKey: 'namespace_id' },
  ],
});

export const projectClaimable: Claimable = defineClaimable({
  table: 'projects',
  changedAt: 'updated_at',
  attributes: { id: { bucket: BucketType.PROJECT_IDS } },
  subject: { type: SubjectType.PROJECT, key: 'id' },
  associations: [{ model: () => serviceDeskSettingClaimable, foreignKey: 'project_id' }],
});

/** Only top-level paths are routing keys (`group`, not `group/sub`). */
export const routeClaimable: Claimable = defineClaimable({
  table: 'routes',
  changedAt: 'updated_at',
  attributes: { path: { bucket: BucketType.ROUTES, if: (row) => !String(row.path).includes('/') } },
  subject: { type: SubjectType.NAMESPACE, key: 'namespace_id' },
  scope: "strpos(path, '/') = 0",
});

export const redirectRouteClaimable: Claimable = defineClaimable({
  table: 'redirect_routes',
  changedAt: 'updated_at',
  attributes: { path: { bucket: BucketType.REDIRECT_ROUTES } },
  subject: { type: SubjectType.NAMESPACE, key: 'namespace_id' },
});

export const serviceDeskSettingClaimable: Claimable = defineClaimable({
  table: 'service_desk_settings',
  changedAt: 'updated_at',
  primaryKey: 'project_id',
  attributes: { custom_email: { bucket: BucketType.SERVICE_DESK_CUSTOM_EMAILS } },
  subject: { type: SubjectType.PROJECT, key: 'project_id' },
  scope: 'custom_email is not null',
});

/** Every reference claimable model (the claims module claims and recovers these). */
export const cellClaimables: readonly Claimable[] = [
  organizationClaimable,
  namespaceClaimable,
  projectClaimable,
  userClaimable,
  emailClaimable,
  keyClaimable,
  gpgKeyClaimable,
  routeClaimable,
  redirectRouteClaimable,
  serviceDeskSettingClaimable,
];
