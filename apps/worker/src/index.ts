export { runWorker, type RunningWorker } from './run-worker';
