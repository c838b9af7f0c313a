export { runCli, buildProgram, EXIT_OK, EXIT_FAILURE, EXIT_USAGE } from './program';
export type { CliIo } from './io';
export { watchGeoProgress, converged, type WatchOptions } from './geo-progress';
