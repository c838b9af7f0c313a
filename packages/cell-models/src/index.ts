export { cellModelMigrations } from './migrations';
export { createOrganization, createProject, createPackage, createPackageFile, upsertHelmMetadataCache } from './writers';
