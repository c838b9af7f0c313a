export { startClaimsTestEnv, serviceClaims, leaseCounts, CELL_CREDENTIALS, type ClaimsTestEnv, type CellEnv, type RecordedCall } from './claims-test-env';
export { describeClaimableModel, expectClaimableModel, type ClaimableCase, type ClaimableExpectations } from './claimable-conformance';
