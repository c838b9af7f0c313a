export { runDoubleCheck, type DoubleCheckOptions, type DoubleCheckProgress, type TypeDoubleCheck } from './double-check';
export { latestDoubleChecks, type RecordedDoubleCheck } from './double-check-store';
export { NoCompletedLapError, OrganizationScopeError } from './errors';
export { lapReport, type TypeLaps } from './laps';
export { maintenanceState, setMaintenance, type MaintenanceState } from './maintenance';
export { orgMoveMainMigrations, orgMoveTrackingMigrations } from './migrations';
export { readinessReport, type ClaimsModelState, type ReadinessOptions, type ReadinessReport, type RegistryStateCounts, type TypeReadiness } from './readiness';
export { doubleCheckJson, readinessJson } from './report-json';
