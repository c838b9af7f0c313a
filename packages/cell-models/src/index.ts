export { cellModelMigrations } from './migrations';
export { createOrganization, createProject, createPackage, createPackageFile, upsertHelmMetadataCache } from './writers';
export {
  cellClaimables,
  userClaimable,
  emailClaimable,
  keyClaimable,
  gpgKeyClaimable,
  organizationClaimable,
  namespaceClaimable,
  projectClaimable,
  routeClaimable,
  redirectRouteClaimable,
  serviceDeskSettingClaimable,
} from './claimables';
export { signUpUser } from './users';
