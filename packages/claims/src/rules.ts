// What the cells and the Topology Service share, without the cell-side machinery (queues, the
// Topology Service client): `@meridian/claims/rules` is what the service imports.
export { BucketType, SubjectType, SourceType, isKnownBucketType, isKnownSubjectType, isKnownSourceType, isIntegerBucketType, bucketTypeName, sourceTypeForTable, keyString, describeKey, type ClaimKey } from './claim-key';
export { claimValueProblem, canonicalValue, isCanonicalId, InvalidClaimValueError } from './canonical-value';
export * from './limits';
export { encodePrimaryKey, decodeIntegerPrimaryKey, PrimaryKeyError } from './primary-key';
export { topologyMigrations, topologyMigrationSet } from './topology-migrations';
