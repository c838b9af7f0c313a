export { runWorker, type RunningWorker } from './run-worker';
export { guardNetworkErrors } from './network-guard';
